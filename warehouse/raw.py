"""The raw layer: pages landed exactly as received, then loaded into ``raw_submissions``.

``raw_submissions`` holds one row per submission and version of it (asset, ``_id``, ``_uuid``),
with the payload verbatim. An edit adds a row and marks the previous one superseded; a deletion
found by reconciliation sets ``deleted_at`` and never removes the row. Loading a page and moving
the cursor happen in one transaction, so a run killed at any point resumes without gaps or
duplicates: a page is either wholly in (and the cursor past it) or not at all.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import orjson
import pandas as pd


@dataclass
class LoadResult:
    new: int = 0
    edited: int = 0
    unchanged: int = 0
    quarantined: int = 0
    last_id: int | None = None

    def __iadd__(self, other: LoadResult) -> LoadResult:
        self.new += other.new
        self.edited += other.edited
        self.unchanged += other.unchanged
        self.quarantined += other.quarantined
        self.last_id = other.last_id if other.last_id is not None else self.last_id
        return self


def land_page(landing: Path, asset_uid: str, name: str, body: bytes) -> Path:
    """Write one page as received (one NDJSON line, gzip) atomically; return its path."""
    folder = landing / asset_uid
    folder.mkdir(parents=True, exist_ok=True)
    if b"\n" in body.strip():  # keep one page per line: compact a pretty-printed body
        body = orjson.dumps(orjson.loads(body))
    path = folder / f"{name}.ndjson.gz"
    tmp = path.with_suffix(".tmp")
    with gzip.open(tmp, "wb", compresslevel=3) as handle:
        handle.write(body.strip() + b"\n")
    os.replace(tmp, path)
    return path


def _incoming(files: list[Path]) -> pd.DataFrame:
    """The records of landed pages with the keys the raw table needs (one parse per page)."""
    columns: dict[str, list] = {name: [] for name in (
        "payload", "_id", "_uuid", "root_uuid", "version", "submission_time", "validation_status",
        "payload_hash", "landing_file")}
    for file in files:
        with gzip.open(file, "rb") as handle:
            pages = [orjson.loads(line) for line in handle if line.strip()]
        for page in pages:
            for record in page.get("results", []) if isinstance(page, dict) else []:
                text = orjson.dumps(record)
                is_dict = isinstance(record, dict)
                get = record.get if is_dict else (lambda key: None)
                record_id = get("_id")
                status = get("_validation_status")
                columns["payload"].append(text.decode())
                columns["_id"].append(record_id if isinstance(record_id, int) and not isinstance(record_id, bool) else None)
                columns["_uuid"].append(_text(get("_uuid")))
                columns["root_uuid"].append(_text(get("meta/rootUuid")))
                columns["version"].append(_text(get("__version__")))
                columns["submission_time"].append(_text(get("_submission_time")))
                columns["validation_status"].append(_text(status.get("uid")) if isinstance(status, dict) else None)
                columns["payload_hash"].append(hashlib.md5(text).hexdigest())
                columns["landing_file"].append(str(file))
    frame = pd.DataFrame(columns)
    frame["_id"] = frame["_id"].astype("Int64")
    return frame


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def load_page(conn: duckdb.DuckDBPyConnection, asset_uid: str, form_id: str,
              files: Path | list[Path], advance_cursor: bool = True) -> LoadResult:
    """Load landed pages into raw_submissions (and move the cursor) in one transaction."""
    files = [files] if isinstance(files, Path) else list(files)
    result = LoadResult()
    if not files:
        return result
    frame = _incoming(files)
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.register("incoming_frame", frame)
        conn.execute("""
            CREATE OR REPLACE TEMP TABLE incoming AS
            SELECT CAST(payload AS JSON) AS payload, _id, _uuid, root_uuid, version,
                   TRY_CAST(submission_time AS TIMESTAMP) AS submission_time, validation_status,
                   payload_hash, landing_file
            FROM incoming_frame""")
        conn.unregister("incoming_frame")
        bad = conn.execute("""
            INSERT INTO quarantine
            SELECT ?, ?, _id, _uuid,
                   CASE WHEN _id IS NULL THEN 'record has no integer _id'
                        ELSE 'record has no _uuid' END,
                   CAST(payload AS VARCHAR), landing_file, now()
            FROM incoming WHERE _id IS NULL OR _uuid IS NULL
        """, [asset_uid, form_id]).fetchone()[0]
        result.quarantined = bad
        counts = conn.execute("""
            WITH cur AS (SELECT _id, _uuid FROM raw_submissions
                         WHERE asset_uid = ? AND superseded_at IS NULL)
            SELECT count(*) FILTER (WHERE cur._id IS NULL),
                   count(*) FILTER (WHERE cur._id IS NOT NULL AND cur._uuid <> i._uuid),
                   count(*) FILTER (WHERE cur._uuid = i._uuid),
                   max(i._id)
            FROM (SELECT * FROM incoming WHERE _id IS NOT NULL AND _uuid IS NOT NULL) i
            LEFT JOIN cur ON cur._id = i._id
        """, [asset_uid]).fetchone()
        result.new, result.edited, result.unchanged, result.last_id = counts
        conn.execute("""
            UPDATE raw_submissions AS r SET superseded_at = now()
            FROM incoming i
            WHERE r.asset_uid = ? AND r._id = i._id AND r._uuid <> i._uuid
              AND r.superseded_at IS NULL AND i._uuid IS NOT NULL
        """, [asset_uid])
        conn.execute("""
            INSERT INTO raw_submissions
            SELECT ?, _id, _uuid, root_uuid, version, submission_time, validation_status,
                   payload, payload_hash, landing_file, now(), now(), NULL, NULL
            FROM incoming WHERE _id IS NOT NULL AND _uuid IS NOT NULL
            ON CONFLICT (asset_uid, _id, _uuid) DO UPDATE SET
                last_seen = excluded.last_seen,
                validation_status = excluded.validation_status,
                payload = excluded.payload,
                payload_hash = excluded.payload_hash,
                superseded_at = NULL,
                deleted_at = NULL
        """, [asset_uid])
        if advance_cursor and result.last_id is not None:
            set_cursor(conn, asset_uid, form_id, result.last_id)
        conn.execute("DROP TABLE incoming")
        conn.execute("COMMIT")
    except Exception:
        conn.execute("ROLLBACK")
        raise
    return result


def cursor(conn: duckdb.DuckDBPyConnection, asset_uid: str) -> int:
    row = conn.execute("SELECT last_id FROM sync_cursor WHERE asset_uid = ?", [asset_uid]).fetchone()
    return row[0] if row else 0


def set_cursor(conn: duckdb.DuckDBPyConnection, asset_uid: str, form_id: str, last_id: int) -> None:
    conn.execute("""
        INSERT INTO sync_cursor VALUES (?, ?, ?, now())
        ON CONFLICT (asset_uid) DO UPDATE SET
            last_id = greatest(sync_cursor.last_id, excluded.last_id), updated_at = excluded.updated_at
    """, [asset_uid, form_id, last_id])


@dataclass
class Reconciliation:
    deleted: int
    validation_changed: int
    changed_ids: list[int]


def reconcile(conn: duckdb.DuckDBPyConnection, asset_uid: str,
              listing: list[tuple[int, str, str | None]], up_to_id: int) -> Reconciliation:
    """Compare the server's (``_id``, ``_uuid``, validation uid) listing with the current raw rows.

    Rows missing from the listing are marked deleted; rows whose validation status changed are
    updated; the ids whose ``_uuid`` changed (edits) are returned to be fetched again. Only rows
    with ``_id`` <= ``up_to_id`` are judged: newer ones arrived after the data pull.
    """
    frame = pd.DataFrame(listing, columns=["_id", "_uuid", "validation_status"])
    frame["_id"] = frame["_id"].astype("int64")
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.register("server_listing", frame)
        deleted = conn.execute("""
            UPDATE raw_submissions SET deleted_at = now()
            WHERE asset_uid = ? AND superseded_at IS NULL AND deleted_at IS NULL AND _id <= ?
              AND _id NOT IN (SELECT _id FROM server_listing)
        """, [asset_uid, up_to_id]).fetchone()[0]
        changed = [row[0] for row in conn.execute("""
            SELECT r._id FROM raw_submissions r JOIN server_listing s ON s._id = r._id
            WHERE r.asset_uid = ? AND r.superseded_at IS NULL AND r._uuid <> s._uuid
            ORDER BY r._id
        """, [asset_uid]).fetchall()]
        validation = conn.execute("""
            UPDATE raw_submissions AS r SET validation_status = s.validation_status
            FROM server_listing s
            WHERE r.asset_uid = ? AND r._id = s._id AND r._uuid = s._uuid
              AND r.superseded_at IS NULL
              AND r.validation_status IS DISTINCT FROM s.validation_status
        """, [asset_uid]).fetchone()[0]
        conn.unregister("server_listing")
        conn.execute("COMMIT")
    except Exception:
        conn.execute("ROLLBACK")
        raise
    return Reconciliation(deleted, validation, changed)
