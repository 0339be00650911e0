"""The KPI API v2 routes of the local server (assets, imports, deployment, data)."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from fieldsim.kpi import assets as serial
from fieldsim.kpi import ids
from fieldsim.kpi.auth import Authenticator, AuthFailure
from fieldsim.kpi.content import ContentError, build_content, read_workbook, summary
from fieldsim.kpi.faults import FaultMiddleware, Faults
from fieldsim.kpi.instance import VALIDATION_LABELS, close_record, legacy_view, validation_object
from fieldsim.kpi.openrosa import openrosa_routes
from fieldsim.kpi.query import QueryError, order_by, parse_fields, pick, where
from fieldsim.kpi.store import Store
from fieldsim.kpi.xform import DeployError, build_xform

MAX_LIMIT, DEFAULT_LIMIT = 1000, 100


def now_z() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def base_url(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def detail(text: str, status: int, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": text}, status_code=status, headers=headers)


class Server:
    """State shared by the routes: the store, the authenticator and the switches."""

    def __init__(self, store: Store, legacy: bool = False):
        self.store = store
        self.auth = Authenticator(store)
        self.legacy = legacy

    # --- helpers -------------------------------------------------------------------------

    def view(self, record: dict[str, Any]) -> dict[str, Any]:
        """A stored record as this server serves it (the legacy switch changes its shape)."""
        if not self.legacy:
            return record
        rows = self.store.all("SELECT a.uid, a.id, s.formid FROM attachments a JOIN assets s "
                              "ON s.uid = a.asset_uid WHERE a.submission_id = ?", (record["_id"],))
        return legacy_view(record, {r["uid"]: (r["id"], r["formid"]) for r in rows})

    def user(self, request: Request) -> str | None:
        return self.auth.user(request.headers.get("authorization"), request.method,
                              request.url.path)

    def owned(self, request: Request, uid: str) -> tuple[str | None, dict[str, Any] | None]:
        user = self.user(request)
        asset = self.store.asset(uid)
        if asset is None or user is None or asset["owner"] != user:
            return user, None
        return user, asset

    def page_links(self, request: Request, start: int, limit: int, count: int) -> tuple[str | None, str | None]:
        key = "offset" if self.legacy else "start"
        params = dict(request.query_params)
        params.pop("start", None)
        params.pop("offset", None)
        params["limit"] = str(limit)
        base = f"{base_url(request)}{request.url.path}"
        nxt = prv = None
        if start + limit < count:
            nxt = f"{base}?{urlencode(sorted({**params, key: str(start + limit)}.items()))}"
        if start > 0:
            back = max(0, start - limit)
            prv = f"{base}?{urlencode(sorted(({**params, key: str(back)} if back else params).items()))}"
        return nxt, prv


def paging(request: Request, legacy: bool) -> tuple[int, int]:
    raw = request.query_params.get("limit")
    if raw is None:
        limit = DEFAULT_LIMIT
    else:
        try:
            limit = int(raw)
        except ValueError:
            limit = -1
        if limit <= 0:
            raise QueryError({"limit": "A positive integer is required"})
    start_raw = request.query_params.get("start") or (request.query_params.get("offset") if legacy else None)
    try:
        start = max(0, int(start_raw or 0))
    except ValueError:
        start = 0
    return min(limit, MAX_LIMIT), start


def routes(server: Server) -> list[Route]:
    store = server.store

    def guarded(handler):
        async def wrapped(request: Request) -> Response:
            try:
                return await handler(request)
            except AuthFailure as err:
                return detail(err.detail, 401, {"WWW-Authenticate": "Token"})
            except QueryError as err:
                return JSONResponse(err.body, status_code=400)
        return wrapped

    async def token(request: Request) -> Response:
        user = server.user(request)
        if user is None:
            return detail("Authentication credentials were not provided.", 401)
        row = store.one("SELECT token FROM users WHERE username = ?", (user,))
        return JSONResponse({"token": row["token"]})

    async def asset_list(request: Request) -> Response:
        user = server.user(request)
        if user is None:
            return detail("Authentication credentials were not provided.", 401)
        limit, start = paging(request, server.legacy)
        items = store.assets_of(user)
        q = request.query_params.get("q", "")
        if q.startswith("asset_type:"):
            items = [a for a in items if a["asset_type"] == q.split(":", 1)[1]]
        base = base_url(request)
        page = [serial.list_item(store, a, base) for a in items[start:start + limit]]
        nxt, prv = server.page_links(request, start, limit, len(items))
        return JSONResponse({"count": len(items), "next": nxt, "previous": prv, "results": page})

    async def asset_detail(request: Request) -> Response:
        _user, asset = server.owned(request, request.path_params["uid"])
        if asset is None:
            return detail("Not found.", 404)
        return JSONResponse(serial.detail(store, asset, base_url(request)))

    async def versions(request: Request) -> Response:
        _user, asset = server.owned(request, request.path_params["uid"])
        if asset is None:
            return detail("Not found.", 404)
        rows = store.versions(asset["uid"])
        results = [serial.version_item(v, asset["uid"], base_url(request)) for v in rows]
        return JSONResponse({"count": len(results), "next": None, "previous": None, "results": results})

    async def import_create(request: Request) -> Response:
        user = server.user(request)
        if user is None:
            return detail("Authentication credentials were not provided.", 401)
        form = await request.form()
        upload = form.get("file")
        data = await upload.read() if upload is not None and hasattr(upload, "read") else None
        name = str(form.get("name") or (upload.filename if upload is not None else "") or "")
        library = form.get("library") not in ("false", False)
        destination = str(form.get("destination") or "")
        uid = ids.uid("i")
        store.run("INSERT INTO imports VALUES (?, ?, 'processing', '{}', ?)", (uid, user, now_z()))
        worker = threading.Thread(target=run_import, daemon=True,
                                  args=(server, uid, user, data, name, library, destination,
                                        base_url(request)))
        worker.start()
        return JSONResponse({"uid": uid, "url": f"{base_url(request)}/api/v2/imports/{uid}/",
                             "status": "processing"}, status_code=201)

    async def import_detail(request: Request) -> Response:
        user = server.user(request)
        row = store.one("SELECT * FROM imports WHERE uid = ?", (request.path_params["uid"],))
        if user is None or row is None or row["owner"] != user:
            return detail("Not found.", 404)
        return JSONResponse({"status": row["status"], "uid": row["uid"],
                             "messages": json.loads(row["messages"]), "date_created": row["date_created"]})

    async def deployment(request: Request) -> Response:
        user, asset = server.owned(request, request.path_params["uid"])
        if asset is None:
            return detail("Not found.", 404)
        deployed = asset["deployed_version_id"] is not None
        if request.method == "GET":
            if not deployed:
                return detail("Not found.", 404)
            return deployment_body(request, asset)
        body = await request.json() if await request.body() else {}
        if request.method == "POST":
            if deployed:
                return detail("Use PATCH to update an existing deployment", 405)
            return deploy(request, asset, body)
        if not deployed:
            return detail("Use POST to create a new deployment", 405)
        if "version_id" in body:
            return deploy(request, asset, body)
        store.run("UPDATE assets SET deployment_active = ? WHERE uid = ?",
                  (1 if body.get("active", True) else 0, asset["uid"]))
        return deployment_body(request, store.asset(asset["uid"]))

    def deploy(request: Request, asset: dict[str, Any], body: dict[str, Any]) -> Response:
        version = body.get("version_id") or asset["version_id"]
        if version != asset["version_id"]:
            return detail("version_id must be the asset's current version_id", 500)
        book = json.loads(store.one("SELECT content FROM versions WHERE uid = ?", (version,))["content"])["book"]
        number = store.one("SELECT count(*) AS n FROM versions WHERE asset_uid = ? AND date_deployed IS NOT NULL",
                           (asset["uid"],))["n"] + 1
        stamp = now_z()
        label = f"{number} ({stamp[:10]} {stamp[11:19]})"
        uuid = asset["deployment_uuid"] or ids.hex32()
        try:
            xform = build_xform(book, asset["uid"], version, label, uuid, asset["name"])
        except DeployError as err:
            return JSONResponse({"error": str(err)}, status_code=400)
        formid = asset["formid"] or (store.one("SELECT coalesce(max(formid), 0) + 1 AS n FROM assets")["n"])
        with store.transaction() as db:
            db.execute("""UPDATE assets SET deployed_version_id = ?, deployment_active = ?,
                          deployment_uuid = ?, date_deployed = ?, date_modified = ?, xform = ?,
                          xform_version = ?, formid = ? WHERE uid = ?""",
                       (version, 1 if body.get("active", True) else 0, uuid, stamp, stamp, xform, label,
                        formid, asset["uid"]))
            db.execute("UPDATE versions SET date_deployed = ? WHERE uid = ?", (stamp, version))
        return deployment_body(request, store.asset(asset["uid"]))

    def deployment_body(request: Request, asset: dict[str, Any]) -> Response:
        return JSONResponse({"backend": "kobocat" if server.legacy else "openrosa",
                             "active": bool(asset["deployment_active"]),
                             "version_id": asset["deployed_version_id"],
                             "asset": serial.detail(store, asset, base_url(request))})

    async def data_list(request: Request) -> Response:
        _user, asset = server.owned(request, request.path_params["uid"])
        if asset is None:
            return detail("Not found.", 404)
        if asset["deployed_version_id"] is None:
            return detail("The specified asset has not been deployed", 400)
        if "count" in request.query_params:
            return JSONResponse({"count": "This param is not implemented. Use `count` property of "
                                          "the response instead."}, status_code=400)
        limit, start = paging(request, server.legacy)
        condition, params = where(request.query_params.get("query"))
        order = order_by(request.query_params.get("sort"))
        fields = parse_fields(request.query_params.get("fields"))
        args = (asset["uid"], *params)
        count = store.one(f"SELECT count(*) AS n FROM submissions WHERE asset_uid = ? AND ({condition})", args)["n"]
        rows = store.all(f"SELECT body, validation, submitted_by FROM submissions WHERE asset_uid = ? "
                         f"AND ({condition}) ORDER BY {order} LIMIT ? OFFSET ?", (*args, limit, start))
        nxt, prv = server.page_links(request, start, limit, count)
        base = base_url(request)
        texts = [close_record(r["body"], r["validation"], r["submitted_by"]) for r in rows]
        if fields is None and not server.legacy:
            records = ",".join(texts)
        else:
            parsed = [server.view(json.loads(text)) for text in texts]
            if fields is not None:
                parsed = [pick(record, fields) for record in parsed]
            records = json.dumps(parsed, ensure_ascii=False)[1:-1]
        records = records.replace("{{HOST}}", base)
        head = json.dumps({"count": count, "next": nxt, "previous": prv})[:-1]
        return Response(f'{head}, "results": [{records}]}}'.encode(), media_type="application/json")

    def submission_row(asset: dict[str, Any], key: str) -> Any:
        if key.isdigit():
            row = store.one("SELECT * FROM submissions WHERE asset_uid = ? AND id = ?", (asset["uid"], int(key)))
            if row:
                return row
        return store.one("SELECT * FROM submissions WHERE asset_uid = ? AND (root_uuid = ? OR uuid = ?) "
                         "ORDER BY id LIMIT 1", (asset["uid"], key, key.removeprefix("uuid:")))

    async def data_detail(request: Request) -> Response:
        user, asset = server.owned(request, request.path_params["uid"])
        if asset is None:
            return detail("Not found.", 404)
        row = submission_row(asset, request.path_params["id"])
        if row is None:
            return detail("Not found.", 404)
        if request.method == "DELETE":
            files = store.all("SELECT path FROM attachments WHERE submission_id = ?", (row["id"],))
            with store.transaction() as db:
                db.execute("DELETE FROM attachments WHERE submission_id = ?", (row["id"],))
                db.execute("DELETE FROM submissions WHERE id = ?", (row["id"],))
            for f in files:
                Path(f["path"]).unlink(missing_ok=True)
            return Response(status_code=204)
        record = server.view(json.loads(close_record(row["body"], row["validation"], row["submitted_by"])))
        text = json.dumps(record, ensure_ascii=False).replace("{{HOST}}", base_url(request))
        return Response(text.encode(), media_type="application/json")

    async def validation_status(request: Request) -> Response:
        user, asset = server.owned(request, request.path_params["uid"])
        if asset is None:
            return detail("Not found.", 404)
        row = submission_row(asset, request.path_params["id"])
        if row is None:
            return detail("Not found.", 404)
        if request.method == "GET":
            return Response(row["validation"].encode(), media_type="application/json")
        if request.method == "DELETE":
            store.run("UPDATE submissions SET validation = '{}' WHERE id = ?", (row["id"],))
            return Response(status_code=204)
        body = await request.json()
        uid = body.get("validation_status.uid")
        if uid not in VALIDATION_LABELS:
            return detail(f"Invalid validation status: `{uid}`", 400)
        value = validation_object(uid, user, int(time.time()))
        store.run("UPDATE submissions SET validation = ? WHERE id = ?", (json.dumps(value), row["id"]))
        return JSONResponse(value)

    async def validation_statuses(request: Request) -> Response:
        user, asset = server.owned(request, request.path_params["uid"])
        if asset is None:
            return detail("Not found.", 404)
        payload = (await request.json()).get("payload") or {}
        if "validation_status.uid" not in payload:
            return JSONResponse({"payload": "`validation_status.uid` is required"}, status_code=400)
        uid = payload.get("validation_status.uid")
        value = "{}" if request.method == "DELETE" or uid not in VALIDATION_LABELS else \
            json.dumps(validation_object(uid, user, int(time.time())))
        if "submission_ids" in payload:
            wanted = [int(i) for i in payload["submission_ids"]]
            marks = ",".join("?" for _ in wanted) or "NULL"
            found = store.one(f"SELECT count(*) AS n FROM submissions WHERE asset_uid = ? AND id IN ({marks})",
                              (asset["uid"], *wanted))["n"]
            if found != len(set(wanted)):
                return detail("One or more submission ids are invalid", 400)
            condition, params = f"id IN ({marks})", wanted
        elif "query" in payload:
            condition, params = where(json.dumps(payload["query"]))
        elif payload.get("confirm"):
            condition, params = "1", []
        else:
            return JSONResponse({"payload": "`submission_ids`, `query` or `confirm` is required"}, status_code=400)
        count = store.run(f"UPDATE submissions SET validation = ? WHERE asset_uid = ? AND ({condition})",
                          (value, asset["uid"], *params)).rowcount
        return JSONResponse({"detail": f"{count} submissions have been updated"})

    async def attachment(request: Request) -> Response:
        _user, asset = server.owned(request, request.path_params["uid"])
        if asset is None:
            return detail("Not found.", 404)
        row = submission_row(asset, request.path_params["id"])
        key = request.path_params["att"]
        found = None if row is None else store.one(
            "SELECT * FROM attachments WHERE submission_id = ? AND (uid = ? OR CAST(id AS TEXT) = ?)",
            (row["id"], key, key))
        if found is None or not Path(found["path"]).exists():
            return detail("Not found.", 404)
        return FileResponse(found["path"], media_type=found["mimetype"],
                            headers={"Content-Disposition": f"inline; filename={found['basename']}"})

    api = [
        Route("/token/", guarded(token), methods=["GET"]),
        Route("/api/v2/assets/", guarded(asset_list), methods=["GET"]),
        Route("/api/v2/assets/{uid}/", guarded(asset_detail), methods=["GET"]),
        Route("/api/v2/assets/{uid}/versions/", guarded(versions), methods=["GET"]),
        Route("/api/v2/imports/", guarded(import_create), methods=["POST"]),
        Route("/api/v2/imports/{uid}/", guarded(import_detail), methods=["GET"]),
        Route("/api/v2/assets/{uid}/deployment/", guarded(deployment), methods=["GET", "POST", "PATCH"]),
        Route("/api/v2/assets/{uid}/data/", guarded(data_list), methods=["GET"]),
        Route("/api/v2/assets/{uid}/data/validation_statuses/", guarded(validation_statuses),
              methods=["PATCH", "DELETE"]),
        Route("/api/v2/assets/{uid}/data/{id}/", guarded(data_detail), methods=["GET", "DELETE"]),
        Route("/api/v2/assets/{uid}/data/{id}/validation_status/", guarded(validation_status),
              methods=["GET", "PATCH", "DELETE"]),
        Route("/api/v2/assets/{uid}/data/{id}/attachments/{att}/", guarded(attachment), methods=["GET"]),
        Route("/api/v2/assets/{uid}/data/{id}/attachments/{att}/{size}/", guarded(attachment), methods=["GET"]),
    ]
    return api


def run_import(server: Server, import_uid: str, user: str, data: bytes | None, name: str,
               library: bool, destination: str, base: str) -> None:
    """The import task (the real server runs it in Celery)."""
    store = server.store
    try:
        if not data:
            raise ContentError("xls upload must have one of these sheets: survey, library")
        folder = store.folder / "imports"
        folder.mkdir(exist_ok=True)
        path = folder / f"{import_uid}.xlsx"
        path.write_bytes(data)
        book = read_workbook(path)
        content, title = build_content(book)
        content_hash = hashlib.sha1(json.dumps(content, sort_keys=True).encode()).hexdigest()
        stamp = now_z()
        version = ids.uid("v")
        asset_type = "survey" if not library else ("question" if len(content["survey"]) == 1 else "block")
        target = None
        if destination:
            target_uid = destination.rstrip("/").rsplit("/", 1)[-1]
            target = store.asset(target_uid)
            if target is None or target["owner"] != user:
                raise ContentError(f"destination not found: {destination}")
        asset_name = title or (target["name"] if target else None) or Path(name).stem or "Untitled"
        if not content["settings"].get("id_string"):
            content["settings"]["id_string"] = Path(name).stem or asset_name
        stored = json.dumps(content)
        with store.transaction() as db:
            if target is None:
                uid = ids.uid("a")
                db.execute("""INSERT INTO assets (uid, owner, name, asset_type, date_created, date_modified,
                              content, version_id, xlsx, deployment_active) VALUES (?,?,?,?,?,?,?,?,?,0)""",
                           (uid, user, asset_name, asset_type, stamp, stamp, stored, version, data))
            else:
                uid = target["uid"]
                db.execute("UPDATE assets SET name = ?, content = ?, version_id = ?, xlsx = ?, "
                           "date_modified = ?, asset_type = 'survey' WHERE uid = ?",
                           (asset_name, stored, version, data, stamp, uid))
            number = db.execute("SELECT count(*) FROM versions WHERE asset_uid = ?", (uid,)).fetchone()[0]
            db.execute("INSERT INTO versions VALUES (?, ?, ?, ?, NULL, ?, ?)",
                       (version, uid, content_hash, stamp, json.dumps({"book": _plain(book)}), number + 1))
        item = {"uid": uid, "summary": summary(content), "kind": "asset", "owner__username": user}
        if target is None:
            messages: dict[str, Any] = {"created": [item]}
        else:
            messages = {"audit_logs": [{"asset_uid": uid, "asset_id": 0, "latest_version_uid": version,
                                        "ip_address": "127.0.0.1", "source": "aimak local server",
                                        "old_name": target["name"], "new_name": asset_name,
                                        "project_owner": user}],
                        "updated": [item]}
        store.run("UPDATE imports SET status = 'complete', messages = ? WHERE uid = ?",
                  (json.dumps(messages), import_uid))
    except Exception as err:  # the real task stores any failure the same way
        store.run("UPDATE imports SET status = 'error', messages = ? WHERE uid = ?",
                  (json.dumps({"error_type": type(err).__name__, "error": str(err)}), import_uid))


def _plain(book: dict[str, Any]) -> dict[str, Any]:
    keep = ("survey", "choices", "settings", "survey_header", "choices_header", "settings_header",
            "sheet_names")
    return {key: value for key, value in book.items() if key in keep}


def create_app(folder: Path, *, legacy: bool = False, faults: str | None = None) -> tuple[Starlette, Server]:
    server = Server(Store(folder), legacy=legacy)
    middleware = [Middleware(FaultMiddleware, faults=Faults.parse(faults))]
    app = Starlette(routes=routes(server) + openrosa_routes(server), middleware=middleware)
    return app, server
