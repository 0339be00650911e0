"""``aimak score``: rebuild the marts from the warehouse's synced tables and the study definition.

One transaction: the dimension tables from the definition, the ``src_*`` views over the synced
forms, every SQL model under ``warehouse/sql/`` and the weights (a Python model), then every
check. A failed model or check leaves the previous marts in place (``warehouse.models``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import duckdb
from scipy.stats import t as student_t

from forms.definition import Definition, Geography
from warehouse.changes import build_gap_changes
from warehouse.models import Model, RunResult, checks, run_models, sql_models
from warehouse.sources import create_source_views
from warehouse.study import write_study_tables
from warehouse.weights import build_weights

# Wilson's score interval for a share p on a base n at the quantile z (DESIGN.md 5.2): the normal
# one, or Student's t on the design's degrees of freedom (the "modified Wilson" interval)
MACROS = """
CREATE OR REPLACE TEMP MACRO wilson_low(p, n, z) AS
    CASE WHEN n > 0 THEN (p + z * z / (2 * n) - z * sqrt(p * (1 - p) / n + z * z / (4 * n * n)))
                         / (1 + z * z / n) END;
CREATE OR REPLACE TEMP MACRO wilson_high(p, n, z) AS
    CASE WHEN n > 0 THEN (p + z * z / (2 * n) + z * sqrt(p * (1 - p) / n + z * z / (4 * n * n)))
                         / (1 + z * z / n) END;
"""

def t_quantile(probability: float | None, degrees_of_freedom: float | None) -> float | None:
    """Student's t quantile (scipy); None without a degree of freedom (no variance estimate)."""
    if probability is None or degrees_of_freedom is None or degrees_of_freedom < 1:
        return None
    return float(student_t.ppf(probability, degrees_of_freedom))


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


@dataclass
class ScoreResult:
    run: RunResult
    rounds: list[str]
    cells: dict[str, int] = field(default_factory=dict)
    excluded: list[tuple[str, str, str, int]] = field(default_factory=list)

    def summary(self) -> str:
        lines = []
        for rnd in self.rounds:
            lines.append(f"round {rnd}: {self.cells.get(rnd, 0)} cells scored")
        for rnd, municipality, reason, count in self.excluded:
            lines.append(f"  {rnd} {municipality}: {count} interview(s) left out ({reason})")
        return "\n".join(lines)


def score(conn: duckdb.DuckDBPyConnection, definition: Definition,
          geography: Geography) -> ScoreResult:
    """Rebuild every mart in one transaction (see the module docstring)."""
    def prepare(c: duckdb.DuckDBPyConnection) -> None:
        write_study_tables(c, definition, geography)
        create_source_views(c)
        c.execute(MACROS)
        register_t_quantile(c)

    run = run_models(conn, sql_models() + PYTHON_MODELS, checks(), before=prepare)
    rounds = [r[0] for r in conn.execute(
        "SELECT DISTINCT round FROM gap_scores ORDER BY round").fetchall()]
    cells = dict(conn.execute("SELECT round, count(*) FROM gap_scores GROUP BY round").fetchall())
    excluded = conn.execute("""
        SELECT round, municipality_code, reason, excluded FROM exclusions
        WHERE excluded > 0 ORDER BY ALL""").fetchall()
    return ScoreResult(run, rounds, cells, excluded)
