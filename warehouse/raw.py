"""The raw layer: pages landed exactly as received, then loaded into ``raw_submissions``.

``raw_submissions`` holds one row per submission and version of it (asset, ``_id``, ``_uuid``),
with the payload verbatim. An edit adds a row and marks the previous one superseded; a deletion
found by reconciliation sets ``deleted_at`` and never removes the row, so a record that shows up
again (a listing that was cut short, a server restored from backup) is simply live again.
Loading pages and moving the cursor happen in one transaction, so a run killed at any point
resumes without gaps or duplicates: a page is either wholly in (and the cursor past it) or not
at all.

Pages are parsed by DuckDB straight from the landed files (``read_json_objects``), once: the
records never become Python objects. :func:`stage_page` reads one landed page into a temporary
table of the connection and tells the caller how far it reaches; :func:`commit_pages` moves the
staged records into ``raw_submissions`` and the cursor in one transaction.
"""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from aimak.errors import PageUnreadableError
from warehouse.payloads import insert_rows
from warehouse.transaction import transaction

# What the raw table needs of a record, read in one pass over it ('_id' kept as JSON to tell a
# number from a string).
RECORD_META = json.dumps({"_id": "JSON", "_uuid": "VARCHAR", "meta/rootUuid": "VARCHAR",
                          "__version__": "VARCHAR", "_submission_time": "VARCHAR",
                          "_validation_status": {"uid": "VARCHAR"}})
PAGE_SHAPE = json.dumps({"next": "VARCHAR", "results": ["JSON"]})
PENDING = "raw_pending"


@dataclass
class LoadResult:
    new: int = 0
    edited: int = 0
    unchanged: int = 0
    restored: int = 0  # rows marked deleted that came back in a page, same _uuid: live again
    quarantined: int = 0
    last_id: int | None = None

    def __iadd__(self, other: LoadResult) -> LoadResult:
        self.new += other.new
        self.edited += other.edited
        self.unchanged += other.unchanged
        self.restored += other.restored
        self.quarantined += other.quarantined
        self.last_id = other.last_id if other.last_id is not None else self.last_id
        return self


@dataclass(frozen=True)
class PageInfo:
    """How far a staged page reaches: its records, the largest integer ``_id``, a next link."""

    size: int
    last_id: int | None
    has_next: bool


def land_page(landing: Path, asset_uid: str, name: str, body: bytes) -> Path:
    """Write one page exactly as received (gzip) atomically; return its path."""
    folder = landing / asset_uid
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.ndjson.gz"
    tmp = path.with_suffix(".tmp")
    with gzip.open(tmp, "wb", compresslevel=1) as handle:
        handle.write(body)
        if not body.endswith(b"\n"):
            handle.write(b"\n")
    os.replace(tmp, path)
    return path


def set_aside(file: Path) -> Path:
    """Move a landed page that cannot be read to ``rejected/`` beside it (kept, never loaded)."""
    folder = file.parent / "rejected"
    folder.mkdir(exist_ok=True)
    target = folder / f"{file.name}.{os.getpid()}-{len(list(folder.iterdir()))}"
    os.replace(file, target)
    return target


