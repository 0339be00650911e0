"""A fake KoboToolbox KPI server for sync tests that need neither Java nor a running server.

Built from the contract samples (``fixtures/kobo-contract``, a copy of ``shared/kobo-contract``)
and answering through requests-mock at the samples' host, it serves what ``aimak sync`` reads,
shaped exactly like the samples: the asset list (paged, ``next`` links), the asset detail, the
version list and each version's detail, and data pages with a Mongo-style ``_id`` query
(``$gt``/``$gte``/``$lt``/``$lte``/``$in``), ``sort``, ``fields`` (the server adds ``_uuid``,
``meta/rootUuid`` and ``_validation_status``, ``{}`` unless requested), ``count`` after the
query, ``limit`` (default 100, cut to 1000) and ``start``, with ``next``/``previous`` links in
the current ``start`` style or the older ``offset`` one; 400s and 404s as the samples give them.

Records are copies of the sample records (``data_page.json``, or ``data_page_legacy.json`` for
an older server) with their own ``_id``, ``_uuid`` and ``meta/instanceID``; edits, deletions and
validation changes behave as on kpi. A proxy in front of a form's listing (``fields=``) or its
data pages can be simulated for the next few answers.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests_mock

CONTRACT = Path(__file__).resolve().parent / "fixtures" / "kobo-contract"
BASE = "https://kf.example.org"
TOKEN = "0123456789abcdef0123456789abcdef01234567"
SAMPLE_UID = "a33fJoz2W6A6gUv4fUxJGN"
DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
ADDED_TO_FIELDS = ("_uuid", "meta/rootUuid")  # kpi adds these to every fields= answer
OPERATORS: dict[str, Callable[[int, Any], bool]] = {
    "$gt": lambda v, x: v > x, "$gte": lambda v, x: v >= x, "$lt": lambda v, x: v < x,
    "$lte": lambda v, x: v <= x, "$in": lambda v, x: v in x, "$eq": lambda v, x: v == x,
}
LABELS = {"validation_status_approved": "Approved", "validation_status_on_hold": "On Hold",
          "validation_status_not_approved": "Not Approved"}
Page = dict[str, Any]
Answer = tuple[int, Any]


def sample(name: str, uid: str = SAMPLE_UID) -> Any:
    """A sample body, with the sample asset's uid replaced by ``uid``."""
    return json.loads((CONTRACT / name).read_text(encoding="utf-8").replace(SAMPLE_UID, uid))


