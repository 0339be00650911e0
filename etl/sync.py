"""``aimak sync``: pull new, edited and deleted submissions of every deployed form.

For each form: pages of records after the cursor are landed, read by the store straight from the
landed file and committed ten at a time with the cursor; then a cheap reconciliation pass lists
only ``_id``, ``_uuid`` and ``_validation_status`` of every live record to find deletions, edits
(a changed ``_uuid``: those records are fetched again), validation changes and records that show
up again. A listing can be cut short without any error (a caching proxy, a token with partial
permissions, a half-restored server), so deletions it implies are refused when they contradict
the server's own count or take more than half of the form, unless the data manager confirms;
deleted rows are only marked, never removed, and come back when listed again. Then the content
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

from aimak.errors import (
    ConfigError,
    DeletionsRefusedError,
    KoboNotFoundError,
    PageUnreadableError,
)
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


class ListingCheck(Protocol):
    """What the store makes of the server's listing (``warehouse.raw.Reconciliation``)."""

    validation_changed: int
    restored: int
    changed_ids: list[int]
    missing_ids: list[int]
    live: int
    reach: int


class SyncStore(Protocol):
    def cursor(self, asset_uid: str) -> int: ...
    def land(self, asset_uid: str, name: str, body: bytes) -> Path: ...
    def set_aside(self, file: Path) -> Path: ...
    def stage(self, file: Path) -> PageReach: ...
    def discard(self) -> None: ...
    def commit(self, asset_uid: str, form_id: str, advance_cursor: bool) -> Any: ...
    def reconcile(self, asset_uid: str, listing: list[tuple[int, str, str | None]],
                  up_to_id: int) -> ListingCheck: ...
    def mark_deleted(self, asset_uid: str, ids: list[int]) -> int: ...
    def start_over(self, asset_uid: str) -> None: ...
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
    restored: int = 0  # records marked deleted before that the server shows again
    held_back: int = 0  # deletions refused (see ``refused``)
    refused: str | None = None  # why this form's deletions were refused, in one line
    validation_changed: int = 0
    quarantined: int = 0
    submissions: int | None = None
    rebuilt: bool = False
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # about the form's tables (schema_notes)

    def summary(self) -> str:
        live = "" if self.submissions is None else f", {self.submissions} live"
        restored = f", {self.restored} restored" if self.restored else ""
        refused = f" ({self.held_back} deletions refused)" if self.refused else ""
        notes = "".join(f"\n  note: {note} (see the schema_notes table)" for note in self.notes)
        return (f"{self.form_id}: {self.new} new, {self.edited} edited, {self.deleted} deleted"
                f"{refused}{restored}, {self.validation_changed} validation changes, "
                f"{self.quarantined} quarantined{live} ({self.pages} pages, {self.seconds:.1f} s)"
                f"{notes}")


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


def check_scope(form: str | None, full_refresh: bool = False,
                confirm_deletions: bool = False) -> None:
    """Starting over and confirming deletions act on one form at a time, named by ``form``."""
    for option, given in (("--full-refresh", full_refresh), ("--confirm-deletions", confirm_deletions)):
        if given and not form:
            raise ConfigError(f"{option} acts on one form at a time: name it with --form (its form "
                              "id or asset uid); nothing was synced.")


def sync_form(client: KoboClient, store: SyncStore, asset: dict[str, Any],
              on_progress: Callable[[Progress], None] | None = None,
              page_limit: int = PAGE_LIMIT, *, full_refresh: bool = False,
              confirm_deletions: bool = False) -> FormSyncResult:
    """Bring one form's warehouse tables up to date with the server (``page_limit`` records
    per data page: the server's maximum, smaller only in tests).

    ``full_refresh`` starts the form over: every record is pulled again from the first one and
    its tables are rebuilt; the raw rows it had stay (edited or vanished records keep their
    history, and what the fresh pull and listing show is what is live). ``confirm_deletions``
    lets through deletions the listing check would refuse (see :func:`_refusal`)."""
    started = time.monotonic()
    uid, form_id = asset["uid"], form_id_of(asset)
    result = FormSyncResult(form_id, uid)
    progress = Progress(form_id)
    store.record_form(form_id, asset)  # marks staging stale when the content changed
    store.discard()
    prefix = ""
    if full_refresh:  # cursor back to the start, staging stale: a killed refresh resumes
        store.start_over(uid)
        prefix = f"refresh-{_stamp()}-"  # the pages landed by earlier syncs stay as they are

    after = store.cursor(uid)
    staged = 0
    while True:
        page = _pull(client, store, uid, after, page_limit, prefix)
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

    _reconcile(client, store, asset, after, confirm_deletions, result)

    schema = form_schema(form_id, asset, older_contents=_older_contents(client, store, asset))
    result.notes = [note.text() for note in schema.notes]
    if full_refresh or store.needs_rebuild(schema):
        built = store.rebuild(schema)
        result.submissions, result.rebuilt = built.submissions, True
        result.quarantined += built.quarantined
    result.seconds = time.monotonic() - started
    return result


