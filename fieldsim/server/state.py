"""What every route shares: the store, the authenticator, the legacy switch, and the small
answers and paging rules of the KPI API (DRF's ``detail`` bodies, links, limits)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fieldsim.server.auth import Authenticator, AuthFailure
from fieldsim.server.faults import Faults
from fieldsim.server.instance import legacy_view
from fieldsim.server.query import QueryError
from fieldsim.server.store import Store

MAX_LIMIT, DEFAULT_LIMIT = 1000, 100
Handler = Callable[[Request], Awaitable[Response]]


def now_z() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def base_url(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def detail(text: str, status: int, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": text}, status_code=status, headers=headers)


async def json_object(request: Request) -> dict[str, Any]:
    """The request's JSON object, as DRF parses it: an empty body is ``{}``; a body that is not
    JSON, or JSON that is not an object, is a 400 (:class:`QueryError`) with DRF's message."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError as err:  # UnicodeDecodeError is a ValueError too
        raise QueryError({"detail": f"JSON parse error - {err}"}) from err
    if not isinstance(data, dict):
        raise QueryError({"non_field_errors": [
            f"Invalid data. Expected a dictionary, but got {type(data).__name__}."]})
    return data


def guarded(handler: Handler) -> Handler:
    """Turn authentication, query and body errors into the answers kpi gives (401, 400)."""
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except AuthFailure as err:
            return detail(err.detail, 401, {"WWW-Authenticate": "Session"})
        except QueryError as err:
            return JSONResponse(err.body, status_code=400)
    return wrapped


class Server:
    """State shared by the routes: the store, the authenticator and the switches."""

    def __init__(self, store: Store, legacy: bool = False, faults: Faults | None = None):
        self.store = store
        self.auth = Authenticator(store)
        self.legacy = legacy
        self.faults = faults or Faults()

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

    def page_links(self, request: Request, start: int, limit: int, count: int,
                   key: str = "start") -> tuple[str | None, str | None]:
        """DRF's links: the request URL, query keys sorted, ``limit`` and ``key`` replaced;
        ``previous`` drops the offset key when it would be 0."""
        params = dict(request.query_params)
        for name in ("start", "offset"):
            params.pop(name, None)
        params["limit"] = str(limit)
        base = f"{base_url(request)}{request.url.path}"
        nxt = prv = None
        if start + limit < count:
            nxt = f"{base}?{urlencode(sorted({**params, key: str(start + limit)}.items()))}"
        if start > 0:
            back = max(0, start - limit)
            prv = f"{base}?{urlencode(sorted(({**params, key: str(back)} if back else params).items()))}"
        return nxt, prv


def list_paging(request: Request) -> tuple[int, int]:
    """Paging of other lists: a bad ``limit`` falls back to 100; ``offset`` is an alias of ``start``."""
    try:
        limit = int(request.query_params.get("limit", DEFAULT_LIMIT))
    except ValueError:
        limit = DEFAULT_LIMIT
    limit = DEFAULT_LIMIT if limit <= 0 else min(limit, MAX_LIMIT)
    params = request.query_params
    return limit, _non_negative(params.get("start") or params.get("offset"))


def _non_negative(raw: str | None) -> int:
    try:
        return max(0, int(raw or 0))
    except ValueError:
        return 0