class FakeForm:
    """One deployed survey of the fake account and its live submissions."""

    def __init__(self, server: FakeKobo, uid: str, form_id: str | None, legacy: bool):
        self.server, self.uid = server, uid
        self.detail = sample("asset_detail.json", uid)
        if form_id:
            self.detail["content"]["settings"]["id_string"] = form_id
        self.versions = sample("asset_versions.json", uid)
        self.templates = sample("data_page_legacy.json" if legacy else "data_page.json", uid)["results"]
        self.records: dict[int, dict[str, Any]] = {}
        self.listing_proxies: list[Callable[[Page], Page]] = []
        self.data_proxies: list[Callable[[Page], Answer]] = []

    def submit(self, n: int) -> list[int]:
        """``n`` new submissions, each a copy of a sample record with fresh ids."""
        ids = []
        for _ in range(n):
            record = copy.deepcopy(self.templates[len(self.records) % len(self.templates)])
            record.pop("meta/deprecatedID", None)
            record["_id"] = _id = self.server.take_id()
            record["_submission_time"] = f"2026-03-{1 + _id % 28:02d}T10:{_id % 60:02d}:00"
            self._new_uuid(record, root=True)
            self.records[_id] = record
            ids.append(_id)
        return ids

    def edit(self, submission_id: int, **answers: str) -> str:
        """Edit as kpi does: same ``_id`` and ``_submission_time``, a new ``_uuid``; return it."""
        record = self.records[submission_id]
        record["meta/deprecatedID"] = record["meta/instanceID"]
        record.update(answers)
        return self._new_uuid(record, root=False)

    def delete(self, *submission_ids: int) -> list[dict[str, Any]]:
        """Hard delete, no trace; the records are returned (to put back, as a restore would)."""
        return [self.records.pop(i) for i in submission_ids]

    def put_back(self, records: list[dict[str, Any]]) -> None:
        """Records restored from a backup: back with their old ``_id`` and ``_uuid``."""
        self.records.update({r["_id"]: r for r in records})

    def validate(self, submission_id: int, status: str) -> None:
        self.records[submission_id]["_validation_status"] = {
            "timestamp": 1772561304, "uid": status, "by_whom": "demo_owner", "label": LABELS[status]}

    def proxy_listing(self, answer: Callable[[Page], Page], times: int = 1) -> None:
        """The next ``times`` listing pages (``fields=`` requests) pass through ``answer``, as
        through a caching proxy, a token with partial permissions or a half-restored server."""
        self.listing_proxies += [answer] * times

    def proxy_data(self, answer: Callable[[Page], Answer], times: int = 1) -> None:
        """The next ``times`` data pages (not listings) are answered by ``answer`` instead."""
        self.data_proxies += [answer] * times

    def _new_uuid(self, record: dict[str, Any], root: bool) -> str:
        new = self.server.take_uuid()
        record["_uuid"], record["meta/instanceID"] = new, f"uuid:{new}"
        if root and "meta/rootUuid" in record:
            record["meta/rootUuid"] = f"uuid:{new}"
        return new

    def version(self, key: str | None) -> Answer:
        if key is None:
            return 200, self.versions
        for item in self.versions["results"]:
            if item["uid"] == key:
                return 200, {**item, "content": self.detail["content"]}
        return 404, sample("errors/404_not_found.json")

    def data(self, query: dict[str, str], url: str) -> Answer:
        if "count" in query:
            return 400, sample("errors/400_count_param.json")
        try:
            limit = int(query.get("limit", DEFAULT_LIMIT))
        except ValueError:
            limit = 0
        if limit <= 0:
            return 400, sample("errors/400_invalid_limit.json")
        limit, start = min(limit, MAX_LIMIT), int(query.get("start", 0))
        try:
            where = json.loads(query.get("query") or "{}")
            order = json.loads(query.get("sort") or '{"_id": 1}')
            fields = json.loads(query["fields"]) if "fields" in query else None
        except json.JSONDecodeError:
            return 400, sample("errors/400_invalid_query_json.json")
        matched = [r for _id, r in sorted(self.records.items()) if _matches(_id, where)]
        if order.get("_id") == -1:
            matched.reverse()
        records = [copy.deepcopy(r) if fields is None else _pick(r, fields)
                   for r in matched[start:start + limit]]
        page = self.server.page(url, query, records, len(matched), start, limit)
        if fields is not None and self.listing_proxies:
            return 200, self.listing_proxies.pop(0)(page)
        if fields is None and self.data_proxies:
            return self.data_proxies.pop(0)(page)
        return 200, page


