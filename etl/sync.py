"""``aimak sync``: pull new, edited and deleted submissions of every deployed form.

For each form: pages of records after the cursor are landed, read by the store straight from the
landed file and committed ten at a time with the cursor; then a cheap reconciliation pass lists
only ``_id``, ``_uuid`` and ``_validation_status`` of every live record to find deletions, edits
(a changed ``_uuid``: those records are fetched again) and validation changes; then the content
of every other version the submissions may use (each deployed one, and any ``__version__`` they
name) is fetched once and kept, so the tables union the columns of all versions; then the form's
staging tables are rebuilt when the store marks them stale (the mark commits with the change, so
a run killed before the rebuild still rebuilds next time). Persistence is the store's job
(``warehouse.store``), so this module knows nothing of DuckDB.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from aimak.errors import KoboNotFoundError, PageUnreadableError
from etl.kobo import PAGE_LIMIT, KoboClient, form_id_of
from etl.normalize import FormSchema, form_schema

LISTING_FIELDS = ["_id", "_uuid", "_validation_status"]
LOAD_BATCH = 10  # pages per warehouse transaction: a killed run re-reads at most this many
# kpi version uids ('v' + shortuuid); older servers may put an XLSForm version string in
# __version__, which names no version to fetch
VERSION_UID = re.compile(r"v[0-9A-Za-z]{1,63}")


class PageReach(Protocol):
    size: int
    last_id: int | None
    has_next: bool


class SyncStore(Protocol):
    def cursor(self, asset_uid: str) -> int: ...
    def land(self, asset_uid: str, name: str, body: bytes) -> Path: ...
    def set_aside(self, file: Path) -> Path: ...
    def stage(self, file: Path) -> PageReach: ...
    def discard(self) -> None: ...
    def commit(self, asset_uid: str, form_id: str, advance_cursor: bool) -> Any: ...
    def reconcile(self, asset_uid: str, listing: list[tuple[int, str, str | None]],
                  up_to_id: int) -> Any: ...
    def record_form(self, form_id: str, asset: dict[str, Any]) -> bool: ...
    def data_versions(self, asset_uid: str) -> set[str]: ...
    def fetched_versions(self, asset_uid: str) -> set[str]: ...
    def keep_version(self, asset_uid: str, version_uid: str, content: dict[str, Any] | None,
                     date_modified: str | None) -> None: ...
    def version_contents(self, asset_uid: str, version_uids: set[str]) -> list[dict[str, Any]]: ...
    def needs_rebuild(self, schema: FormSchema) -> bool: ...
    def rebuild(self, schema: FormSchema) -> Any: ...


@dataclass
class Progress:
    """What a progress bar shows for one form."""

    form_id: str
    records: int = 0
    pages: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.records / elapsed if elapsed > 0 else 0.0


@dataclass
class FormSyncResult:
    form_id: str
    asset_uid: str
    pages: int = 0
    new: int = 0
    edited: int = 0
    unchanged: int = 0
    deleted: int = 0
    validation_changed: int = 0
    quarantined: int = 0
    submissions: int | None = None
    rebuilt: bool = False
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # about the form's tables (schema_notes)

    def summary(self) -> str:
        live = "" if self.submissions is None else f", {self.submissions} live"
        notes = "".join(f"\n  note: {note} (see the schema_notes table)" for note in self.notes)
        return (f"{self.form_id}: {self.new} new, {self.edited} edited, {self.deleted} deleted, "
                f"{self.validation_changed} validation changes, {self.quarantined} quarantined"
                f"{live} ({self.pages} pages, {self.seconds:.1f} s){notes}")


def deployed_assets(client: KoboClient, form: str | None = None) -> list[dict[str, Any]]:
    """Full asset records of every deployed survey (optionally only the one with form id ``form``)."""
    assets = []
    for summary in client.list_assets():
        if not summary.get("has_deployment"):
            continue
        asset = client.asset(summary["uid"])
        if form is None or form in (form_id_of(asset), asset["uid"]):
            assets.append(asset)
    return assets


def sync_form(client: KoboClient, store: SyncStore, asset: dict[str, Any],
              on_progress: Callable[[Progress], None] | None = None,
              page_limit: int = PAGE_LIMIT) -> FormSyncResult:
    """Bring one form's warehouse tables up to date with the server (``page_limit`` records
    per data page: the server's maximum, smaller only in tests)."""
    started = time.monotonic()
    uid, form_id = asset["uid"], form_id_of(asset)
    result = FormSyncResult(form_id, uid)
    progress = Progress(form_id)
    store.record_form(form_id, asset)  # marks staging stale when the content changed
    store.discard()

    after = store.cursor(uid)
    staged = 0
    while True:
        page = _pull(client, store, uid, after, page_limit)
        if not page.size:
            break
        staged += 1
        result.pages += 1
        progress.records += page.size
        progress.pages += 1
        if page.last_id is not None:
            after = max(after, page.last_id)
        last = not page.has_next or page.last_id is None
        if staged == LOAD_BATCH or last:
            _add(result, store.commit(uid, form_id, True))  # records and cursor in one commit
            staged = 0
        if on_progress:
            on_progress(progress)
        if last:
            break
    if staged:
        _add(result, store.commit(uid, form_id, True))

    listing: list[tuple[int, str, str | None]] = []
    for page in client.iter_pages(uid, 0, fields=LISTING_FIELDS):
        for r in page.records:
            if isinstance(r, dict) and type(r.get("_id")) is int and isinstance(r.get("_uuid"), str):
                status = r.get("_validation_status")
                listing.append((r["_id"], r["_uuid"],
                                status.get("uid") if isinstance(status, dict) else None))
    check = store.reconcile(uid, listing, after)
    result.deleted, result.validation_changed = check.deleted, check.validation_changed
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    for page in client.submissions_by_id(uid, check.changed_ids):
        if not page.size:
            continue
        file = store.land(uid, f"refetch-{page.last_id or 0:012d}-{stamp}", page.body)
        store.stage(file)
        loaded = store.commit(uid, form_id, False)
        result.edited += loaded.edited
        result.quarantined += loaded.quarantined

    schema = form_schema(form_id, asset, older_contents=_older_contents(client, store, asset))
    result.notes = [note.text() for note in schema.notes]
    if store.needs_rebuild(schema):
        built = store.rebuild(schema)
        result.submissions, result.rebuilt = built.submissions, True
        result.quarantined += built.quarantined
    result.seconds = time.monotonic() - started
    return result


