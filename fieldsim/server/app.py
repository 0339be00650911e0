"""The local server's application: the asset, import and deployment routes of the KPI API v2,
wired with the data routes, the OpenRosa routes and the fault middleware."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fieldsim.server import assets as serial
from fieldsim.server import ids
from fieldsim.server.data import data_routes
from fieldsim.server.faults import FaultMiddleware, Faults
from fieldsim.server.imports import run_import
from fieldsim.server.openrosa import openrosa_routes
from fieldsim.server.state import Server, base_url, detail, guarded, json_object, list_paging, now_z
from fieldsim.server.store import Store
from fieldsim.server.xform import DeployError, build_xform


def asset_routes(server: Server) -> list[Route]:
    store = server.store

    async def token(request: Request) -> Response:
        user = server.user(request)
        if user is None:
            return detail("Authentication credentials were not provided.", 401)
        row = store.one("SELECT token FROM users WHERE username = ?", (user,))
        return JSONResponse({"token": row["token"]})

    async def asset_list(request: Request) -> Response:
        user = server.user(request)  # anonymous: only public assets, and none are public here
        limit, start = list_paging(request)
        items = store.assets_of(user) if user else []
        q = request.query_params.get("q", "")
        if q.startswith("asset_type:"):
            items = [a for a in items if a["asset_type"] == q.split(":", 1)[1]]
        base = base_url(request)
        page = [serial.list_item(store, a, base) for a in items[start:start + limit]]
        nxt, prv = server.page_links(request, start, limit, len(items),
                                     "offset" if server.legacy else "start")
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

    async def version(request: Request) -> Response:
        _user, asset = server.owned(request, request.path_params["uid"])
        if asset is None:
            return detail("Not found.", 404)
        found = serial.version_detail(store, asset, request.path_params["vid"], base_url(request))
        if found is None:
            return detail("Not found.", 404)
        return JSONResponse(found)

    async def import_create(request: Request) -> Response:
        user = server.user(request)
        if user is None:
            return detail("Authentication credentials were not provided.", 401)
        form = await request.form()
        upload = form.get("file")
        data = await upload.read() if upload is not None and hasattr(upload, "read") else None
        name = str(form.get("name") or "")  # kpi keeps only this, never the upload's file name
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

    async def import_list(request: Request) -> Response:
        """The account's import tasks, oldest first (kpi's ``ImportTaskListSerializer``)."""
        user = server.user(request)
        if user is None:
            return detail("Authentication credentials were not provided.", 401)
        limit, start = list_paging(request)
        rows = store.all("SELECT * FROM imports WHERE owner = ? ORDER BY date_created, rowid", (user,))
        base = base_url(request)
        page = [{"url": f"{base}/api/v2/imports/{row['uid']}/", "status": row["status"],
                 "messages": json.loads(row["messages"]), "uid": row["uid"],
                 "date_created": row["date_created"]} for row in rows[start:start + limit]]
        nxt, prv = server.page_links(request, start, limit, len(rows),
                                     "offset" if server.legacy else "start")
        return JSONResponse({"count": len(rows), "next": nxt, "previous": prv, "results": page})

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
        if request.method == "POST":  # kpi checks in this order, and reads the body last
            if asset["asset_type"] != "survey":  # kpi raises BadAssetTypeException: a 500
                kind = asset["asset_type"]
                return detail(f"Only surveys may be deployed, but this asset is a {kind}", 500)
            if deployed:
                return detail("Use PATCH to update an existing deployment", 405)
            return deploy(request, asset, await json_object(request))
        if not deployed:
            return detail("Use POST to create a new deployment", 405)
        body = await json_object(request)
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

    return [
        Route("/token/", guarded(token), methods=["GET"]),
        Route("/api/v2/assets/", guarded(asset_list), methods=["GET"]),
        Route("/api/v2/assets/{uid}/", guarded(asset_detail), methods=["GET"]),
        Route("/api/v2/assets/{uid}/versions/", guarded(versions), methods=["GET"]),
        Route("/api/v2/assets/{uid}/versions/{vid}/", guarded(version), methods=["GET"]),
        Route("/api/v2/imports/", guarded(import_create), methods=["POST"]),
        Route("/api/v2/imports/", guarded(import_list), methods=["GET"]),
        Route("/api/v2/imports/{uid}/", guarded(import_detail), methods=["GET"]),
        Route("/api/v2/assets/{uid}/deployment/", guarded(deployment), methods=["GET", "POST", "PATCH"]),
    ]


def create_app(folder: Path, *, legacy: bool = False, faults: str | None = None) -> tuple[Starlette, Server]:
    """The ASGI app and its state, over the data folder ``folder``."""
    fault_spec = Faults.parse(faults)
    server = Server(Store(folder), legacy=legacy, faults=fault_spec)
    middleware = [Middleware(FaultMiddleware, faults=fault_spec)]
    routes = asset_routes(server) + data_routes(server) + openrosa_routes(server)
    return Starlette(routes=routes, middleware=middleware), server
