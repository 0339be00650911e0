"""The submission routes of the KPI API: ``…/data/`` pages, one record, deletion, validation
statuses and attachments. Pages are joined from the stored JSON strings unless ``fields`` or the
legacy switch needs them parsed."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from fieldsim.server.instance import VALIDATION_LABELS, close_record, validation_object
from fieldsim.server.query import QueryError, order_by, parse_fields, pick, where
from fieldsim.server.state import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Server,
    _non_negative,
    base_url,
    detail,
    guarded,
    json_object,
)


def data_paging(request: Request) -> tuple[int, int]:
    """``limit`` (default 100, cut to 1000; 0 or not a number is a 400) and ``start``.

    Only ``start`` moves the window on data, as in kpi (``offset`` is not read there).
    """
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
    return min(limit, MAX_LIMIT), _non_negative(request.query_params.get("start"))



def data_routes(server: Server) -> list[Route]:
    store = server.store

    def delete(submission_ids: list[int]) -> int:
        """Hard delete, as kpi does: no tombstone, the files go too."""
        marks = ",".join("?" for _ in submission_ids) or "NULL"
        files = store.all(f"SELECT path FROM attachments WHERE submission_id IN ({marks})", tuple(submission_ids))
        with store.transaction() as db:
            for table, column in (("attachments", "submission_id"), ("history", "submission_id"),
                                  ("submissions", "id")):
                db.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", tuple(submission_ids))
        for f in files:
            Path(f["path"]).unlink(missing_ok=True)
        return len(submission_ids)

    def payload_of(body: dict[str, Any]) -> dict[str, Any]:
        payload = body.get("payload") or {}
        if not isinstance(payload, dict):
            kind = type(payload).__name__
            raise QueryError({"payload": [f'Expected a dictionary of items but got type "{kind}".']})
        return payload

    def selected(asset: dict[str, Any], payload: dict[str, Any]) -> list[int] | Response:
        """The ids a bulk payload names: ``submission_ids``, ``query`` or ``confirm: true``."""
        if "submission_ids" in payload:
            try:
                wanted = sorted({int(i) for i in payload["submission_ids"]})
            except (TypeError, ValueError):
                return detail("One or more submission ids are invalid", 400)
            marks = ",".join("?" for _ in wanted) or "NULL"
            found = [r["id"] for r in store.all(
                f"SELECT id FROM submissions WHERE asset_uid = ? AND id IN ({marks})", (asset["uid"], *wanted))]
            if len(found) != len(wanted):
                return detail("One or more submission ids are invalid", 400)
            return found
        if "query" in payload or payload.get("confirm"):
            condition, params = where(json.dumps(payload.get("query") or {}))
            return [r["id"] for r in store.all(
                f"SELECT id FROM submissions WHERE asset_uid = ? AND ({condition})", (asset["uid"], *params))]
        return JSONResponse({"payload": "`submission_ids`, `query` or `confirm` is required"}, status_code=400)

    async def bulk_delete(request: Request) -> Response:
        _user, asset = server.owned(request, request.path_params["uid"])
        if asset is None:
            return detail("Not found.", 404)
        chosen = selected(asset, payload_of(await json_object(request)))
        if isinstance(chosen, Response):
            return chosen
        return JSONResponse({"detail": f"{delete(chosen)} submissions have been deleted"})

    async def data_list(request: Request) -> Response:
        _user, asset = server.owned(request, request.path_params["uid"])
        if asset is None:
            return detail("Not found.", 404)
        if asset["deployed_version_id"] is None:
            return detail("The specified asset has not been deployed", 400)
        if "count" in request.query_params:
            return JSONResponse({"count": "This param is not implemented. Use `count` property of "
                                          "the response instead."}, status_code=400)
        limit, start = data_paging(request)
        condition, params = where(request.query_params.get("query"))
        order, order_params = order_by(request.query_params.get("sort"))
        fields = parse_fields(request.query_params.get("fields"))
        args = (asset["uid"], *params)
        count = store.one(f"SELECT count(*) AS n FROM submissions WHERE asset_uid = ? AND ({condition})", args)["n"]
        rows = store.all(f"SELECT body, validation, submitted_by FROM submissions WHERE asset_uid = ? "
                         f"AND ({condition}) ORDER BY {order} LIMIT ? OFFSET ?",
                         (*args, *order_params, limit, start))
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
            delete([row["id"]])
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
        uid = (await json_object(request)).get("validation_status.uid")
        if not isinstance(uid, str) or uid not in VALIDATION_LABELS:
            return detail(f"Invalid validation status: `{uid}`", 400)
        value = validation_object(uid, user, int(time.time()))
        store.run("UPDATE submissions SET validation = ? WHERE id = ?", (json.dumps(value), row["id"]))
        return JSONResponse(value)

    async def validation_statuses(request: Request) -> Response:
        user, asset = server.owned(request, request.path_params["uid"])
        if asset is None:
            return detail("Not found.", 404)
        payload = payload_of(await json_object(request))
        if "validation_status.uid" not in payload:
            return JSONResponse({"payload": "`validation_status.uid` is required"}, status_code=400)
        uid = payload.get("validation_status.uid")
        # kpi resets the status on DELETE, and also on a PATCH with an unknown uid
        known = isinstance(uid, str) and uid in VALIDATION_LABELS
        value = "{}" if request.method == "DELETE" or not known else \
            json.dumps(validation_object(uid, user, int(time.time())))
        chosen = selected(asset, payload)
        if isinstance(chosen, Response):
            return chosen
        marks = ",".join("?" for _ in chosen) or "NULL"
        store.run(f"UPDATE submissions SET validation = ? WHERE id IN ({marks})", (value, *chosen))
        return JSONResponse({"detail": f"{len(chosen)} submissions have been updated"})

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

    return [
        Route("/api/v2/assets/{uid}/data/", guarded(data_list), methods=["GET"]),
        Route("/api/v2/assets/{uid}/data.json", guarded(data_list), methods=["GET"]),
        Route("/api/v2/assets/{uid}/data/bulk/", guarded(bulk_delete), methods=["DELETE"]),
        Route("/api/v2/assets/{uid}/data/validation_statuses/", guarded(validation_statuses),
              methods=["PATCH", "DELETE"]),
        Route("/api/v2/assets/{uid}/data/{id}/", guarded(data_detail), methods=["GET", "DELETE"]),
        Route("/api/v2/assets/{uid}/data/{id}/validation_status/", guarded(validation_status),
              methods=["GET", "PATCH", "DELETE"]),
        Route("/api/v2/assets/{uid}/data/{id}/attachments/{att}/", guarded(attachment), methods=["GET"]),
        Route("/api/v2/assets/{uid}/data/{id}/attachments/{att}/{size}/", guarded(attachment),
              methods=["GET"]),
    ]