class FakeKobo:
    """The sample account: the deployed survey ``a33fJoz2W6A6gUv4fUxJGN`` (``main``, holding
    ``records`` submissions), a draft and a library block; more surveys with :meth:`add_form`.
    ``links`` is ``"start"`` (kpi now) or ``"offset"`` (older servers); ``legacy`` serves records
    as an older server does."""

    def __init__(self, records: int = 0, *, links: str = "start", legacy: bool = False):
        self.links, self.legacy = links, legacy
        self.summaries = sample("assets_list.json")["results"] + sample("assets_list_page2.json")["results"]
        self.forms: dict[str, FakeForm] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []  # method, path, query
        self._ids, self._uuids = 40215000, 0
        self.main = self.add_form(SAMPLE_UID, None)
        self.main.submit(records)

    def add_form(self, uid: str, form_id: str | None) -> FakeForm:
        """Another deployed survey like the sample one, listed before the draft and the block."""
        form = self.forms[uid] = FakeForm(self, uid, form_id, self.legacy)
        if uid != SAMPLE_UID:
            summary = json.loads(json.dumps(self.summaries[0]).replace(SAMPLE_UID, uid))
            self.summaries.insert(len(self.forms) - 1, summary)
        return form

    def take_id(self) -> int:
        self._ids += 1  # kpi's _id is one sequence for every form
        return self._ids

    def take_uuid(self) -> str:
        self._uuids += 1
        return str(uuid.UUID(int=0xFA4E << 112 | self._uuids, version=4))

    def install(self, mocker: Any) -> FakeKobo:
        """Answer every request to :data:`BASE` (``mocker``: requests-mock's Mocker or fixture)."""
        mocker.register_uri(requests_mock.ANY, re.compile(rf"^{re.escape(BASE)}/"), content=self._respond)
        return self

    def _respond(self, request: Any, context: Any) -> bytes:
        parts = urlsplit(request.url)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        self.requests.append((request.method, parts.path, query))
        context.headers["Content-Type"] = "application/json"
        if request.headers.get("Authorization") != f"Token {TOKEN}":
            status, body = 401, sample("errors/401_invalid_token.json")
        else:
            status, body = self._route(request.method, parts.path, query, request.url)
        context.status_code = status
        return body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()

    def _route(self, method: str, path: str, query: dict[str, str], url: str) -> Answer:
        if method != "GET":
            return 405, {"detail": f'Method "{method}" not allowed.'}
        if path == "/api/v2/assets/":
            wanted = query.get("q", "").removeprefix("asset_type:")
            rows = [a for a in self.summaries if not wanted or a["asset_type"] == wanted]
            limit, start = int(query.get("limit", DEFAULT_LIMIT)), int(query.get("start", 0))
            return 200, self.page(url, query, rows[start:start + limit], len(rows), start, limit)
        match = re.fullmatch(r"/api/v2/assets/([^/]+)/(?:(data|versions)/(?:([^/]+)/)?)?", path)
        form = self.forms.get(match.group(1)) if match else None
        if form is None:
            return 404, sample("errors/404_not_found.json")
        kind, key = match.group(2), match.group(3)
        if kind is None:
            return 200, form.detail
        if kind == "versions":
            return form.version(key)
        if key is not None:
            return 404, sample("errors/404_not_found.json")
        return form.data(query, url)

    def page(self, url: str, query: dict[str, str], results: list[Any], count: int,
             start: int, limit: int) -> Page:
        """kpi's paginator: ``next``/``previous`` are the request URL with the query keys sorted
        and ``limit`` and ``start`` (or ``offset``) replaced; the first page's link has none."""
        def link(at: int) -> str:
            keys = {k: v for k, v in query.items() if k not in ("start", "offset", "limit")}
            keys["limit"] = str(limit)
            if at > 0:
                keys[self.links] = str(at)
            return url.split("?")[0] + "?" + urlencode(sorted(keys.items()))

        return {"count": count,
                "next": link(start + limit) if start + limit < count else None,
                "previous": link(max(start - limit, 0)) if start > 0 else None,
                "results": results}


def _matches(_id: int, where: dict[str, Any]) -> bool:
    for key, condition in where.items():
        if key != "_id":
            raise NotImplementedError(f"the fake server queries _id only, not {key!r}")
        if not isinstance(condition, dict):
            condition = {"$eq": condition}
        if not all(OPERATORS[op](_id, value) for op, value in condition.items()):
            return False
    return True


def _pick(record: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    picked = {k: copy.deepcopy(record[k]) for k in fields if k in record}
    picked.update({k: record[k] for k in ADDED_TO_FIELDS if k in record})
    picked["_validation_status"] = (copy.deepcopy(record.get("_validation_status", {}))
                                    if "_validation_status" in fields else {})
    return picked


# --- what a proxy in front of the server can do ------------------------------------------------

def empty_page(_page: Page) -> Page:
    """An empty page, ``data_page_empty.json`` (a stale cache, a half-restored server)."""
    return sample("data_page_empty.json")


def first_records(n: int) -> Callable[[Page], Page]:
    """The page cut after ``n`` records, with no next link (a proxy that drops the rest)."""
    def cut(page: Page) -> Page:
        return {**page, "next": None, "results": page["results"][:n]}
    return cut


def gateway_timeout(_page: Page) -> Answer:
    """What nginx in front of kpi answers when the request takes too long."""
    return 504, b"<html><body><h1>504 Gateway Time-out</h1></body></html>"
