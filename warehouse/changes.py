"""``gap_changes``: what changed between consecutive rounds, per municipality × service.

Rounds are put in time order by the first day of their fieldwork (``dim_round``): the first
interview used in the scores, or, for a round with none, the first LSG assessment; never by the
spelling of the round code. Ties go to the earlier last day, then to the code. Each round is
compared with the one before it, for every municipality × service scored in both.

The change in satisfaction S (DESIGN.md 5.9), in points, after minus before:

* headline ``top2box`` (a share): Newcombe's hybrid score interval (method 10 of Newcombe 1998)
  built from each round's Wilson interval on its effective base. The effective base is the
  number of simple-random-sample interviews that would give S's design-based variance V
  (``fct_satisfaction.variance_p``): ``p (1 - p) / V``, which is ``n / deff`` with deff as
  DESIGN.md 5.2 defines it (``n`` when V is 0 or p is 0 or 1). With d = p_after - p_before and
  (l, u) each round's Wilson limits at the normal quantile z of ``method.confidence_level``::

      low  = d - sqrt((p_after - l_after)^2 + (u_before - p_before)^2)
      high = d + sqrt((u_after - p_after)^2 + (p_before - l_before)^2)

* headline ``mean_index`` (not a share, so Newcombe does not apply): the normal interval of the
  difference of two independent estimates, d +- z sqrt(se_before^2 + se_after^2), with each se
  the design-based standard error of the round's mean index.

The p-value is the one the interval implies: the smallest alpha at which the (1 - alpha) interval
excludes 0. For the normal difference that is 2 (1 - Phi(|d| / se)); for Newcombe's interval it is
found by bisection on z (the interval narrows as z falls, so the limit nearest 0 crosses 0 once).
So the p-value is below 1 - confidence_level exactly when the reported interval excludes 0, and
reading the two side by side never disagrees. Benjamini–Hochberg then adjusts the p-values over
all cells of the comparison (one pair of rounds); a change is ``significant`` when its adjusted
p-value is at most 1 - confidence_level (the BH procedure at that false discovery rate).

The change in E (records, no sampling error) and in the gap are plain differences; the gap
statuses and quadrants before and after are carried. A cell suppressed in either round (base below
``method.suppress_below``) has no S or gap change and no p-value, and takes no part in the
adjustment; its change in E is kept, since E has no sampling base.
"""

from __future__ import annotations

import math

import duckdb
import numpy as np

from warehouse.models import Columns, fetch_columns

NEWCOMBE, NORMAL_DIFFERENCE = "newcombe_hybrid_score", "normal_difference"
BISECTION_STEPS = 64  # z to within Z_MAX / 2^64, far below any printed digit
Z_MAX = 38.0  # 2 (1 - Phi(38)) is below the smallest double: p-values below it are reported as 0

ROUNDS_SQL = """
WITH interviews AS (
    SELECT round, min(interview_date) AS first_day, max(interview_date) AS last_day,
           count(*) AS interviews
    FROM fct_interviews WHERE used AND interview_date IS NOT NULL GROUP BY round
),
assessments AS (
    SELECT round, min(assessment_date) AS first_day, max(assessment_date) AS last_day
    FROM stg_assessments WHERE excluded_reason IS NULL AND assessment_date IS NOT NULL
    GROUP BY round
),
rounds AS (SELECT DISTINCT round FROM gap_scores)
SELECT r.round,
       coalesce(i.first_day, a.first_day) AS first_day,
       coalesce(i.last_day, a.last_day) AS last_day,
       CASE WHEN i.first_day IS NOT NULL THEN 'interviews'
            WHEN a.first_day IS NOT NULL THEN 'assessments' END AS dated_by,
       coalesce(i.interviews, 0) AS interviews,
       CASE WHEN coalesce(i.first_day, a.first_day) IS NOT NULL THEN
           row_number() OVER (PARTITION BY coalesce(i.first_day, a.first_day) IS NULL
                              ORDER BY coalesce(i.first_day, a.first_day),
                                       coalesce(i.last_day, a.last_day), r.round) END AS position
FROM rounds r LEFT JOIN interviews i USING (round) LEFT JOIN assessments a USING (round)
ORDER BY position NULLS LAST, r.round
"""

