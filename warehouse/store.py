"""The warehouse side of a sync: the persistence that ``etl.sync.sync_form`` is given."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from warehouse.raw import (
    LoadResult,
    PageInfo,
    Reconciliation,
    commit_pages,
    cursor,
    discard_pending,
    forget_cursor,
    land_page,
    mark_deleted,
    mark_stale,
    reconcile,
    set_aside,
    stage_page,
)
from warehouse.staging import StagingResult, build_form_tables, forget_shape, is_current
from warehouse.transaction import transaction


class WarehouseStore:
    """Raw landing, loading, reconciliation and staging on one open warehouse connection."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, landing: Path):
        self.conn = conn
        self.landing = Path(landing)

    def cursor(self, asset_uid: str) -> int:
        return cursor(self.conn, asset_uid)

    def land(self, asset_uid: str, name: str, body: bytes) -> Path:
        return land_page(self.landing, asset_uid, name, body)

    def set_aside(self, file: Path) -> Path:
        return set_aside(file)

    def stage(self, file: Path) -> PageInfo:
        return stage_page(self.conn, file)

    def discard(self) -> None:
        discard_pending(self.conn)

    def commit(self, asset_uid: str, form_id: str, advance_cursor: bool) -> LoadResult:
        return commit_pages(self.conn, asset_uid, form_id, advance_cursor)

    def reconcile(self, asset_uid: str, listing: list[tuple[int, str, str | None]],
                  up_to_id: int) -> Reconciliation:
        return reconcile(self.conn, asset_uid, listing, up_to_id)

    def mark_deleted(self, asset_uid: str, ids: list[int]) -> int:
        return mark_deleted(self.conn, asset_uid, ids)

    def start_over(self, asset_uid: str) -> None:
        """The form's cursor back to its first record, and its next staging build whole."""
        forget_cursor(self.conn, asset_uid)
        forget_shape(self.conn, asset_uid)

    def record_form(self, form_id: str, asset: dict[str, Any]) -> bool:
        """Keep the asset's deployed content; True (and staging marked stale, in the same
        transaction) when it differs from what was kept before. Kept per asset: two projects
        may share a form_id."""
        content = json.dumps(asset.get("content") or {}, sort_keys=True, ensure_ascii=False)
        uid = asset["uid"]
        with transaction(self.conn):
            before = self.conn.execute(
                "SELECT md5(CAST(content AS VARCHAR)) FROM forms WHERE asset_uid = ?", [uid]).fetchone()
            self.conn.execute("""
                INSERT INTO forms (form_id, asset_uid, name, deployed_version_id, content, fetched_at)
                VALUES (?, ?, ?, ?, ?, now())
                ON CONFLICT (asset_uid) DO UPDATE SET form_id = excluded.form_id,
                    name = excluded.name, deployed_version_id = excluded.deployed_version_id,
                    content = excluded.content, fetched_at = excluded.fetched_at
            """, [form_id, uid, asset.get("name"), asset.get("deployed_version_id"), content])
            after = self.conn.execute(
                "SELECT md5(CAST(content AS VARCHAR)) FROM forms WHERE asset_uid = ?", [uid]).fetchone()
            changed = before is None or before != after
            if changed:
                mark_stale(self.conn, uid)
        return changed

    def data_versions(self, asset_uid: str) -> set[str]:
        """The ``__version__`` values of the form's live raw rows."""
        return {row[0] for row in self.conn.execute("""
            SELECT DISTINCT version FROM raw_submissions
            WHERE asset_uid = ? AND superseded_at IS NULL AND deleted_at IS NULL
              AND version IS NOT NULL
        """, [asset_uid]).fetchall()}

    def fetched_versions(self, asset_uid: str) -> set[str]:
        """The versions whose content was fetched already (or that the server did not know)."""
        return {row[0] for row in self.conn.execute(
            "SELECT version_uid FROM form_versions WHERE asset_uid = ?", [asset_uid]).fetchall()}

    def keep_version(self, asset_uid: str, version_uid: str, content: dict[str, Any] | None,
                     date_modified: str | None) -> None:
        """Keep one version's content (None: the server does not know the version); a content
        kept for the first time marks staging stale in the same transaction, as the tables may
        gain columns from it."""
        text = None if content is None else json.dumps(content, sort_keys=True, ensure_ascii=False)
        with transaction(self.conn):
            self.conn.execute("""
                INSERT INTO form_versions VALUES (?, ?, ?, ?, now())
                ON CONFLICT (asset_uid, version_uid) DO UPDATE SET content = excluded.content,
                    date_modified = excluded.date_modified, fetched_at = excluded.fetched_at
            """, [asset_uid, version_uid, text, date_modified])
            if content is not None:
                mark_stale(self.conn, asset_uid)

    def version_contents(self, asset_uid: str, version_uids: set[str]) -> list[dict[str, Any]]:
        """The kept contents of those versions, newest first."""
        if not version_uids:
            return []
        rows = self.conn.execute("""
            SELECT CAST(content AS VARCHAR) FROM form_versions
            WHERE asset_uid = ? AND content IS NOT NULL AND list_contains(?, version_uid)
            ORDER BY date_modified DESC NULLS LAST, version_uid
        """, [asset_uid, sorted(version_uids)]).fetchall()
        return [json.loads(row[0]) for row in rows]

    def needs_rebuild(self, schema: Any) -> bool:
        """True when the form's staging tables are missing, were built for another shape of the
        form, or are older than its raw rows."""
        return not is_current(self.conn, schema)

    def rebuild(self, schema: Any) -> StagingResult:
        """Bring the form's staging tables up to date: only the changed submissions, or the
        whole form when its shape changed."""
        return build_form_tables(self.conn, schema)


def recorded_deployments(conn: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, str, str]]:
    """form_id -> (asset uid, form version, server version id) of the latest deployment."""
    rows = conn.execute("""
        SELECT form_id, arg_max(asset_uid, deployed_at), arg_max(form_version, deployed_at),
               arg_max(version_id, deployed_at)
        FROM form_deployments GROUP BY form_id
    """).fetchall()
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


def record_deployment(conn: duckdb.DuckDBPyConnection, form_id: str, asset_uid: str,
                      form_version: str, version_id: str, action: str) -> None:
    conn.execute("INSERT INTO form_deployments VALUES (?, ?, ?, ?, ?, now())",
                 [form_id, asset_uid, form_version, version_id, action])
