"""Staging tables of one form, rebuilt from its current raw rows by SQL inside DuckDB.

For a form described by ``etl.normalize.FormSchema`` this writes, in one transaction:
``submissions_<form_id>`` (one typed row per live submission), ``repeat_<form_id>__<repeat>``
(linked as KoboToolbox's own export links them: ``_index``, ``_parent_index``,
``_parent_table_name``, ``_submission__id``), the form's rows of ``answers`` (long),
``select_multiple`` (bridge) and ``labels``. A submission whose values cannot be typed goes to
``quarantine`` with the reason and is left out of the tables; the rest goes on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from warehouse.raw import mark_stale
from warehouse.transaction import transaction

if TYPE_CHECKING:
    from etl.normalize import Field, FormSchema, Table

CASTS = {"integer": "BIGINT", "decimal": "DOUBLE", "date": "DATE", "datetime": "TIMESTAMPTZ",
         "time": "TIMETZ"}
META_COLUMNS = [  # payload key, column, SQL type
    ("_uuid", "_uuid", None), ("_submission_time", "_submission_time", "TIMESTAMP"),
    ("__version__", "__version__", None), ("_submitted_by", "_submitted_by", None),
    ("_status", "_status", None), ("meta/instanceID", "_instance_id", None),
    ("meta/rootUuid", "_root_uuid", None), ("formhub/uuid", "_formhub_uuid", None),
]
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
    submissions: int
    quarantined: int
    tables: list[str]


def build_form_tables(conn: duckdb.DuckDBPyConnection, schema: FormSchema) -> StagingResult:
    """Rebuild every staging table of the form from raw_submissions, atomically."""
    with transaction(conn):
        result = _build(conn, schema)
    return result


def _children(schema: FormSchema, table: Table) -> list[Table]:
    return [t for t in schema.tables if t.parent == table.name]


def _spec(schema: FormSchema, table: Table, extra: list[str]) -> dict:
    """The json_transform structure of one level: every value as text, repeats as lists."""
    spec: dict = {}
    if table.path == "":
        spec.update({key: "VARCHAR" for key, _c, _t in META_COLUMNS})
        spec.update({key: "VARCHAR" for key in extra})
    for f in table.fields:
        spec[f.xpath] = "VARCHAR"
    for child in _children(schema, table):
        spec[child.path] = [_spec(schema, child, [])]
    return spec


def _build(conn: duckdb.DuckDBPyConnection, schema: FormSchema) -> StagingResult:
    form, uid = schema.form_id, schema.asset_uid
    # a view, not a copy: the payloads are read where they are stored
    conn.execute(f"""
        CREATE OR REPLACE TEMP VIEW stg_current AS
        SELECT _id, _uuid, validation_status, payload FROM raw_submissions
        WHERE asset_uid = {lit(uid)} AND superseded_at IS NULL AND deleted_at IS NULL
    """)
    known = {f.xpath for f in schema.main.fields} | {t.path for t in schema.tables}
    keys = [row[0] for row in conn.execute(
        "SELECT DISTINCT unnest(json_keys(payload)) AS k FROM stg_current ORDER BY k").fetchall()]
    extra = [k for k in keys if k not in known and k not in NOT_EXTRA]
    spec = json.dumps(_spec(schema, schema.main, extra))
    conn.execute(f"""
        CREATE OR REPLACE TEMP TABLE stg_level_0 AS
        SELECT k._index, c._id AS _submission__id, c._uuid, c.validation_status,
               json_transform(c.payload, {lit(spec)}) AS r
        FROM stg_current c
        JOIN (SELECT _id, row_number() OVER (ORDER BY _id) AS _index FROM stg_current) k
          USING (_id)
    """)

    bad: list[tuple[int, str]] = []
    # a repeat that is not a list cannot be read: quarantine it rather than lose it silently
    for child in _children(schema, schema.main):
        rows = conn.execute(f"""
            SELECT _id FROM stg_current
            WHERE json_extract(payload, {lit('$.' + json.dumps(child.path))}) IS NOT NULL
              AND json_type(json_extract(payload, {lit('$.' + json.dumps(child.path))})) <> 'ARRAY'
        """).fetchall()
        bad += [(r[0], f"repeat '{child.path}' is not a list") for r in rows]

    levels = {schema.main.name: "stg_level_0"}
    order = [schema.main]
    for table in schema.tables[1:]:
        parent_tmp = levels[table.parent]
        tmp = f"stg_level_{len(levels)}"
        conn.execute(f"""
            CREATE OR REPLACE TEMP TABLE {tmp} AS
            SELECT row_number() OVER (ORDER BY _submission__id, _parent_index, _position) AS _index,
                   * FROM (
                SELECT _submission__id, _index AS _parent_index,
                       unnest(r.{q(table.path)}) AS r,
                       unnest(range(1, len(r.{q(table.path)}) + 1)) AS _position
                FROM {parent_tmp} WHERE r.{q(table.path)} IS NOT NULL)
        """)
        levels[table.name] = tmp
        order.append(table)

    for table in order:
        bad += _bad_values(conn, levels[table.name], table)
    conn.execute("CREATE OR REPLACE TEMP TABLE stg_bad (_id BIGINT, reason VARCHAR)")
    if bad:
        conn.register("stg_bad_frame", pd.DataFrame(bad, columns=["_id", "reason"]))
        conn.execute("INSERT INTO stg_bad SELECT * FROM stg_bad_frame")
        conn.unregister("stg_bad_frame")
    conn.execute("DELETE FROM quarantine WHERE asset_uid = ? AND landing_file IS NULL", [uid])
    conn.execute("""
        INSERT INTO quarantine
        SELECT ?, ?, b._id, c._uuid, string_agg(b.reason, '; ' ORDER BY b.reason),
               CAST(any_value(c.payload) AS VARCHAR), NULL, now()
        FROM stg_bad b JOIN stg_current c USING (_id) GROUP BY b._id, c._uuid
    """, [uid, form])
    quarantined = conn.execute("SELECT count(DISTINCT _id) FROM stg_bad").fetchone()[0]

    for table in order:
        _write_table(conn, schema, table, levels[table.name], extra if table is schema.main else [])
    _write_long(conn, schema, order, levels)
    submissions = conn.execute(f"SELECT count(*) FROM {q(schema.main.name)}").fetchone()[0]
    for tmp in [*levels.values(), "stg_bad"]:
        conn.execute(f"DROP TABLE IF EXISTS {tmp}")
    conn.execute("DROP VIEW IF EXISTS stg_current")
    mark_stale(conn, uid, stale=False)
    return StagingResult(submissions, quarantined, [t.name for t in order])


def _bad_values(conn: duckdb.DuckDBPyConnection, tmp: str, table: Table) -> list[tuple[int, str]]:
    checks = []
    for f in table.fields:
        value = f"r.{q(f.xpath)}"
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


def _columns(f: Field, schema: FormSchema) -> list[str]:
    value = f"r.{q(f.xpath)}"
    col = q(f.column)
    if f.kind in CASTS:
        return [f"TRY_CAST({_date_text(f, value)} AS {CASTS[f.kind]}) AS {col}"]
    if f.kind == "geopoint":
        parts = f"string_split({value}, ' ')"
        out = [f"{value} AS {col}"]
        for i, part in enumerate(("latitude", "longitude", "altitude", "accuracy"), start=1):
            out.append(f"TRY_CAST({parts}[{i}] AS DOUBLE) AS {q(f'{f.column}_{part}')}")
        return out
    if f.kind == "select_multiple":
        out = [f"{value} AS {col}"]
        for choice, _labels in schema.choices.get(f.list_name or "", ()):
            out.append(f"CASE WHEN {value} IS NULL THEN NULL ELSE list_contains(string_split("
                       f"{value}, ' '), {lit(choice)})::INTEGER END AS {q(f'{f.column}/{choice}')}")
        return out
    return [f"{value} AS {col}"]


def _write_table(conn: duckdb.DuckDBPyConnection, schema: FormSchema, table: Table, tmp: str,
                 extra: list[str]) -> None:
    select = ["_index"]
    if table.path == "":
        select += ["_submission__id AS _id"]
        for f in table.fields:
            select += _columns(f, schema)
        select += [f"r.{q(key)} AS {q(key)}" for key in extra]
        for key, column, sqltype in META_COLUMNS:
            value = f"r.{q(key)}"
            select.append(f"TRY_CAST({value} AS {sqltype}) AS {q(column)}" if sqltype
                          else f"{value} AS {q(column)}")
        select.append("validation_status AS _validation_status")
    else:
        parent = lit(table.parent or "")
        select += ["_parent_index", f"{parent} AS _parent_table_name", "_submission__id"]
        for f in table.fields:
            select += _columns(f, schema)
    conn.execute(f"""
        CREATE OR REPLACE TABLE {q(table.name)} AS
        SELECT {', '.join(select)} FROM {tmp}
        WHERE _submission__id NOT IN (SELECT _id FROM stg_bad)
        ORDER BY _index
    """)


def _write_long(conn: duckdb.DuckDBPyConnection, schema: FormSchema, order: list[Table],
                levels: dict[str, str]) -> None:
    form = schema.form_id
    for name in ("answers", "select_multiple", "labels"):
        conn.execute(f"DELETE FROM {name} WHERE form_id = ?", [form])
    for table in order:
        if not table.fields:
            continue
        tmp = levels[table.name]
        values = ", ".join(f"r.{q(f.xpath)} AS {q(f.column)}" for f in table.fields)
        conn.execute(f"""
            INSERT INTO answers
            SELECT {lit(form)}, _submission__id, {lit(table.path)}, _index, question, value,
                   TRY_CAST(value AS DOUBLE)
            FROM (UNPIVOT (SELECT _submission__id, _index, {values} FROM {tmp}
                           WHERE _submission__id NOT IN (SELECT _id FROM stg_bad))
                  ON COLUMNS(* EXCLUDE (_submission__id, _index))
                  INTO NAME question VALUE value)
        """)
        multiple = [f.column for f in table.fields if f.kind == "select_multiple"]
        if multiple:
            conn.execute(f"""
                INSERT INTO select_multiple
                SELECT form_id, submission_id, repeat_path, _index, question, choice
                FROM (SELECT *, unnest(string_split(value, ' ')) AS choice FROM answers
                      WHERE form_id = {lit(form)} AND repeat_path = {lit(table.path)}
                        AND question IN ({', '.join(lit(c) for c in multiple)}))
                WHERE choice <> ''
            """)
    rows = []
    for table in schema.tables:
        for f in table.fields:
            for lang, label in f.labels.items():
                rows.append((form, f.column, None, lang, label))
            for choice, labels in schema.choices.get(f.list_name or "", ()) if f.list_name else ():
                for lang, label in labels.items():
                    rows.append((form, f.column, choice, lang, label))
    if rows:
        frame = pd.DataFrame(rows, columns=["form_id", "question", "choice", "language", "label"])
        conn.register("labels_frame", frame)
        conn.execute("INSERT INTO labels SELECT * FROM labels_frame")
        conn.unregister("labels_frame")
