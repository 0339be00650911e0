"""``aimak score``: rebuild the marts from the warehouse's synced tables and the study definition.

One transaction: the dimension tables from the definition, the ``src_*`` views over the synced
forms, every SQL model under ``warehouse/sql/`` and the weights (a Python model), then every
check. A failed model or check leaves the previous marts in place (``warehouse.models``).
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import duckdb
from scipy.special import stdtrit

from forms.definition import Definition, Geography
from warehouse.changes import build_gap_changes
from warehouse.models import Model, RunResult, checks, run_models, sql_models
from warehouse.sources import create_source_views
from warehouse.study import write_study_tables
from warehouse.weights import build_weights

# Wilson's score interval for a share p on a base n at the quantile z (DESIGN.md 5.2): the normal
# one, or Student's t on the design's degrees of freedom (the "modified Wilson" interval)
MACROS = """
CREATE OR REPLACE TEMP MACRO wilson_bound(p, n, z, sign) AS
    CASE WHEN n > 0 THEN greatest(0.0, least(1.0,
        (p + z * z / (2 * n) + sign * z * sqrt(greatest(0.0, p * (1 - p)) / n + z * z / (4 * n * n)))
        / (1 + z * z / n))) END;
-- the bounds within 0-1 exactly: at p = 1 the formula gives 1.00000000000000003 by rounding
CREATE OR REPLACE TEMP MACRO wilson_low(p, n, z) AS wilson_bound(p, n, z, -1);
CREATE OR REPLACE TEMP MACRO wilson_high(p, n, z) AS wilson_bound(p, n, z, 1);
"""


@functools.lru_cache(maxsize=4096)  # a few distinct degrees of freedom, called once per cell
def t_quantile(probability: float | None, degrees_of_freedom: float | None) -> float | None:
    """Student's t quantile; None without a degree of freedom (no variance estimate).
    scipy.special.stdtrit is what scipy.stats.t.ppf computes (its _ppf), without the two
    seconds scipy.stats takes to import."""
    if probability is None or degrees_of_freedom is None or degrees_of_freedom < 1:
        return None
    return float(stdtrit(degrees_of_freedom, probability))


def register_t_quantile(conn: duckdb.DuckDBPyConnection) -> None:
    """``t_quantile(probability, df)`` in the connection's SQL (a NULL df gives NULL)."""
    with contextlib.suppress(duckdb.Error):
        conn.remove_function("t_quantile")
    conn.create_function("t_quantile", t_quantile, ["DOUBLE", "DOUBLE"], "DOUBLE",
                         null_handling="special")


PYTHON_MODELS = [
    Model("fct_weights", None, build=build_weights,
          reads=frozenset({"fct_interviews", "dim_population", "study_method"}),
          writes=frozenset({"fct_weighting"})),
    Model("gap_changes", None, build=build_gap_changes,
          reads=frozenset({"gap_scores", "fct_satisfaction", "fct_interviews", "stg_assessments",
                           "study_method"}),
          writes=frozenset({"dim_round"})),
]


@dataclass(frozen=True)
class MunicipalityLine:
    """One row of the table ``aimak score`` prints."""

    round: str
    municipality: str
    cells: int
    with_gap: int
    suppressed: int
    unreliable: int
    established: int
    interviews: int
    used: int
    flagged: int
    excluded: dict[str, int]