def _older_contents(client: KoboClient, store: SyncStore,
                    asset: dict[str, Any]) -> list[dict[str, Any]]:
    """The contents of the form's other versions that matter (every deployed one, and any a
    live submission names in ``__version__``), newest first; each is fetched from the server
    once and kept in the warehouse. The asset's current version is its ``content`` already."""
    uid = asset["uid"]
    named = {v for v in store.data_versions(uid) if VERSION_UID.fullmatch(v)}  # a uid, not any text
    wanted = (set(client.deployed_version_ids(asset)) | named) - {asset.get("version_id")}
    for version_uid in sorted(wanted - store.fetched_versions(uid)):
        try:
            version = client.version(uid, version_uid)
        except KoboNotFoundError:  # a __version__ that names no version of this asset
            store.keep_version(uid, version_uid, None, None)
            continue
        content = version.get("content") if isinstance(version, dict) else None
        store.keep_version(uid, version_uid, content if isinstance(content, dict) else None,
                           version.get("date_modified") if isinstance(version, dict) else None)
    return store.version_contents(uid, wanted)


def _pull(client: KoboClient, store: SyncStore, uid: str, after: int, limit: int) -> PageReach:
    """Fetch, land and stage the page after ``after``; a page that arrives whole but cannot be
    read is set aside (kept under ``rejected/``) and fetched again with backoff."""
    def land_and_stage() -> PageReach:
        file = store.land(uid, f"after-{after:012d}", client.data_page(uid, after, limit=limit))
        try:
            return store.stage(file)
        except PageUnreadableError as err:
            raise PageUnreadableError(f"{err}; kept as {store.set_aside(file)}") from err

    return client.read_page(uid, after, land_and_stage)


def _add(result: FormSyncResult, loaded: Any) -> None:
    result.new += loaded.new
    result.edited += loaded.edited
    result.unchanged += loaded.unchanged
    result.quarantined += loaded.quarantined
