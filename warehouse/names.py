"""The names of a form's staging tables: recognisable, never shared, never changed once given.

A form's submissions table is ``submissions_<form_id>`` and the table of each repeat is
``repeat_<form_id>__<repeat name>``, where ``<form_id>`` is the XLSForm's form_id in lower case
with every run of other characters than letters, digits and '_' made one '_' (``HH-Survey`` ->
``hh_survey``). DuckDB compares names without case, so ``hh-survey``, ``hh_survey`` and
``HH_Survey`` would all want ``submissions_hh_survey``, and a cloned KoboToolbox project keeps
its form_id: the first asset to be synced gets the plain name, each later one adds the start of
its asset uid, as in the project's URL (``submissions_hh_survey_a5tn8kqa``). A repeat whose name
another repeat of the form has already is named by its path (``repeat_<form_id>__<group>__<repeat>``).

The name given to each asset and repeat is kept in ``form_tables`` (asset uid, form_id, repeat
path, table name) and used ever after, even when the form_id changes, since BI tools and queries
name the tables. A name is never one that another asset has, nor that of a table aimak did not
create.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    from etl.normalize import FormSchema, Table

LEGACY = "?"  # a repeat_path starting with this: a table built before names were kept, path unknown


def safe_name(text: str) -> str:
    """A table-name part made of lower-case letters, digits and '_'."""
    return re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_") or "form"


def table_names(conn: duckdb.DuckDBPyConnection, schema: FormSchema) -> FormSchema:
    """``schema`` with the name of every table: the one given before, or a free one (not kept
    here: :func:`keep_table_names` does that in the caller's transaction)."""
    uid = schema.asset_uid
    given: dict[str, str] = dict(conn.execute(
        "SELECT repeat_path, table_name FROM form_tables WHERE asset_uid = ?", [uid]).fetchall())
    others = {row[0] for row in conn.execute(
        "SELECT lower(table_name) FROM form_tables WHERE asset_uid <> ?", [uid]).fetchall()}
    existing = {row[0] for row in conn.execute(
        "SELECT lower(table_name) FROM duckdb_tables() WHERE NOT temporary").fetchall()}
    legacy = {name for path, name in given.items() if path.startswith(LEGACY)}
    taken = others | (existing - set(given.values())) | {
        name for path, name in given.items() if not path.startswith(LEGACY)}

    names: dict[str, str] = {}
    for table in schema.tables:
        name = next((given[p] for p in table.paths if p in given), None)
        if name is None:
            name = _free(_candidates(schema, table, names), taken - legacy)
        taken.add(name)
        names[table.path] = name
    return dataclasses.replace(schema, tables=tuple(
        dataclasses.replace(t, name=names[t.path]) for t in schema.tables))


def keep_table_names(conn: duckdb.DuckDBPyConnection, schema: FormSchema) -> None:
    """Record the names of ``schema`` (from :func:`table_names`) for good; a legacy table
    claimed by its path loses its placeholder row."""
    for table in schema.tables:
        for path in table.paths:
            conn.execute("""
                INSERT INTO form_tables VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING
            """, [schema.asset_uid, schema.form_id, path, table.name])
        conn.execute("DELETE FROM form_tables WHERE asset_uid = ? AND table_name = ? "
                     "AND starts_with(repeat_path, ?)", [schema.asset_uid, table.name, LEGACY])


def _candidates(schema: FormSchema, table: Table, names: dict[str, str]) -> list[str]:
    if table.path == "":
        base, uid = safe_name(schema.form_id), schema.asset_uid.lower()
        return [f"submissions_{base}", f"submissions_{base}_{uid[:8]}", f"submissions_{base}_{uid}"]
    form = names[""].removeprefix("submissions_")
    return [f"repeat_{form}__{safe_name(table.path.rsplit('/', 1)[-1])}",
            f"repeat_{form}__{safe_name(table.path.replace('/', '__'))}"]


def _free(candidates: list[str], taken: set[str]) -> str:
    for name in candidates:
        if name not in taken:
            return name
    n = 2
    while f"{candidates[-1]}_{n}" in taken:
        n += 1
    return f"{candidates[-1]}_{n}"
