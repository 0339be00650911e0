"""Staging tables of one form, brought up to date with its raw rows by SQL inside DuckDB.

For a form described by ``etl.normalize.FormSchema`` this writes, in one transaction:
``submissions_<form_id>`` (one typed row per live submission), ``repeat_<form_id>__<repeat>``
(linked as KoboToolbox's own export links them: ``_index``, ``_parent_index``,
``_parent_table_name``, ``_submission__id``), the form's rows of ``answers`` (long),
``select_multiple`` (bridge), ``labels`` and ``schema_notes``. A submission whose values cannot be
typed goes to ``quarantine`` with the reason and is left out of the tables; the rest goes on.

A build costs what changed. The submissions that differ between the raw rows and the tables
(new, edited, deleted, validation changed: found by comparing ``_id``, ``_uuid`` and validation
status, so nothing else has to remember them) are deleted from every table of the form and
inserted again; the rest is not touched. The whole form is rebuilt when its shape changed: its
content or an older version's, the payload keys no question has (extra columns), or the code
(``SHAPE``); ``staging_shape`` records what the tables were built for. Either way the tables
are the same as a rebuild from nothing, which is what makes the incremental build safe to use.

``_index`` is therefore stable, not a row number: a submission's ``_index`` is its ``_id``, a
repeat instance's is built from its submission's ``_id`` (``warehouse.payloads``), and
``_parent_index`` is the parent row's ``_index``, as in KoboToolbox's export.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb

from warehouse.names import keep_table_names, table_names
from warehouse.payloads import (
    LAST_META,
    META_COLUMNS,
    bad_values,
    insert_rows,
    lit,
    q,
    read_levels,
    typed_columns,
    value_of,
)
from warehouse.raw import is_stale, mark_stale
from warehouse.transaction import transaction

if TYPE_CHECKING:
    from etl.normalize import FormSchema, Table

SHAPE = "2"  # what the code makes of a form; a new value rebuilds every form in full once
NOT_EXTRA = {"_id", "_uuid", "_submission_time", "__version__", "_submitted_by", "_status",
             "meta/instanceID", "meta/rootUuid", "meta/deprecatedID", "formhub/uuid",
             "_validation_status", "_attachments", "_geolocation", "_tags", "_notes",
             "_xform_id_string", "_bamboo_dataset_id", "_supplementalDetails", "meta/instanceName",
             "meta/audit"}


@dataclass
class StagingResult:
    submissions: int  # live submissions in the tables
    quarantined: int  # submissions set aside by this build
    tables: list[str]
    full: bool = True  # rebuilt whole (False: only the changed submissions)
    restaged: int = 0  # submissions deleted and/or inserted again


def build_form_tables(conn: duckdb.DuckDBPyConnection, schema: FormSchema,
                      full: bool = False) -> StagingResult:
    """Bring every staging table of the form up to date with raw_submissions, atomically, and
    clear the form's stale mark in the same transaction (``full``: rebuild whole anyway)."""
    with transaction(conn):
        schema = table_names(conn, schema)
        keep_table_names(conn, schema)
        result = _build(conn, schema, full)
        mark_stale(conn, schema.asset_uid, stale=False)
    return result


def is_current(conn: duckdb.DuckDBPyConnection, schema: FormSchema) -> bool:
    """True when the form's tables exist, were built for this shape and nothing changed since."""
    schema = table_names(conn, schema)
    shape = conn.execute("SELECT fingerprint FROM staging_shape WHERE asset_uid = ?",
                         [schema.asset_uid]).fetchone()
    return (_tables_exist(conn, schema) and shape is not None and shape[0] == _fingerprint(schema)
            and not is_stale(conn, schema.asset_uid))


def forget_shape(conn: duckdb.DuckDBPyConnection, asset_uid: str) -> None:
    """Forget what the form's tables were built for: its next build rebuilds them whole."""
    conn.execute("DELETE FROM staging_shape WHERE asset_uid = ?", [asset_uid])


def _fingerprint(schema: FormSchema) -> str:
    return hashlib.sha256(f"{SHAPE}|{schema!r}".encode()).hexdigest()


