"""The KoboToolbox KPI API v2 client: assets, imports, deployment, data pages.

It works unchanged against https://kf.kobotoolbox.org and the local server in ``fieldsim``.
Data is paged by key, never by offset (deletions shift offsets mid-scan):
``query={"_id":{"$gt": last}}``, ``sort={"_id": 1}``, ``limit=1000``. The server's ``next`` link
only tells whether more follows, so ``start``- and ``offset``-style links both work.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import orjson

from aimak.errors import KoboError, PageUnreadableError
from aimak.settings import Settings
from etl.http import HttpClient

PAGE_LIMIT = 1000
PAGE_ATTEMPTS = 4  # a page that arrives whole but unreadable is fetched this many times
ASSETS = "api/v2/assets/"
T = TypeVar("T")


@dataclass(frozen=True)
class Page:
    """One data page as received, with its records parsed (for listings and refetches; the
    warehouse reads the bulk data pages from the landed files itself)."""

    body: bytes
    records: list[dict[str, Any]]
    has_next: bool
    count: int | None = None  # the server's count of every record the query matches

    @property
    def size(self) -> int:
        return len(self.records)

    @property
    def last_id(self) -> int | None:
        ids = [r["_id"] for r in self.records
               if isinstance(r, dict) and type(r.get("_id")) is int]
        return max(ids) if ids else None

    @classmethod
    def from_body(cls, body: bytes) -> Page:
        try:
            page = orjson.loads(body)
        except orjson.JSONDecodeError as err:
            raise PageUnreadableError(f"a data page is not valid JSON ({err})") from err
        results = page.get("results") if isinstance(page, dict) else None
        if not isinstance(results, list):
            raise PageUnreadableError("a data page has no 'results' list")
        count = page.get("count")
        return cls(body, results, bool(page.get("next")) and bool(results),
                   count if type(count) is int else None)


class KoboClient:
    """KPI API v2 over one :class:`HttpClient`."""

    def __init__(self, http: HttpClient):
        self.http = http

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> KoboClient:
        if not settings.kobo_token:
            raise KoboError("KOBO_TOKEN is not set: export the API key of the KoboToolbox "
                            "account (Account settings → Security) as KOBO_TOKEN.")
        return cls(HttpClient(settings.kobo_url, settings.kobo_token, **kwargs))

    def close(self) -> None:
        self.http.close()

    # --- assets ------------------------------------------------------------------------------

    def list_assets(self, asset_type: str = "survey") -> list[dict[str, Any]]:
        """Every asset of the account of that type, following ``next`` links."""
        assets: list[dict[str, Any]] = []
        url: str | None = ASSETS
        params: dict[str, Any] | None = {"limit": 100, "q": f"asset_type:{asset_type}"}
        while url:
            _, page = self.http.request("GET", url, params=params)
            assets += [a for a in page["results"] if a.get("asset_type") == asset_type]
            url, params = page.get("next"), None
        return assets

    def asset(self, uid: str) -> dict[str, Any]:
        return self.http.get_json(f"{ASSETS}{uid}/")

    def find_asset(self, form_id: str, known_uid: str | None = None) -> dict[str, Any] | None:
        """The survey asset whose XLSForm form_id (``content.settings.id_string``) is ``form_id``."""
        if known_uid:
            try:
                asset = self.asset(known_uid)
            except KoboError:
                asset = None
            if asset and form_id_of(asset) == form_id:
                return asset
        for summary in self.list_assets():
            asset = self.asset(summary["uid"])
            if form_id_of(asset) == form_id:
                return asset
        return None

    def versions(self, uid: str) -> list[dict[str, Any]]:
        """Every version of an asset (``uid``, ``content_hash``, ``date_deployed`` — ``false``
        for a version never deployed — and ``date_modified``), newest first, following ``next``."""
        versions: list[dict[str, Any]] = []
        url: str | None = f"{ASSETS}{uid}/versions/"
        while url:
            page = self.http.get_json(url)
            versions += page.get("results") or []
            url = page.get("next")
        return versions

    def deployed_version_ids(self, asset: dict[str, Any]) -> list[str]:
        """The uids of every version of ``asset`` that was ever deployed, newest first.

        The asset detail lists them under ``deployed_versions`` (a page of at most 100); when
        that page has a ``next`` link, or the server sends no such field, the versions list is
        read instead."""
        listed = asset.get("deployed_versions")
        if isinstance(listed, dict) and isinstance(listed.get("results"), list) and not listed.get("next"):
            rows = listed["results"]
        else:
            rows = [v for v in self.versions(asset["uid"]) if v.get("date_deployed")]
        return [v["uid"] for v in rows if isinstance(v, dict) and v.get("uid")]

    def version(self, uid: str, version_uid: str) -> dict[str, Any]:
        """One version of an asset with its ``content`` as it was then (kpi's
        ``AssetVersionSerializer``: ``uid``, ``url``, ``content_hash``, ``date_deployed``,
        ``date_modified``, ``content``)."""
        return self.http.get_json(f"{ASSETS}{uid}/versions/{version_uid}/")

    # --- imports and deployment ----------------------------------------------------------------

    def import_xlsform(self, path: Path, name: str, destination_uid: str | None = None) -> str:
        """Upload an XLSForm as a survey (``library=false``); return the import task uid.

        Sent once: a repeated POST could create a second asset. After a failure whose outcome is
        unknown (:class:`~aimak.errors.KoboUnavailableError`), wait for :meth:`settle_imports`
        (with the :meth:`import_count` taken before the POST) and look the form up before
        sending it again, as :mod:`etl.deploy` does.
        """
        data = {"name": name, "library": "false"}
        if destination_uid:
            data["destination"] = self.http.url(f"{ASSETS}{destination_uid}/")
        with path.open("rb") as handle:
            files = {"file": (path.name, handle, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")}
            _, body = self.http.request("POST", "api/v2/imports/", data=data, files=files, retry=False)
        return body["uid"]

    def wait_import(self, import_uid: str, timeout: float = 300, poll: float = 0.5) -> str:
        """Poll the import until it completes; return the uid of the created or updated asset."""
        deadline = time.monotonic() + timeout
        while True:
            task = self.http.get_json(f"api/v2/imports/{import_uid}/")
            status = task.get("status")
            if status == "complete":
                messages = task.get("messages", {})
                for key in ("created", "updated"):
                    if messages.get(key):
                        return messages[key][0]["uid"]
                raise KoboError(f"import {import_uid} completed without an asset: {messages}")
            if status == "error":
                detail = task.get("messages", {})
                raise KoboError(f"KoboToolbox could not import the form (import {import_uid}): "
                                f"{detail.get('error_type', '')} {detail.get('error', detail)}")
            if time.monotonic() > deadline:
                raise KoboError(f"import {import_uid} still '{status}' after {timeout:.0f} s; the "
                                "server is busy: run the deployment again later.")
            time.sleep(poll)

    def import_count(self) -> int:
        """How many import tasks the account has (kpi keeps them, oldest first)."""
        page = self.http.get_json("api/v2/imports/", limit=1)
        return int((page or {}).get("count") or 0)

    def imports_since(self, known: int) -> list[dict[str, Any]]:
        """The account's import tasks after the first ``known`` ones (``uid``, ``status``,
        ``messages``), following ``next``; the offset goes as ``start`` and as ``offset``, for
        current and older servers alike."""
        tasks: list[dict[str, Any]] = []
        url: str | None = "api/v2/imports/"
        params: dict[str, Any] | None = {"limit": 100, "start": known, "offset": known}
        while url:
            _, page = self.http.request("GET", url, params=params)
            tasks += (page or {}).get("results") or []
            url, params = (page or {}).get("next"), None
        return tasks

    def settle_imports(self, known: int, timeout: float = 300, poll: float = 0.5) -> None:
        """Wait until no import task after the first ``known`` is still queued or running.

        After an import POST whose answer was lost, the import it may have started must finish
        before the form is looked for: otherwise a second POST could create a second asset. Only
        tasks newer than the count taken before the POST are waited for, so an old task stuck in
        ``processing`` on the server does not hold the deployment up."""
        deadline = time.monotonic() + timeout
        while True:
            running = [t.get("uid") for t in self.imports_since(known)
                       if t.get("status") in ("created", "processing")]
            if not running:
                return
            if time.monotonic() > deadline:
                raise KoboError(f"import(s) {', '.join(map(str, running))} still running after "
                                f"{timeout:.0f} s; the server is busy: run the deployment again later.")
            time.sleep(poll)

    def deploy(self, uid: str) -> dict[str, Any]:
        """First deployment of an asset (its current version); return the deployment.

        The POST is retried on network faults and 5xx like any request. When a response was
        lost, the deployment may exist already and a retry gets 405 "Use PATCH to update an
        existing deployment"; so a failure after a retry is settled by reading the deployment
        back: if the asset's current version is deployed, the POST worked.
        """
        url = f"{ASSETS}{uid}/deployment/"
        retries = self.http.retries
        try:
            return self.http.request("POST", url, json={"active": True})[1]
        except KoboError as failure:
            if self.http.retries == retries:
                raise  # answered at the first attempt: the server's word stands
            try:
                _, state = self.http.request("GET", url)
            except KoboError:
                raise failure from None
            current = ((state or {}).get("asset") or {}).get("version_id")
            if state and state.get("version_id") and state.get("version_id") == current:
                return state
            raise

    def redeploy(self, uid: str, version_id: str) -> dict[str, Any]:
        """Deploy the asset's version ``version_id`` (its current one) over an existing
        deployment; return the deployment. A failure after a retry is settled like
        :meth:`deploy`'s: if ``version_id`` is deployed by then, the PATCH worked."""
        url = f"{ASSETS}{uid}/deployment/"
        retries = self.http.retries
        try:
            return self.http.request("PATCH", url, json={"active": True, "version_id": version_id})[1]
        except KoboError as failure:
            if self.http.retries == retries:
                raise
            try:
                _, state = self.http.request("GET", url)
            except KoboError:
                raise failure from None
            if state and state.get("version_id") == version_id and state.get("active", True):
                return state
            raise

    # --- data --------------------------------------------------------------------------------

    def data_page(self, uid: str, after_id: int = 0, *, fields: list[str] | None = None,
                  limit: int = PAGE_LIMIT, query: dict[str, Any] | None = None) -> bytes:
        """The body of one page of records with ``_id`` > ``after_id`` in ``_id`` order, as
        received (not parsed: the warehouse reads it from the landed file)."""
        where: dict[str, Any] = dict(query or {})
        where["_id"] = {**where.get("_id", {}), "$gt": after_id}
        params: dict[str, Any] = {"format": "json", "limit": limit,
                                  "query": json.dumps(where, separators=(",", ":")),
                                  "sort": '{"_id":1}'}
        if fields:
            params["fields"] = json.dumps(fields, separators=(",", ":"))
        response, _ = self.http.request("GET", f"{ASSETS}{uid}/data/", params=params,
                                        parse_json=False)
        return response.content

    def iter_pages(self, uid: str, after_id: int = 0, *, fields: list[str] | None = None,
                   limit: int = PAGE_LIMIT, query: dict[str, Any] | None = None) -> Iterator[Page]:
        """Yield parsed data pages of records with ``_id`` > ``after_id`` in ``_id`` order."""
        last = after_id
        while True:
            page = self._readable_page(uid, last, fields=fields, limit=limit, query=query)
            yield page
            if not page.has_next or page.last_id is None:
                return
            last = page.last_id

    def _readable_page(self, uid: str, after_id: int, **params: Any) -> Page:
        """One parsed page, fetched again while it arrives unreadable (see :meth:`read_page`)."""
        return self.read_page(uid, after_id,
                              lambda: Page.from_body(self.data_page(uid, after_id, **params)))

    def read_page(self, uid: str, after_id: int, read: Callable[[], T]) -> T:
        """Run ``read`` (fetch the page after ``after_id`` and read it) until it does not raise
        :class:`PageUnreadableError`: a page that arrives whole (HTTP 200) but cannot be read, as
        when a proxy cuts the body, is fetched again with backoff a few times before giving up."""
        for attempt in range(PAGE_ATTEMPTS):
            try:
                return read()
            except PageUnreadableError as err:
                problem = err
                if attempt + 1 < PAGE_ATTEMPTS:
                    self.http.pause(attempt)
        raise PageUnreadableError(
            f"the page of records after _id {after_id} of asset {uid} could not be read in "
            f"{PAGE_ATTEMPTS} attempts ({problem}): the server, or a proxy in front of it, answers "
            "something that is not a KoboToolbox data page. Everything stored before this page "
            "is kept; run the command again once the server is healthy.")

    def submissions_by_id(self, uid: str, ids: list[int]) -> Iterator[Page]:
        """Pages holding exactly the records with these ``_id`` values (for refetching edits)."""
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            yield from self.iter_pages(uid, 0, query={"_id": {"$in": chunk}})


def form_id_of(asset: dict[str, Any]) -> str:
    """Our ``<form_id>``: the XLSForm's id_string, or the asset uid when it has none."""
    settings = (asset.get("content") or {}).get("settings") or {}
    return settings.get("id_string") or settings.get("form_id") or asset["uid"]
