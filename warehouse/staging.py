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

``_index`` is therefore stable, not a row number: a submission's ``_index`` is its ``_id``, and a
repeat instance's is its submission's ``_id`` × 1,000,000 + its number within that submission in
the table (in the order of the parent instances, then of the answers). ``_parent_index`` is the
parent row's ``_index``, as in KoboToolbox's export.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from warehouse.names import keep_table_names, table_names
from warehouse.raw import is_stale, mark_stale
from warehouse.transaction import transaction

if TYPE_CHECKING:
    from etl.normalize import Field, FormSchema, Table

SHAPE = "2"  # what the code makes of a form; a new value rebuilds every form in full once
ID_SPAN = 1_000_000  # a repeat instance's _index: _submission__id * ID_SPAN + its number
CASTS = {"integer": "BIGINT", "decimal": "DOUBLE", "date": "DATE", "datetime": "TIMESTAMPTZ",
         "time": "TIMETZ"}
META_COLUMNS = [  # payload key, column, SQL type (after the questions, in this order)
    ("_uuid", "_uuid", None), ("_submission_time", "_submission_time", "TIMESTAMP"),
    ("__version__", "__version__", None), ("_submitted_by", "_submitted_by", None),
    ("_status", "_status", None), ("meta/instanceID", "_instance_id", None),
    ("meta/rootUuid", "_root_uuid", None), ("formhub/uuid", "_formhub_uuid", None),
]
LAST_META = [("meta/deprecatedID", "_deprecated_id", None)]  # after _validation_status
NOT_EXTRA = {"_id", "_uuid", "_submission_time", "__version__", "_submitted_by", "_status",
             "meta/instanceID", "meta/rootUuid", "meta/deprecatedID", "formhub/uuid",
             "_validation_status", "_attachments", "_geolocation", "_tags", "_notes",
             "_xform_id_string", "_bamboo_dataset_id", "_supplementalDetails", "meta/instanceName",
             "meta/audit"}


def q(name: str) -> str:
    """Quote an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    """Quote an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


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

    levels = _read_levels(conn, schema, extras)
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


def _value(keys: tuple[str, ...]) -> str:
    """A question's value: from whichever of its paths the submission's version used."""
    values = [f"r.{q(k)}" for k in keys]
    return values[0] if len(values) == 1 else f"coalesce({', '.join(values)})"


def _spec(schema: FormSchema, table: Table, extra: list[str]) -> dict:
    """The json_transform structure of one level: every value as text, repeats as lists."""
    spec: dict = {}
    if table.path == "":
        spec.update({key: "VARCHAR" for key, _c, _t in META_COLUMNS + LAST_META})
        spec.update({key: "VARCHAR" for key in extra})
    for f in table.fields:
        spec.update(dict.fromkeys(f.keys, "VARCHAR"))
    for child in schema.children(table):
        spec.update(dict.fromkeys(child.paths, [_spec(schema, child, [])]))
    return spec


def _read_levels(conn: duckdb.DuckDBPyConnection, schema: FormSchema,
                 extras: list[str]) -> dict[str, str]:
    """Read the payloads in scope into one temporary table per level (the submissions, then each
    repeat), each row a struct ``r`` of text values; return the temporary table of each path."""
    spec = json.dumps(_spec(schema, schema.main, extras))
    conn.execute(f"""
        CREATE OR REPLACE TEMP TABLE stg_level_0 AS
        SELECT _id AS _index, _id AS _submission__id, _uuid, validation_status,
               json_transform(payload, {lit(spec)}) AS r
        FROM stg_scope
    """)
    levels = {"": "stg_level_0"}
    for table in schema.tables[1:]:
        tmp = f"stg_level_{len(levels)}"
        repeat = _value(table.paths)
        conn.execute(f"""
            CREATE OR REPLACE TEMP TABLE {tmp} AS
            SELECT _submission__id * {ID_SPAN} + row_number() OVER (
                       PARTITION BY _submission__id ORDER BY _parent_index, _position) AS _index,
                   * FROM (
                SELECT _submission__id, _index AS _parent_index, unnest({repeat}) AS r,
                       unnest(range(1, len({repeat}) + 1)) AS _position
                FROM {levels[table.parent]} WHERE {repeat} IS NOT NULL)
        """)
        levels[table.path] = tmp
    return levels


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
        bad += _bad_values(conn, levels[table.path], table)
    conn.execute("CREATE OR REPLACE TEMP TABLE stg_bad (_id BIGINT, reason VARCHAR)")
    if bad:
        conn.register("stg_bad_frame", pd.DataFrame(bad, columns=["_id", "reason"]))
        conn.execute("INSERT INTO stg_bad SELECT * FROM stg_bad_frame")
        conn.unregister("stg_bad_frame")
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