def _tables_exist(conn: duckdb.DuckDBPyConnection, schema: FormSchema) -> bool:
    found = {row[0] for row in conn.execute(
        "SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()}
    return {t.name for t in schema.tables} <= found


def _build(conn: duckdb.DuckDBPyConnection, schema: FormSchema, full: bool) -> StagingResult:
    uid = schema.asset_uid
    # a view, not a copy: the payloads are read where they are stored
    conn.execute(f"""
        CREATE OR REPLACE TEMP VIEW stg_live AS
        SELECT _id, _uuid, validation_status, payload FROM raw_submissions
        WHERE asset_uid = {lit(uid)} AND superseded_at IS NULL AND deleted_at IS NULL
    """)
    known = sorted(NOT_EXTRA | {k for f in schema.main.fields for k in f.keys}
                   | {p for t in schema.tables for p in t.paths})
    shape = conn.execute("SELECT fingerprint, extras FROM staging_shape WHERE asset_uid = ?",
                         [uid]).fetchone()
    fingerprint = _fingerprint(schema)
    full = full or shape is None or shape[0] != fingerprint or not _tables_exist(conn, schema)
    if not full:
        _find_changes(conn, schema)
        extras = _extras_after_changes(conn, uid, known)
        full = extras != list(shape[1])
    if full:
        conn.execute("CREATE OR REPLACE TEMP VIEW stg_scope AS SELECT * FROM stg_live")
        conn.execute("DELETE FROM staging_extra_keys WHERE asset_uid = ?", [uid])
        _keep_extra_keys(conn, uid, known)
        extras = [row[0] for row in conn.execute(
            "SELECT DISTINCT key FROM staging_extra_keys WHERE asset_uid = ? ORDER BY key",
            [uid]).fetchall()]
        restaged = conn.execute("SELECT count(*) FROM stg_live").fetchone()[0]
    else:
        gone = "SELECT _id FROM stg_changed WHERE built"
        conn.execute(f"DELETE FROM staging_extra_keys WHERE asset_uid = ? AND _id IN ({gone})", [uid])
        conn.execute("INSERT INTO staging_extra_keys SELECT ?, _id, key FROM stg_new_keys", [uid])
        restaged = conn.execute("SELECT count(*) FROM stg_changed").fetchone()[0]

    levels = read_levels(conn, schema, extras)
    quarantined = _quarantine(conn, schema, levels, full)
    if not full:
        _delete_changed(conn, schema)
    for table in schema.tables:
        _write_table(conn, schema, table, levels[table.path], extras if table.path == "" else [], full)
    _write_long(conn, schema, levels, full)
    if full:
        _write_labels_and_notes(conn, schema)
    conn.execute("""
        INSERT INTO staging_shape VALUES (?, ?, ?)
        ON CONFLICT (asset_uid) DO UPDATE SET fingerprint = excluded.fingerprint, extras = excluded.extras
    """, [uid, fingerprint, extras])
    submissions = conn.execute(f"SELECT count(*) FROM {q(schema.main.name)}").fetchone()[0]
    for view in ("stg_scope", "stg_live"):
        conn.execute(f"DROP VIEW IF EXISTS {view}")
    for tmp in [*levels.values(), "stg_bad", "stg_changed", "stg_changed_rows", "stg_new_keys"]:
        conn.execute(f"DROP TABLE IF EXISTS {tmp}")
    return StagingResult(submissions, quarantined, [t.name for t in schema.tables], full, restaged)


def _find_changes(conn: duckdb.DuckDBPyConnection, schema: FormSchema) -> None:
    """``stg_changed``: the ids whose tables differ from the raw rows (``built``: the tables
    hold them now); ``stg_scope``: the live raw rows of those ids."""
    conn.execute(f"""
        CREATE OR REPLACE TEMP TABLE stg_changed AS
        WITH built AS (
            SELECT _id, _uuid, _validation_status AS status, false AS set_aside
            FROM {q(schema.main.name)}
            UNION ALL
            SELECT _id, _uuid, NULL, true FROM quarantine
            WHERE asset_uid = {lit(schema.asset_uid)} AND landing_file IS NULL)
        SELECT coalesce(l._id, b._id) AS _id, b._id IS NOT NULL AS built
        FROM stg_live l FULL JOIN built b ON b._id = l._id
        WHERE l._id IS NULL OR b._id IS NULL OR l._uuid <> b._uuid
           OR (NOT b.set_aside AND l.validation_status IS DISTINCT FROM b.status)
    """)
    conn.execute("""
        CREATE OR REPLACE TEMP TABLE stg_changed_rows AS
        SELECT * FROM stg_live WHERE _id IN (SELECT _id FROM stg_changed)
    """)
    conn.execute("CREATE OR REPLACE TEMP VIEW stg_scope AS SELECT * FROM stg_changed_rows")


def _unknown_keys(known: list[str]) -> str:
    return (f"SELECT _id, key FROM (SELECT _id, unnest(json_keys(payload)) AS key FROM stg_scope) "
            f"WHERE NOT list_contains([{', '.join(lit(k) for k in known)}]::VARCHAR[], key)")


def _keep_extra_keys(conn: duckdb.DuckDBPyConnection, uid: str, known: list[str]) -> None:
    conn.execute(f"INSERT INTO staging_extra_keys SELECT ?, _id, key FROM ({_unknown_keys(known)})",
                 [uid])


def _extras_after_changes(conn: duckdb.DuckDBPyConnection, uid: str, known: list[str]) -> list[str]:
    """The extra columns the tables need once the changes are in (``stg_new_keys``: the keys no
    question has, of the changed submissions' payloads)."""
    conn.execute(f"CREATE OR REPLACE TEMP TABLE stg_new_keys AS {_unknown_keys(known)}")
    return [row[0] for row in conn.execute("""
        SELECT key FROM staging_extra_keys
        WHERE asset_uid = ? AND _id NOT IN (SELECT _id FROM stg_changed)
        UNION SELECT key FROM stg_new_keys ORDER BY key
    """, [uid]).fetchall()]


def _quarantine(conn: duckdb.DuckDBPyConnection, schema: FormSchema, levels: dict[str, str],
                full: bool) -> int:
    """Set aside (``stg_bad`` and ``quarantine``) the submissions in scope that cannot be typed;
    return how many."""
    bad: list[tuple[int, str]] = []
    # a repeat that is not a list cannot be read: quarantine it rather than lose it silently
    for child in schema.children(schema.main):
        for path in child.paths:
            rows = conn.execute(f"""
                SELECT _id FROM stg_scope
                WHERE json_extract(payload, {lit('$.' + json.dumps(path))}) IS NOT NULL
                  AND json_type(json_extract(payload, {lit('$.' + json.dumps(path))})) <> 'ARRAY'
            """).fetchall()
            bad += [(r[0], f"repeat '{path}' is not a list") for r in rows]
    for table in schema.tables:
        bad += bad_values(conn, levels[table.path], table)
    conn.execute("CREATE OR REPLACE TEMP TABLE stg_bad (_id BIGINT, reason VARCHAR)")
    insert_rows(conn, "stg_bad", [("_id", "BIGINT"), ("reason", "VARCHAR")], bad)
    uid = schema.asset_uid
    if full:
        conn.execute("DELETE FROM quarantine WHERE asset_uid = ? AND landing_file IS NULL", [uid])
    else:
        conn.execute("DELETE FROM quarantine WHERE asset_uid = ? AND landing_file IS NULL "
                     "AND _id IN (SELECT _id FROM stg_changed)", [uid])
    conn.execute("""
        INSERT INTO quarantine
        SELECT ?, ?, b._id, c._uuid, string_agg(b.reason, '; ' ORDER BY b.reason),
               CAST(any_value(c.payload) AS VARCHAR), NULL, now()
        FROM stg_bad b JOIN stg_scope c USING (_id) GROUP BY b._id, c._uuid
    """, [uid, schema.form_id])
    return conn.execute("SELECT count(DISTINCT _id) FROM stg_bad").fetchone()[0]


def _select(columns: list[tuple[str, str]]) -> str:
    """The select list, each column named once: DuckDB compares names without case, so a later
    column whose name is taken gets '__2', '__3', … (rather than DuckDB's silent '_1')."""
    used: set[str] = set()
    out = []
    for name, expr in columns:
        final, n = name, 2
        while final.lower() in used:
            final, n = f"{name}__{n}", n + 1
        used.add(final.lower())
        out.append(f"{expr} AS {q(final)}")
    return ", ".join(out)


def _write_table(conn: duckdb.DuckDBPyConnection, schema: FormSchema, table: Table, tmp: str,
                 extras: list[str], full: bool) -> None:
    columns = [("_index", "_index")]
    if table.path == "":
        columns.append(("_id", "_submission__id"))
        for f in table.fields:
            columns += typed_columns(f, schema)
        columns += [(key, f"r.{q(key)}") for key in extras]
        meta = [(column, f"TRY_CAST(r.{q(key)} AS {sqltype})" if sqltype else f"r.{q(key)}")
                for key, column, sqltype in META_COLUMNS + LAST_META]
        columns += [*meta[:len(META_COLUMNS)], ("_validation_status", "validation_status"),
                    *meta[len(META_COLUMNS):]]
    else:
        parent = schema.table(table.parent or "")
        columns += [("_parent_index", "_parent_index"), ("_parent_table_name", lit(parent.name)),
                    ("_submission__id", "_submission__id")]
        for f in table.fields:
            columns += typed_columns(f, schema)
    select = f"""SELECT {_select(columns)} FROM {tmp}
                 WHERE _submission__id NOT IN (SELECT _id FROM stg_bad)"""
    if full:
        conn.execute(f"CREATE OR REPLACE TABLE {q(table.name)} AS {select} ORDER BY _index")
    else:
        conn.execute(f"INSERT INTO {q(table.name)} BY NAME {select}")


def _delete_changed(conn: duckdb.DuckDBPyConnection, schema: FormSchema) -> None:
    """Delete the changed submissions that the tables hold now from every table of the form."""
    if not conn.execute("SELECT count(*) FROM stg_changed WHERE built").fetchone()[0]:
        return  # only new submissions: nothing to delete
    gone = "(SELECT _id FROM stg_changed WHERE built)"
    for table in schema.tables:
        key = "_id" if table.path == "" else "_submission__id"
        conn.execute(f"DELETE FROM {q(table.name)} WHERE {key} IN {gone}")
    for name in ("answers", "select_multiple"):
        conn.execute(f"DELETE FROM {name} WHERE asset_uid = ? AND submission_id IN {gone}",
                     [schema.asset_uid])


def _write_long(conn: duckdb.DuckDBPyConnection, schema: FormSchema, levels: dict[str, str],
                full: bool) -> None:
    """The form's rows of ``answers`` (one per answered question, value as sent) and of the
    ``select_multiple`` bridge (one per chosen choice), for the submissions in scope."""
    uid, form = lit(schema.asset_uid), lit(schema.form_id)
    if full:
        for name in ("answers", "select_multiple"):
            conn.execute(f"DELETE FROM {name} WHERE asset_uid = ?", [schema.asset_uid])
    for table in schema.tables:
        if not table.fields:
            continue
        tmp, path = levels[table.path], lit(table.path)
        good = "_submission__id NOT IN (SELECT _id FROM stg_bad)"
        values = ", ".join(f"{value_of(f.keys)} AS {q(f.column)}" for f in table.fields)
        conn.execute(f"""
            INSERT INTO answers BY NAME
            SELECT {uid} AS asset_uid, {form} AS form_id, _submission__id AS submission_id,
                   {path} AS repeat_path, _index, question, value,
                   TRY_CAST(value AS DOUBLE) AS value_numeric
            FROM (UNPIVOT (SELECT _submission__id, _index, {values} FROM {tmp} WHERE {good})
                  ON COLUMNS(* EXCLUDE (_submission__id, _index))
                  INTO NAME question VALUE value)
        """)
        for f in (f for f in table.fields if f.kind == "select_multiple"):
            conn.execute(f"""
                INSERT INTO select_multiple BY NAME
                SELECT {uid} AS asset_uid, {form} AS form_id, _submission__id AS submission_id,
                       {path} AS repeat_path, _index, {lit(f.column)} AS question, choice
                FROM (SELECT _submission__id, _index,
                             unnest(string_split({value_of(f.keys)}, ' ')) AS choice
                      FROM {tmp} WHERE {good})
                WHERE choice <> ''
            """)


def _write_labels_and_notes(conn: duckdb.DuckDBPyConnection, schema: FormSchema) -> None:
    uid, form = schema.asset_uid, schema.form_id
    rows = []
    for table in schema.tables:
        for f in table.fields:
            for lang, label in f.labels.items():
                rows.append((uid, form, table.path, f.column, None, lang, label))
            for choice, labels in schema.choices.get(f.list_name or "", ()) if f.list_name else ():
                for lang, label in labels.items():
                    rows.append((uid, form, table.path, f.column, choice, lang, label))
    conn.execute("DELETE FROM labels WHERE asset_uid = ?", [uid])
    insert_rows(conn, "labels", [(name, "VARCHAR") for name in (
        "asset_uid", "form_id", "repeat_path", "question", "choice", "language", "label")], rows)
    conn.execute("DELETE FROM schema_notes WHERE asset_uid = ?", [uid])
    for note in schema.notes:
        conn.execute("INSERT INTO schema_notes VALUES (?, ?, ?, ?, ?, ?)",
                     [uid, form, schema.table(note.path).name, note.question, list(note.columns),
                      note.text()])