@dataclass
class ScoreResult:
    run: RunResult
    rounds: list[str]
    lines: list[MunicipalityLine] = field(default_factory=list)

    def summary(self, round_code: str | None = None) -> str:
        """A short table per round: cells scored, suppressed and flagged, interviews used and
        left out by reason (``round_code``: that round only)."""
        out = []
        header = (f"{'municipality':<14}{'cells':>6}{'gap':>5}{'supp.':>6}{'unrel.':>7}"
                  f"{'estab.':>7}{'interviews':>11}{'used':>6}{'flagged':>8}  left out (reason: n)")
        for rnd in self.rounds:
            if round_code and rnd != round_code:
                continue
            rows = [line for line in self.lines if line.round == rnd]
            out.append(f"round {rnd}: {sum(r.cells for r in rows)} cells in {len(rows)} "
                       f"municipalities, {sum(r.with_gap for r in rows)} with a gap")
            out.append(header)
            for r in rows:
                left = ", ".join(f"{reason}: {n}" for reason, n in sorted(r.excluded.items())) or "-"
                out.append(f"{r.municipality:<14}{r.cells:>6}{r.with_gap:>5}{r.suppressed:>6}"
                           f"{r.unreliable:>7}{r.established:>7}{r.interviews:>11}{r.used:>6}"
                           f"{r.flagged:>8}  {left}")
        if not out:
            out.append("no round scored yet: the warehouse holds no citizen interview or LSG "
                       "assessment of the study's forms (run 'aimak sync' first)")
        return "\n".join(out)


def score(conn: duckdb.DuckDBPyConnection, definition: Definition,
          geography: Geography) -> ScoreResult:
    """Rebuild every mart in one transaction (see the module docstring)."""
    def prepare(c: duckdb.DuckDBPyConnection) -> None:
        write_study_tables(c, definition, geography)
        create_source_views(c)
        c.execute(MACROS)
        register_t_quantile(c)

    with every_core(conn):
        run = run_models(conn, sql_models() + PYTHON_MODELS, checks(), before=prepare)
    return ScoreResult(run, rounds_in_order(conn), summary_lines(conn))


@contextlib.contextmanager
def every_core(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """DuckDB on every core of the machine while the marts are rebuilt, then the connection's own
    setting again (warehouse.db opens it with one thread, right for the sync's small statements
    between network waits). Scoring is computation alone: at 200,000 interviews two threads took
    it from 9.8 s to 7.4 s of wall time (bench/score.py), in the same memory limit."""
    threads = conn.execute("SELECT current_setting('threads')").fetchone()[0]
    conn.execute(f"SET threads = {os.cpu_count() or 1}")
    try:
        yield
    finally:
        with contextlib.suppress(duckdb.Error):  # never hides the error that ended the run
            conn.execute(f"SET threads = {int(threads)}")


def rounds_in_order(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """The scored rounds in fieldwork order (``dim_round``), then any other by code."""
    return [row[0] for row in conn.execute("""
        SELECT g.round FROM (SELECT DISTINCT round FROM gap_scores) g
        LEFT JOIN dim_round d USING (round)
        ORDER BY d.position NULLS LAST, g.round""").fetchall()]


def summary_lines(conn: duckdb.DuckDBPyConnection) -> list[MunicipalityLine]:
    rows = conn.execute("""
        WITH cells AS (
            SELECT round, municipality_code, count(*) AS cells,
                   count(gap) AS with_gap, count(*) FILTER (WHERE suppressed) AS suppressed,
                   count(*) FILTER (WHERE unreliable) AS unreliable,
                   count(*) FILTER (WHERE gap_established) AS established
            FROM gap_scores GROUP BY ALL),
        interviews AS (
            SELECT round, municipality_code, count(*) AS interviews,
                   count(*) FILTER (WHERE used) AS used,
                   count(*) FILTER (WHERE len(flags) > 0) AS flagged
            FROM fct_interviews GROUP BY ALL),
        reasons AS (
            SELECT round, municipality_code, map(list(reason), list(excluded)) AS excluded
            FROM exclusions WHERE excluded > 0 GROUP BY ALL)
        SELECT c.round, c.municipality_code, c.cells, c.with_gap, c.suppressed, c.unreliable,
               c.established, coalesce(i.interviews, 0), coalesce(i.used, 0),
               coalesce(i.flagged, 0), r.excluded
        FROM cells c
        LEFT JOIN interviews i USING (round, municipality_code)
        LEFT JOIN reasons r USING (round, municipality_code)
        ORDER BY c.round, c.municipality_code""").fetchall()
    return [MunicipalityLine(*row[:10], dict(row[10] or {})) for row in rows]