def _bad_values(conn: duckdb.DuckDBPyConnection, tmp: str, table: Table) -> list[tuple[int, str]]:
    checks = []
    if table.path:  # more instances than an _index can number within one submission
        checks.append(f"SELECT DISTINCT _submission__id, {lit(f'repeat {table.path!r} has more than {ID_SPAN - 1} instances')} "
                      f"FROM {tmp} WHERE _index % {ID_SPAN} = 0")
    for f in table.fields:
        value = _value(f.keys)
        if f.kind in CASTS:
            test = f"TRY_CAST({_date_text(f, value)} AS {CASTS[f.kind]}) IS NULL"
        elif f.kind == "geopoint":
            test = (f"(len(string_split({value}, ' ')) < 2 OR list_bool_or(list_transform("
                    f"string_split({value}, ' ')[1:4], lambda x: TRY_CAST(x AS DOUBLE) IS NULL)))")
        else:
            continue
        checks.append(f"SELECT _submission__id, {lit(f'{f.xpath}: {f.kind} expected, got ')} "
                      f"|| {value} FROM {tmp} WHERE {value} IS NOT NULL AND {test}")
    if not checks:
        return []
    return conn.execute(" UNION ALL ".join(checks)).fetchall()


def _date_text(f: Field, value: str) -> str:
    # 'today' can arrive as a full dateTime from some clients: keep the date part
    return f"left({value}, 10)" if f.kind == "date" else value


def _columns(f: Field, schema: FormSchema) -> list[tuple[str, str]]:
    """(column, SQL expression) of one question: typed, a geopoint split, a select_multiple
    with one 0/1 column per choice."""
    value = _value(f.keys)
    if f.kind in CASTS:
        return [(f.column, f"TRY_CAST({_date_text(f, value)} AS {CASTS[f.kind]})")]
    if f.kind == "geopoint":
        parts = f"string_split({value}, ' ')"
        return [(f.column, value)] + [
            (f"{f.column}_{part}", f"TRY_CAST({parts}[{i}] AS DOUBLE)")
            for i, part in enumerate(("latitude", "longitude", "altitude", "accuracy"), start=1)]
    if f.kind == "select_multiple":
        return [(f.column, value)] + [
            (f"{f.column}/{choice}", f"CASE WHEN {value} IS NULL THEN NULL ELSE list_contains("
                                     f"string_split({value}, ' '), {lit(choice)})::INTEGER END")
            for choice, _labels in schema.choices.get(f.list_name or "", ())]
    return [(f.column, value)]


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
            columns += _columns(f, schema)
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
            columns += _columns(f, schema)
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
        values = ", ".join(f"{_value(f.keys)} AS {q(f.column)}" for f in table.fields)
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
                             unnest(string_split({_value(f.keys)}, ' ')) AS choice
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
    if rows:
        frame = pd.DataFrame(rows, columns=["asset_uid", "form_id", "repeat_path", "question",
                                            "choice", "language", "label"])
        conn.register("labels_frame", frame)
        conn.execute("INSERT INTO labels BY NAME SELECT * FROM labels_frame")
        conn.unregister("labels_frame")
    conn.execute("DELETE FROM schema_notes WHERE asset_uid = ?", [uid])
    for note in schema.notes:
        conn.execute("INSERT INTO schema_notes VALUES (?, ?, ?, ?, ?, ?)",
                     [uid, form, schema.table(note.path).name, note.question, list(note.columns),
                      note.text()])