# what each round's cell brings to a comparison
CELL_FIELDS = ("n", "suppressed", "unreliable", "satisfaction", "satisfaction_top2box",
               "satisfaction_mean_index", "variance_p", "variance_mean_score", "effectiveness",
               "gap", "gap_status", "quadrant")
# every cell of two consecutive rounds, side by side (suffix _b before, _a after)
PAIRS_SQL = """
WITH cells AS (
    SELECT g.*, d.position, f.variance_p, f.variance_mean_score
    FROM gap_scores g
    JOIN dim_round d USING (round)
    LEFT JOIN fct_satisfaction f USING (round, municipality_code, service_code)
    WHERE d.position IS NOT NULL
)
SELECT b.round AS round_before, a.round AS round_after, municipality_code, service_code, {fields}
FROM cells b JOIN cells a USING (municipality_code, service_code)
WHERE a.position = b.position + 1
ORDER BY b.position, municipality_code, service_code
""".format(fields=", ".join(f"{side}.{f} AS {f}_{side}" for side in "ba" for f in CELL_FIELDS))

# the table's columns and their types (so an empty comparison still has them)
COLUMNS = {
    "round_before": "VARCHAR", "round_after": "VARCHAR", "municipality_code": "VARCHAR",
    "service_code": "VARCHAR", "n_before": "BIGINT", "n_after": "BIGINT",
    "effective_n_before": "DOUBLE", "effective_n_after": "DOUBLE", "suppressed": "BOOLEAN",
    "unreliable": "BOOLEAN", "satisfaction_before": "DOUBLE", "satisfaction_after": "DOUBLE",
    "satisfaction_change": "DOUBLE", "satisfaction_change_ci_low": "DOUBLE",
    "satisfaction_change_ci_high": "DOUBLE", "change_method": "VARCHAR", "p_value": "DOUBLE",
    "p_value_adjusted": "DOUBLE", "significant": "BOOLEAN",
    "satisfaction_change_status": "VARCHAR", "effectiveness_before": "DOUBLE",
    "effectiveness_after": "DOUBLE", "effectiveness_change": "DOUBLE", "gap_before": "DOUBLE",
    "gap_after": "DOUBLE", "gap_change": "DOUBLE", "gap_status_before": "VARCHAR",
    "gap_status_after": "VARCHAR", "quadrant_before": "VARCHAR", "quadrant_after": "VARCHAR",
}


