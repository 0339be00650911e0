"""The model runner: SQL models are files, applied in dependency order in one transaction.

Models live in ``warehouse/sql/<layer>/<name>.sql``; each file holds one ``SELECT`` and the runner
makes it a table named after the file (``stg_…`` staging, ``dim_…``, ``fct_…`` and the marts).
A first line ``-- materialized: view`` makes it a view instead, ``-- materialized: temp table`` a
temporary table: an intermediate result only the models read, kept in the connection (visible to
it until it closes) and never written to the warehouse file; a table of that name an older
aimak left in the file is dropped, so it cannot be read in its place later.
A model depends on every other model whose name it mentions, so the order is derived, never
written down. Python models (e.g. the survey weights, which need iterative raking) join the same
graph: they declare the tables they read and the one they write. Checks are files under
``warehouse/sql/checks/``: each is a query that must return no rows.

:func:`run_models` runs everything inside one transaction; a model that fails or a check that
returns rows rolls it back, so the previous marts stay in place, and the error names the file
and shows the first failing rows.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np

from aimak.errors import ScoringError
from warehouse.transaction import transaction

SQL_DIR = Path(__file__).parent / "sql"
LAYERS = ("staging", "marts")  # folders of models; checks/ holds the checks
# a model file whose first line says so becomes a view or a temporary table, others tables
KIND_MARK = re.compile(r"^--.*materialized:\s*(view|temp table)", re.IGNORECASE)
SHOWN_ROWS = 5


@dataclass(frozen=True)
class Model:
    """One model: a SQL file (``sql``) or a Python function (``build``) that writes ``name``."""

    name: str
    path: Path | None
    sql: str = ""
    build: Callable[[duckdb.DuckDBPyConnection], None] | None = None
    reads: frozenset[str] = field(default_factory=frozenset)
    writes: frozenset[str] = field(default_factory=frozenset)  # tables besides ``name``

    @property
    def kind(self) -> str:
        """``TABLE``, ``VIEW`` or ``TEMP TABLE`` (see the module docstring)."""
        mark = KIND_MARK.match(self.sql)
        return mark.group(1).upper() if mark else "TABLE"

    @property
    def where(self) -> str:
        return str(self.path) if self.path else f"python model {self.name}"


@dataclass(frozen=True)
class Check:
    name: str
    path: Path
    sql: str


@dataclass
class RunResult:
    models: list[str]
    checks: list[str]
    seconds: dict[str, float] = field(default_factory=dict)  # wall time of each model and check


def sql_models(folder: Path = SQL_DIR) -> list[Model]:
    """Every SQL model file under the layer folders."""
    models = []
    for layer in LAYERS:
        for path in sorted((folder / layer).glob("*.sql")):
            models.append(Model(path.stem, path, path.read_text(encoding="utf-8")))
    return models


def checks(folder: Path = SQL_DIR) -> list[Check]:
    return [Check(p.stem, p, p.read_text(encoding="utf-8"))
            for p in sorted((folder / "checks").glob("*.sql"))]


def _mentions(sql: str, names: Iterable[str]) -> set[str]:
    text = re.sub(r"--[^\n]*", " ", sql)  # names in comments are no dependency
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))
    return {name for name in names if name in words}


def ordered(models: list[Model]) -> list[Model]:
    """The models in dependency order (a model after every model it reads)."""
    by_name = {m.name: m for m in models}
    if len(by_name) != len(models):
        seen: set[str] = set()
        dup = next(m for m in models if m.name in seen or seen.add(m.name))
        raise ScoringError(f"two models are named {dup.name!r}: rename one of the files.")
    writer = {table: m.name for m in models for table in (m.name, *m.writes)}
    needs = {m.name: {writer[t] for t in (set(m.reads) if m.build else _mentions(m.sql, writer))
                      if t in writer}
             - {m.name} for m in models}
    done: list[Model] = []
    placed: set[str] = set()
    pending = [m.name for m in models]
    while pending:
        ready = [n for n in pending if needs[n] & set(by_name) <= placed]
        if not ready:
            raise ScoringError("the models depend on each other in a circle: "
                               + ", ".join(sorted(pending)) + ". Break the cycle in their SQL.")
        for name in ready:
            done.append(by_name[name])
            placed.add(name)
        pending = [n for n in pending if n not in placed]
    return done


def _drop_stored(conn: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop the table ``name`` from the warehouse file (one an older aimak stored there)."""
    for database, schema in conn.execute(
            "SELECT database_name, schema_name FROM duckdb_tables() "
            "WHERE table_name = ? AND NOT temporary", [name]).fetchall():
        conn.execute(f'DROP TABLE "{database}"."{schema}"."{name}"')


def run_models(conn: duckdb.DuckDBPyConnection, models: list[Model],
               model_checks: list[Check], before: Callable[[duckdb.DuckDBPyConnection], None]
               | None = None) -> RunResult:
    """Build every model and run every check in one transaction (see the module docstring)."""
    order = ordered(models)
    seconds: dict[str, float] = {}
    with transaction(conn):
        if before:
            began = time.perf_counter()
            before(conn)
            seconds["(before the models)"] = time.perf_counter() - began
        for model in order:
            began = time.perf_counter()
            try:
                if model.build:
                    model.build(conn)
                else:
                    if model.kind == "TEMP TABLE":
                        _drop_stored(conn, model.name)
                    conn.execute(f'CREATE OR REPLACE {model.kind} "{model.name}" AS\n{model.sql}')
            except duckdb.Error as err:
                raise ScoringError(f"{model.where}: the model failed: "
                                   f"{str(err).splitlines()[0]}. Nothing was changed; fix the "
                                   "model (or the data it names) and run 'aimak score' again.") from err
            seconds[model.name] = time.perf_counter() - began
        for check in model_checks:
            began = time.perf_counter()
            try:
                cursor = conn.execute(check.sql)
                columns = [d[0] for d in cursor.description]
                rows = cursor.fetchmany(SHOWN_ROWS + 1)
            except duckdb.Error as err:
                raise ScoringError(f"{check.path}: the check could not run: "
                                   f"{str(err).splitlines()[0]}. Nothing was changed.") from err
            seconds[f"check {check.name}"] = time.perf_counter() - began
            if rows:
                shown = "; ".join(", ".join(f"{c}={v!r}" for c, v in zip(columns, row, strict=True))
                                  for row in rows[:SHOWN_ROWS])
                more = " (and more)" if len(rows) > SHOWN_ROWS else ""
                raise ScoringError(f"{check.path}: check failed, the scores were not changed. "
                                   f"Failing rows: {shown}{more}")
    return RunResult([m.name for m in order], [c.name for c in model_checks], seconds)


Columns = dict[str, np.ndarray]  # a table as name -> column, which DuckDB also scans as it is


def fetch_columns(conn: duckdb.DuckDBPyConnection, sql: str) -> Columns:
    """The query's columns as numpy arrays, for the Python models (no data frame: pandas took
    0.3 s to import): NULL as NaN in numbers, False in booleans, None in text."""
    out = {}
    for name, values in conn.execute(sql).fetchnumpy().items():
        if np.ma.isMaskedArray(values):
            kind = values.dtype.kind
            if kind in "iuf":
                values = values.astype(float).filled(np.nan)
            elif kind == "b":
                values = values.filled(False)
            else:  # (filled(None) would give numpy's default fill for objects, '?')
                data = values.data.astype(object)
                data[np.ma.getmaskarray(values)] = None
                values = data
        out[name] = values
    return out