def _ensure_pending(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(f"""
        CREATE TEMP TABLE IF NOT EXISTS {PENDING} (
            payload JSON, _id BIGINT, _uuid VARCHAR, root_uuid VARCHAR, version VARCHAR,
            submission_time VARCHAR, validation_status VARCHAR, landing_file VARCHAR,
            page_next VARCHAR)""")


def stage_page(conn: duckdb.DuckDBPyConnection, file: Path) -> PageInfo:
    """Read one landed page into the connection's pending records; nothing is committed.

    Raises :class:`PageUnreadableError` when the file is not a KoboToolbox data page (a body cut
    short, an HTML error page sent with status 200, ``results`` that is not a list)."""
    _ensure_pending(conn)
    name = str(file)
    # DuckDB sizes its read buffer from maximum_object_size: give it the page's own size (the
    # gzip trailer holds it), not a huge constant.
    with open(file, "rb") as handle:
        handle.seek(-4, os.SEEK_END)
        limit = max(int.from_bytes(handle.read(4), "little"), 1 << 16) + 16
    source = (f"(SELECT json_transform(json, '{PAGE_SHAPE}') AS page FROM read_json_objects("
              "?, format = 'auto', maximum_object_size = ?))")
    try:
        conn.execute(f"""
            INSERT INTO {PENDING}
            SELECT r, CASE WHEN json_type(m._id) IN ('UBIGINT', 'BIGINT')
                           THEN CAST(m._id AS BIGINT) END,
                   m._uuid, m."meta/rootUuid", m.__version__, m._submission_time,
                   m._validation_status.uid, ?, page_next
            FROM (SELECT r, page_next, json_transform(r, '{RECORD_META}') AS m
                  FROM (SELECT unnest(page.results) AS r, page.next AS page_next FROM {source}))
        """, [name, name, limit])
        size, last_id, page_next = conn.execute(
            f"SELECT count(*), max(_id), any_value(page_next) FROM {PENDING} WHERE landing_file = ?",
            [name]).fetchone()
        if not size:  # an empty page, or not a data page at all: look at the envelope
            ok, page_next = conn.execute(
                f"SELECT count(*) = 1 AND bool_and(page.results IS NOT NULL), any_value(page.next) "
                f"FROM {source}", [name, limit]).fetchone()
            if not ok:
                raise PageUnreadableError(
                    f"the data page landed as {name} is not a KoboToolbox data page (an object "
                    "with a 'results' list)")
    except duckdb.InvalidInputException as err:
        raise PageUnreadableError(f"the data page landed as {name} is not valid JSON "
                                  f"({str(err).splitlines()[0]})") from err
    return PageInfo(size, last_id, bool(page_next) and size > 0)


def discard_pending(conn: duckdb.DuckDBPyConnection) -> None:
    """Forget the staged records of pages that were not committed."""
    conn.execute(f"DROP TABLE IF EXISTS {PENDING}")


def commit_pages(conn: duckdb.DuckDBPyConnection, asset_uid: str, form_id: str,
                 advance_cursor: bool = True) -> LoadResult:
    """Move the staged records into raw_submissions (and the cursor past them) in one transaction.

    A record that is not an object, has no integer ``_id`` or no ``_uuid`` goes to ``quarantine``
    with the reason; the cursor still moves past every integer ``_id`` seen, so a bad record is
    quarantined once, not on every run."""
    _ensure_pending(conn)
    result = LoadResult()
    with transaction(conn):
        conn.execute(f"""
            CREATE OR REPLACE TEMP TABLE incoming AS
            SELECT payload, _id, _uuid, root_uuid, version, TRY_CAST(submission_time AS TIMESTAMP) AS submission_time,
                   validation_status, md5(payload) AS payload_hash, landing_file
            FROM {PENDING}
            QUALIFY row_number() OVER (PARTITION BY _id, _uuid ORDER BY landing_file DESC) = 1
                 OR _id IS NULL OR _uuid IS NULL""")
        result.quarantined = conn.execute("""
            INSERT INTO quarantine
            SELECT ?, ?, _id, _uuid,
                   CASE WHEN json_type(payload) <> 'OBJECT' THEN 'record is not a JSON object'
                        WHEN _id IS NULL THEN 'record has no integer _id'
                        ELSE 'record has no _uuid' END,
                   CAST(payload AS VARCHAR), landing_file, now()
            FROM incoming WHERE _id IS NULL OR _uuid IS NULL
        """, [asset_uid, form_id]).fetchone()[0]
        counts = conn.execute("""
            WITH cur AS (SELECT _id, _uuid, deleted_at FROM raw_submissions
                         WHERE asset_uid = ? AND superseded_at IS NULL)
            SELECT count(*) FILTER (WHERE cur._id IS NULL),
                   count(*) FILTER (WHERE cur._id IS NOT NULL AND cur._uuid <> i._uuid),
                   count(*) FILTER (WHERE cur._uuid = i._uuid AND cur.deleted_at IS NULL),
                   count(*) FILTER (WHERE cur._uuid = i._uuid AND cur.deleted_at IS NOT NULL)
            FROM (SELECT * FROM incoming WHERE _id IS NOT NULL AND _uuid IS NOT NULL) i
            LEFT JOIN cur ON cur._id = i._id
        """, [asset_uid]).fetchone()
        result.new, result.edited, result.unchanged, result.restored = counts
        result.last_id = conn.execute("SELECT max(_id) FROM incoming").fetchone()[0]
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
        if result.new or result.edited or result.restored:
            mark_stale(conn, asset_uid)
        conn.execute("DROP TABLE incoming")
        conn.execute(f"DELETE FROM {PENDING}")
    return result


def load_page(conn: duckdb.DuckDBPyConnection, asset_uid: str, form_id: str,
              files: Path | list[Path], advance_cursor: bool = True) -> LoadResult:
    """Stage landed pages and commit them (and move the cursor) in one transaction."""
    files = [files] if isinstance(files, Path) else list(files)
    discard_pending(conn)
    for file in files:
        stage_page(conn, file)
    return commit_pages(conn, asset_uid, form_id, advance_cursor)


def mark_stale(conn: duckdb.DuckDBPyConnection, asset_uid: str, stale: bool = True) -> None:
    """Note that the form's staging tables no longer match its raw rows (``stale=False``: that
    they were just rebuilt). Inside the caller's transaction, so the mark and the change it
    records commit together."""
    conn.execute("""
        INSERT INTO staging_state VALUES (?, ?, now())
        ON CONFLICT (asset_uid) DO UPDATE SET stale = excluded.stale, changed_at = excluded.changed_at
    """, [asset_uid, stale])


def is_stale(conn: duckdb.DuckDBPyConnection, asset_uid: str) -> bool:
    row = conn.execute("SELECT stale FROM staging_state WHERE asset_uid = ?", [asset_uid]).fetchone()
    return row is None or bool(row[0])


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
    """What the server's listing of live records says about the form's current raw rows.

    Nothing is deleted by :func:`reconcile`: the rows the listing does not show are returned as
    ``missing_ids`` for the caller to judge (a listing cut short by a proxy or a token with
    partial permissions looks exactly like mass deletion) and to pass to :func:`mark_deleted`."""

    validation_changed: int
    restored: int  # rows marked deleted that the listing shows again, same _uuid: live again
    changed_ids: list[int]  # to fetch again: edited (another _uuid), or never loaded at all
    missing_ids: list[int]  # live rows the listing does not show
    live: int  # live rows, before any deletion
    reach: int  # the largest _id of those live rows (0: none)


LISTING_COLUMNS = [("_id", "BIGINT"), ("_uuid", "VARCHAR"), ("validation_status", "VARCHAR")]


def reconcile(conn: duckdb.DuckDBPyConnection, asset_uid: str,
              listing: list[tuple[int, str, str | None]], up_to_id: int) -> Reconciliation:
    """Compare the server's (``_id``, ``_uuid``, validation uid) listing with the current raw rows.

    Rows marked deleted that the listing shows again with the same ``_uuid`` are restored; rows
    whose validation status changed are updated; the ids whose ``_uuid`` changed (edits, also of
    rows marked deleted) and the listed ids up to ``up_to_id`` (the data pull's reach) that were
    never loaded are returned to be fetched again (newer ones arrived after the pull); every live
    row the listing does not show is returned, not deleted (a form started over may hold rows
    beyond the new pull's reach, and they are judged too).
    """
    with transaction(conn):
        conn.execute("CREATE OR REPLACE TEMP TABLE server_listing (_id BIGINT, _uuid VARCHAR, "
                     "validation_status VARCHAR)")
        insert_rows(conn, "server_listing", LISTING_COLUMNS, listing)
        restored = conn.execute("""
            UPDATE raw_submissions AS r SET deleted_at = NULL
            FROM server_listing s
            WHERE r.asset_uid = ? AND r._id = s._id AND r._uuid = s._uuid
              AND r.superseded_at IS NULL AND r.deleted_at IS NOT NULL
        """, [asset_uid]).fetchone()[0]
        changed = [row[0] for row in conn.execute("""
            SELECT r._id FROM raw_submissions r JOIN server_listing s ON s._id = r._id
            WHERE r.asset_uid = ? AND r.superseded_at IS NULL AND r._uuid <> s._uuid
            UNION
            SELECT s._id FROM server_listing s
            WHERE s._id <= ? AND NOT EXISTS (SELECT 1 FROM raw_submissions r
                                             WHERE r.asset_uid = ? AND r._id = s._id)
            ORDER BY 1
        """, [asset_uid, up_to_id, asset_uid]).fetchall()]
        validation = conn.execute("""
            UPDATE raw_submissions AS r SET validation_status = s.validation_status
            FROM server_listing s
            WHERE r.asset_uid = ? AND r._id = s._id AND r._uuid = s._uuid
              AND r.superseded_at IS NULL
              AND r.validation_status IS DISTINCT FROM s.validation_status
        """, [asset_uid]).fetchone()[0]
        live, reach, missing = conn.execute("""
            SELECT count(*), coalesce(max(_id), 0),
                   list(_id ORDER BY _id) FILTER (WHERE _id NOT IN (SELECT _id FROM server_listing))
            FROM raw_submissions
            WHERE asset_uid = ? AND superseded_at IS NULL AND deleted_at IS NULL
        """, [asset_uid]).fetchall()[0]
        conn.execute("DROP TABLE server_listing")
        if restored or validation:
            mark_stale(conn, asset_uid)
    return Reconciliation(validation, restored, changed, list(missing or []), live, reach)


def mark_deleted(conn: duckdb.DuckDBPyConnection, asset_uid: str, ids: list[int]) -> int:
    """Mark these live rows deleted (``deleted_at``; the rows stay, and come back if a later
    listing shows them again); return how many were marked."""
    if not ids:
        return 0
    with transaction(conn):
        deleted = conn.execute("""
            UPDATE raw_submissions SET deleted_at = now()
            WHERE asset_uid = ? AND superseded_at IS NULL AND deleted_at IS NULL
              AND _id IN (SELECT unnest(CAST(? AS BIGINT[])))
        """, [asset_uid, ids]).fetchone()[0]
        if deleted:
            mark_stale(conn, asset_uid)
    return deleted


def forget_cursor(conn: duckdb.DuckDBPyConnection, asset_uid: str) -> None:
    """Start the form over: its cursor goes back to the first record and its staging tables are
    marked stale, in one transaction; its raw rows (with their history) stay."""
    with transaction(conn):
        conn.execute("DELETE FROM sync_cursor WHERE asset_uid = ?", [asset_uid])
        mark_stale(conn, asset_uid)