def raise_for_refusals(results: list[FormSyncResult]) -> None:
    """Once every form is synced: fail (non-zero exit) when a form's deletions were refused."""
    refused = [r.refused for r in results if r.refused]
    if refused:
        raise DeletionsRefusedError("\n".join(refused))


def _reconcile(client: KoboClient, store: SyncStore, asset: dict[str, Any], up_to: int,
               confirm_deletions: bool, result: FormSyncResult) -> None:
    """List ``_id``, ``_uuid`` and validation status of every live record; restore, update and
    fetch again what changed; delete what vanished, unless the listing looks wrong."""
    uid, form_id = asset["uid"], result.form_id
    listing: list[tuple[int, str, str | None]] = []
    ids: list[int | None] = []  # every listed record's _id, readable or not, for the count
    for page in client.iter_pages(uid, 0, fields=LISTING_FIELDS):
        for r in page.records:
            known = isinstance(r, dict) and type(r.get("_id")) is int
            ids.append(r["_id"] if known else None)
            if known and isinstance(r.get("_uuid"), str):
                status = r.get("_validation_status")
                listing.append((r["_id"], r["_uuid"],
                                status.get("uid") if isinstance(status, dict) else None))
    check = store.reconcile(uid, listing, up_to)
    result.validation_changed = check.validation_changed
    result.restored += check.restored
    if not confirm_deletions:
        result.refused = _refusal(client, asset, check, ids, max(up_to, check.reach))
    if result.refused:
        result.held_back = len(check.missing_ids)
    else:
        result.deleted = store.mark_deleted(uid, check.missing_ids)

    stamp = _stamp()
    for page in client.submissions_by_id(uid, check.changed_ids):
        if not page.size:
            continue
        file = store.land(uid, f"refetch-{page.last_id or 0:012d}-{stamp}", page.body)
        store.stage(file)
        loaded = store.commit(uid, form_id, False)
        result.new += loaded.new
        result.edited += loaded.edited
        result.restored += loaded.restored
        result.quarantined += loaded.quarantined


def _refusal(client: KoboClient, asset: dict[str, Any], check: ListingCheck,
             ids: list[int | None], up_to: int) -> str | None:
    """Why the deletions a listing implies must not be applied, in one line, or None.

    A listing can be cut short without any error: a caching proxy answering an empty page, a
    token with partial permissions, a half-restored server. So deletions are refused when the
    data endpoint's own ``count`` of records up to ``up_to`` (the largest ``_id`` judged) is
    larger than what the listing showed there, or when they would take more than half of the
    form's live records (bulk deletion of test submissions is real: the data manager confirms it
    with ``--confirm-deletions``). The count costs one small request, made only when the listing
    implies deletions."""
    missing = len(check.missing_ids)
    if not missing:
        return None
    uid = asset["uid"]
    listed = sum(1 for i in ids if i is None or i <= up_to)
    counted = next(client.iter_pages(uid, 0, limit=1, query={"_id": {"$lte": up_to}})).count
    if counted is not None and counted > listed:
        why = (f"the server's listing shows {listed} records up to _id {up_to} while its data "
               f"endpoint counts {counted}, so the listing was cut short")
        advice = ("Run the sync again later (records stay until a whole listing is read); if "
                  "the server really lost these submissions")
    elif 2 * missing > check.live:
        why = "that is more than half, more like a listing cut short than real deletions"
        advice = ("Check the form's submission count on the server; if the deletions are real "
                  "(e.g. test submissions cleared before fieldwork)")
    else:
        return None
    form_id = form_id_of(asset)
    name = form_id if form_id == uid else f"{form_id} (asset {uid})"
    return (f"{name}: the sync would delete {missing} of its {check.live} live submissions, but "
            f"{why} (a caching proxy, a token with partial permissions or a half-restored server "
            f"can do this); nothing was deleted. {advice}, run "
            f"'aimak sync --form {uid} --confirm-deletions'.")


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


def _pull(client: KoboClient, store: SyncStore, uid: str, after: int, limit: int,
          prefix: str = "") -> PageReach:
    """Fetch, land and stage the page after ``after``; a page that arrives whole but cannot be
    read is set aside (kept under ``rejected/``) and fetched again with backoff."""
    def land_and_stage() -> PageReach:
        file = store.land(uid, f"{prefix}after-{after:012d}", client.data_page(uid, after, limit=limit))
        try:
            return store.stage(file)
        except PageUnreadableError as err:
            raise PageUnreadableError(f"{err}; kept as {store.set_aside(file)}") from err

    return client.read_page(uid, after, land_and_stage)


def _add(result: FormSyncResult, loaded: Any) -> None:
    result.new += loaded.new
    result.edited += loaded.edited
    result.unchanged += loaded.unchanged
    result.restored += loaded.restored
    result.quarantined += loaded.quarantined


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
