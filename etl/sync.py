"""``aimak sync``: pull new, edited and deleted submissions of every deployed form.

For each form: pages of records after the cursor are landed and loaded (the store moves the
cursor with each committed page); then a cheap reconciliation pass lists only ``_id``, ``_uuid``
and ``_validation_status`` of every live record to find deletions, edits (a changed ``_uuid``:
those records are fetched again) and validation changes; then the form's staging tables are
rebuilt when anything changed. Persistence is the store's job (``warehouse.store``), so this
module knows nothing of DuckDB.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from etl.kobo import KoboClient, form_id_of
from etl.normalize import FormSchema, form_schema

LISTING_FIELDS = ["_id", "_uuid", "_validation_status"]
LOAD_BATCH = 10  # pages per warehouse transaction: a killed run re-reads at most this many


class SyncStore(Protocol):
    def cursor(self, asset_uid: str) -> int: ...
    def land(self, asset_uid: str, name: str, body: bytes) -> Path: ...
    def load(self, asset_uid: str, form_id: str, files: list[Path], advance_cursor: bool) -> Any: ...
    def reconcile(self, asset_uid: str, listing: list[tuple[int, str, str | None]],
                  up_to_id: int) -> Any: ...
    def record_form(self, form_id: str, asset: dict[str, Any]) -> bool: ...
    def has_tables(self, schema: FormSchema) -> bool: ...
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

    def summary(self) -> str:
        live = "" if self.submissions is None else f", {self.submissions} live"
        return (f"{self.form_id}: {self.new} new, {self.edited} edited, {self.deleted} deleted, "
                f"{self.validation_changed} validation changes, {self.quarantined} quarantined"
                f"{live} ({self.pages} pages, {self.seconds:.1f} s)")


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
              on_progress: Callable[[Progress], None] | None = None) -> FormSyncResult:
    """Bring one form's warehouse tables up to date with the server."""
    started = time.monotonic()
    uid, form_id = asset["uid"], form_id_of(asset)
    result = FormSyncResult(form_id, uid)
    progress = Progress(form_id)
    content_changed = store.record_form(form_id, asset)
    schema = form_schema(form_id, asset)

    after = store.cursor(uid)
    batch: list[Path] = []
    for page in client.iter_pages(uid, after):
        if not page.size:
            break
        batch.append(store.land(uid, f"after-{after:012d}", page.body))
        after = page.last_id
        result.pages += 1
        progress.records += page.size
        progress.pages += 1
        if len(batch) == LOAD_BATCH or not page.has_next:
            _add(result, store.load(uid, form_id, batch, True))  # commits, then moves the cursor
            batch = []
        if on_progress:
            on_progress(progress)
    if batch:
        _add(result, store.load(uid, form_id, batch, True))

    listing: list[tuple[int, str, str | None]] = []
    for page in client.iter_pages(uid, 0, fields=LISTING_FIELDS):
        listing += [(r["_id"], r["_uuid"], (r.get("_validation_status") or {}).get("uid"))
                    for r in page.records]
    check = store.reconcile(uid, listing, after)
    result.deleted, result.validation_changed = check.deleted, check.validation_changed
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    for page in client.submissions_by_id(uid, check.changed_ids):
        if not page.size:
            continue
        file = store.land(uid, f"refetch-{page.last_id:012d}-{stamp}", page.body)
        loaded = store.load(uid, form_id, [file], False)
        result.edited += loaded.edited
        result.quarantined += loaded.quarantined

    changed = (result.new or result.edited or result.deleted or result.validation_changed
               or content_changed or not store.has_tables(schema))
    if changed:
        staged = store.rebuild(schema)
        result.submissions, result.rebuilt = staged.submissions, True
        result.quarantined += staged.quarantined
    result.seconds = time.monotonic() - started
    return result


def _add(result: FormSyncResult, loaded: Any) -> None:
    result.new += loaded.new
    result.edited += loaded.edited
    result.unchanged += loaded.unchanged
    result.quarantined += loaded.quarantined
