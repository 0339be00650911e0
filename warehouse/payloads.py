"""A form's raw payloads read as typed values, by SQL inside DuckDB.

Each payload is read once with ``json_transform`` into a struct of text values, one temporary
table per level (the submissions, then each repeat, unnested from its parent's rows); from there
each question's column is cast to its kind (a geopoint split, a select_multiple with one 0/1
column per choice), and the values that cannot be cast name the submissions to set aside. A
question's value comes from whichever of its paths the submission's version used.

A repeat instance's ``_index`` is its submission's ``_id`` × ``ID_SPAN`` + its number within that
submission in its table (in the order of the parent instances, then of the answers): stable,
whatever happens to other submissions.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    from etl.normalize import Field, FormSchema, Table

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


def q(name: str) -> str:
    """Quote an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    """Quote an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def insert_rows(conn: duckdb.DuckDBPyConnection, table: str, columns: list[tuple[str, str]],
                rows: list[tuple]) -> None:
    """Insert ``rows`` into ``table`` (``columns``: name and SQL type of each value), passed as
    one list per column and unnested by DuckDB: no data frame (pandas would be most of a second
    of a sync's start-up)."""
    if not rows:
        return
    values = [list(column) for column in zip(*rows, strict=True)]
    select = ", ".join(f"unnest(?::{sqltype}[]) AS {q(name)}" for name, sqltype in columns)
    conn.execute(f"INSERT INTO {q(table)} BY NAME SELECT {select}", values)


def value_of(keys: tuple[str, ...]) -> str:
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


def read_levels(conn: duckdb.DuckDBPyConnection, schema: FormSchema,
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
        repeat = value_of(table.paths)
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


def bad_values(conn: duckdb.DuckDBPyConnection, tmp: str, table: Table) -> list[tuple[int, str]]:
    """(submission, reason) of every value of the level ``tmp`` that cannot be typed."""
    checks = []
    if table.path:  # more instances than an _index can number within one submission
        too_many = lit(f"repeat '{table.path}' has more than {ID_SPAN - 1} instances")
        checks.append(f"SELECT DISTINCT _submission__id, {too_many} FROM {tmp} "
                      f"WHERE _index % {ID_SPAN} = 0")
    for f in table.fields:
        value = value_of(f.keys)
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


def typed_columns(f: Field, schema: FormSchema) -> list[tuple[str, str]]:
    """(column, SQL expression) of one question: typed, a geopoint split, a select_multiple
    with one 0/1 column per choice."""
    value = value_of(f.keys)
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