def wilson(p: np.ndarray, n: np.ndarray, z: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Wilson's score interval of a share ``p`` on a base ``n`` (both may be arrays)."""
    p, n = np.asarray(p, float), np.asarray(n, float)
    z2n = z * z / n
    centre = (p + z2n / 2) / (1 + z2n)
    half = z / (1 + z2n) * np.sqrt(p * (1 - p) / n + z2n / (4 * n))
    return centre - half, centre + half


def newcombe(p_before: np.ndarray, n_before: np.ndarray, p_after: np.ndarray,
             n_after: np.ndarray, z: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Newcombe's hybrid score interval of ``p_after - p_before`` (method 10, Newcombe 1998)."""
    pb, pa = np.asarray(p_before, float), np.asarray(p_after, float)
    lb, ub = wilson(pb, n_before, z)
    la, ua = wilson(pa, n_after, z)
    d = pa - pb
    return (d - np.sqrt((pa - la) ** 2 + (ub - pb) ** 2),
            d + np.sqrt((ua - pa) ** 2 + (pb - lb) ** 2))


def two_sided_p(z: np.ndarray) -> np.ndarray:
    """2 (1 - Phi(z)) for z >= 0."""
    return np.array([math.erfc(v / math.sqrt(2)) for v in np.ravel(z)]).reshape(np.shape(z))


def newcombe_p_value(p_before: np.ndarray, n_before: np.ndarray, p_after: np.ndarray,
                     n_after: np.ndarray) -> np.ndarray:
    """The smallest alpha at which Newcombe's (1 - alpha) interval excludes 0 (see the module
    docstring): bisection on z for the limit nearest 0, then alpha = 2 (1 - Phi(z))."""
    pb, nb, pa, na = (np.asarray(x, float) for x in (p_before, n_before, p_after, n_after))
    rising = pa >= pb
    # the lower limit of an increase crosses 0; a decrease is the same increase read backwards
    lo_p, lo_n = np.where(rising, pb, pa), np.where(rising, nb, na)
    hi_p, hi_n = np.where(rising, pa, pb), np.where(rising, na, nb)
    low, high = np.zeros_like(pb), np.full_like(pb, Z_MAX)
    for _ in range(BISECTION_STEPS):
        mid = (low + high) / 2
        excludes = newcombe(lo_p, lo_n, hi_p, hi_n, mid)[0] > 0
        low, high = np.where(excludes, mid, low), np.where(excludes, high, mid)
    p = two_sided_p((low + high) / 2)
    return np.where(pa == pb, 1.0, p)


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values: q_(i) = min over k >= i of m p_(k) / k, at most 1.
    Missing p-values (NaN) are left out of the family and stay missing."""
    p = np.asarray(p_values, float)
    out = np.full_like(p, np.nan)
    present = np.flatnonzero(~np.isnan(p))
    m = len(present)
    if not m:
        return out
    order = present[np.argsort(p[present], kind="stable")]
    scaled = p[order] * m / np.arange(1, m + 1)
    out[order] = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    return out


def effective_base(p: np.ndarray, n: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """p (1 - p) / V, the simple-random-sample base with S's design variance; n when V is 0 or
    missing or p is 0 or 1 (DESIGN.md 5.2: n / deff)."""
    p, n, v = (np.asarray(x, float) for x in (p, n, variance))
    informative = (v > 0) & (p > 0) & (p < 1)
    return np.where(informative, p * (1 - p) / np.where(informative, v, 1.0), n)


def _col(columns: Columns, name: str) -> np.ndarray:
    return columns[name].astype(float)


def _top2box_change(pairs: Columns, z: float) -> dict[str, np.ndarray]:
    pb, pa = _col(pairs, "satisfaction_top2box_b") / 100, _col(pairs, "satisfaction_top2box_a") / 100
    base_b = effective_base(pb, _col(pairs, "n_b"), _col(pairs, "variance_p_b"))
    base_a = effective_base(pa, _col(pairs, "n_a"), _col(pairs, "variance_p_a"))
    ok = ~np.isnan(pb) & ~np.isnan(pa) & (base_b > 0) & (base_a > 0)
    # cells that cannot be compared get harmless values here and are blanked by the caller
    args = (np.where(ok, pb, 0.5), np.where(ok, base_b, 1.0), np.where(ok, pa, 0.5),
            np.where(ok, base_a, 1.0))
    low, high = newcombe(*args, z)
    return {"ok": ok, "change": 100 * (pa - pb), "low": 100 * low, "high": 100 * high,
            "p": newcombe_p_value(*args), "base_b": base_b, "base_a": base_a}


def _mean_index_change(pairs: Columns, z: float) -> dict[str, np.ndarray]:
    # standard errors in index points: index = (mean score - 1) / 4 x 100
    se = 25 * np.sqrt(_col(pairs, "variance_mean_score_b") + _col(pairs, "variance_mean_score_a"))
    d = _col(pairs, "satisfaction_mean_index_a") - _col(pairs, "satisfaction_mean_index_b")
    ok = ~np.isnan(d) & ~np.isnan(se)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(ok & (se > 0), np.abs(d) / se, np.where(d == 0, 0.0, np.inf))
    p = two_sided_p(np.nan_to_num(ratio, nan=0.0, posinf=np.inf))
    nothing = np.full_like(d, np.nan)
    return {"ok": ok, "change": d, "low": d - z * se, "high": d + z * se, "p": p,
            "base_b": nothing, "base_a": nothing}


def compare(pairs: Columns, z: float, alpha: float, headline: str) -> Columns:
    """The ``gap_changes`` rows of the cell pairs from :data:`PAIRS_SQL` (see the module
    docstring): ``z`` the quantile of the confidence level, ``alpha`` 1 - that level."""
    suppressed = pairs["suppressed_b"].astype(bool) | pairs["suppressed_a"].astype(bool)
    if headline == "mean_index":
        s, method = _mean_index_change(pairs, z), NORMAL_DIFFERENCE
    else:
        s, method = _top2box_change(pairs, z), NEWCOMBE
    compared = s["ok"] & ~suppressed
    kept = np.where(compared, 1.0, np.nan)  # blanks what was not compared
    p_value = s["p"] * kept
    adjusted = np.full(len(p_value), np.nan)
    comparisons: dict[tuple[str, str], list[int]] = {}
    for row, key in enumerate(zip(pairs["round_before"], pairs["round_after"], strict=True)):
        comparisons.setdefault(key, []).append(row)
    for rows in comparisons.values():
        adjusted[rows] = benjamini_hochberg(p_value[rows])
    significant = compared & (np.nan_to_num(adjusted, nan=1.0) <= alpha)
    effectiveness_change = _col(pairs, "effectiveness_a") - _col(pairs, "effectiveness_b")
    return {
        "round_before": pairs["round_before"], "round_after": pairs["round_after"],
        "municipality_code": pairs["municipality_code"], "service_code": pairs["service_code"],
        "n_before": pairs["n_b"], "n_after": pairs["n_a"],
        "effective_n_before": s["base_b"] * kept, "effective_n_after": s["base_a"] * kept,
        "suppressed": suppressed,
        "unreliable": pairs["unreliable_b"].astype(bool) | pairs["unreliable_a"].astype(bool),
        "satisfaction_before": pairs["satisfaction_b"],
        "satisfaction_after": pairs["satisfaction_a"],
        "satisfaction_change": s["change"] * kept,
        "satisfaction_change_ci_low": s["low"] * kept,
        "satisfaction_change_ci_high": s["high"] * kept,
        "change_method": np.where(compared, method, None),
        "p_value": p_value, "p_value_adjusted": adjusted, "significant": significant,
        "satisfaction_change_status": np.select(
            [~compared, significant & (s["change"] > 0), significant & (s["change"] < 0)],
            [None, "improved", "worsened"], "no_significant_change"),
        "effectiveness_before": pairs["effectiveness_b"],
        "effectiveness_after": pairs["effectiveness_a"],
        "effectiveness_change": effectiveness_change,
        "gap_before": pairs["gap_b"], "gap_after": pairs["gap_a"],
        "gap_change": np.where(suppressed, np.nan, _col(pairs, "gap_a") - _col(pairs, "gap_b")),
        "gap_status_before": pairs["gap_status_b"], "gap_status_after": pairs["gap_status_a"],
        "quadrant_before": pairs["quadrant_b"], "quadrant_after": pairs["quadrant_a"],
    }


def build_gap_changes(conn: duckdb.DuckDBPyConnection) -> None:
    """The python model ``gap_changes`` (and ``dim_round``): reads gap_scores, fct_satisfaction,
    fct_interviews, stg_assessments and study_method."""
    z, level, headline = conn.execute(
        "SELECT z, confidence_level, headline_satisfaction FROM study_method").fetchone()
    conn.execute(f"CREATE OR REPLACE TABLE dim_round AS {ROUNDS_SQL}")
    changes = compare(fetch_columns(conn, PAIRS_SQL), float(z), 1 - float(level), headline)
    conn.register("_gap_changes_frame", changes)
    typed = ", ".join(f"CAST({name} AS {kind}) AS {name}" for name, kind in COLUMNS.items())
    conn.execute(f"CREATE OR REPLACE TABLE gap_changes AS SELECT {typed} FROM _gap_changes_frame")
    conn.unregister("_gap_changes_frame")
