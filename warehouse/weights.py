"""Survey weights of the citizen interviews, one round × municipality at a time.

1. Base weight: the village's adult population / completed (eligible) interviews in the village.
   Villages without an interview cannot be represented; the population of the interviewed
   villages is scaled up to the municipality's, so the weights still sum to its adults.
2. Raking (iterative proportional fitting) to the municipality's margins from geography.csv: the
   village totals (as above) and the sex × age-group cells; when a sex × age-group cell with adults
   has no interview (or an interview falls in a cell without adults), sex and age group are raked
   as two separate margins instead, and a sex or age group with no interview at all (early in
   fieldwork) has its adults carried by the others, as a village without an interview.
3. Trimming to ``[low, high] ×`` the mean weight (``method.weight_trim``) and raking again, the
   weights clipped to the bounds after every sweep, until they are on the margins and within the
   bounds. When no weights can be both (one interview carrying a whole village, say), the margins
   win: the raked weights are kept and ``fct_weighting.within_trim_bounds`` is false.

Interviews that no weight can represent — in a village, sex or age group without adults in
geography.csv — stop the scoring with an error naming them (a zero weight would silently drop
them, a positive one would invent adults).

The weighting efficiency 1 / (1 + CV²) (Kish) and the unequal-weighting design effect 1 + CV² are
kept per round × municipality in ``fct_weighting``. Weights live in ``fct_weights``.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np

from aimak.errors import ScoringError
from warehouse.models import fetch_columns

RAKE_ITERATIONS = 200
RAKE_TOLERANCE = 1e-10  # largest relative miss of any margin
TRIM_SWEEPS = 2000  # raking sweeps with the trim bounds applied after each (cheap: O(n) each)
STALLED = 50  # sweeps without a smaller miss after which bounded raking gives up (infeasible)
SUMMARY_COLUMNS = {  # fct_weighting's columns and their types
    "round": object, "municipality_code": object, "interviews": np.int64, "scheme": object,
    "iterations": np.int64, "converged": bool, "trimmed": np.int64, "within_trim_bounds": bool,
    "weight_sum": float, "design_effect_weighting": float, "weighting_efficiency": float}


@dataclass(frozen=True)
class Weighting:
    weights: np.ndarray
    base: np.ndarray
    scheme: str  # 'village+sex×age' | 'village+sex+age'
    iterations: int
    converged: bool
    trimmed: int  # raked weights outside the trim bounds (brought inside when within_trim_bounds)
    within_trim_bounds: bool


def rake(weights: np.ndarray, margins: list[tuple[np.ndarray, np.ndarray]],
         iterations: int = RAKE_ITERATIONS, tolerance: float = RAKE_TOLERANCE,
         bounds: tuple[float, float] | None = None) -> tuple[np.ndarray, int, bool]:
    """Iterative proportional fitting: ``margins`` are (category index per respondent, target
    total per category). With ``bounds`` (low, high) every sweep ends by clipping the weights to
    them, so convergence means on the margins *and* within the bounds (raking with trimming at
    each iteration, as Izrael, Hoaglin & Battaglia's raking macro does). Returns the weights, the
    sweeps made and whether they converged."""
    w = weights.astype(float).copy()
    best, best_sweep = np.inf, 0
    for sweep in range(1, iterations + 1):
        for index, targets in margins:
            totals = np.bincount(index, weights=w, minlength=len(targets))
            factor = np.divide(targets, totals, out=np.ones_like(targets, dtype=float),
                               where=totals > 0)
            w *= factor[index]
        if bounds is not None:
            np.clip(w, *bounds, out=w)
        worst = 0.0
        for index, targets in margins:
            totals = np.bincount(index, weights=w, minlength=len(targets))
            present = targets > 0
            worst = max(worst, float(np.max(np.abs(totals[present] / targets[present] - 1),
                                            initial=0.0)))
        if worst < tolerance:
            return w, sweep, True
        if worst < best * (1 - 1e-6):
            best, best_sweep = worst, sweep
        elif bounds is not None and sweep - best_sweep > STALLED:
            return w, sweep, False  # the bounds keep the weights off the margins
    return w, iterations, False


def weigh(village: np.ndarray, cell: np.ndarray, sex: np.ndarray, age: np.ndarray,
          village_adults: np.ndarray, cell_adults: np.ndarray, sex_adults: np.ndarray,
          age_adults: np.ndarray, trim_low: float, trim_high: float) -> Weighting:
    """Weights of one municipality's interviews. Category arrays hold 0-based indexes into the
    population arrays (``cell`` = sex × age-group cell)."""
    counts = np.bincount(village, minlength=len(village_adults)).astype(float)
    interviewed = counts > 0
    total = float(cell_adults.sum())
    village_targets = np.where(interviewed, village_adults, 0.0).astype(float)
    village_targets *= total / village_targets.sum()
    base = village_targets[village] / counts[village]
    sampled = np.bincount(cell, minlength=len(cell_adults)) > 0
    populated = cell_adults > 0
    if np.all(sampled[populated]) and not np.any(sampled & ~populated):
        scheme = "village+sex×age"
        margins = [(village, village_targets), (cell, cell_adults.astype(float))]
    else:
        scheme = "village+sex+age"
        margins = [(village, village_targets), (sex, _carried(sex, sex_adults, total)),
                   (age, _carried(age, age_adults, total))]
    w, sweeps, converged = rake(base, margins)
    # on the margins the weights sum to the adults, so the mean weight and the bounds are fixed
    mean = total / len(w)
    bounds = (trim_low * mean, trim_high * mean)
    outside = int(np.sum((w < bounds[0] * (1 - 1e-9)) | (w > bounds[1] * (1 + 1e-9))))
    if not outside or not converged:
        return Weighting(w, base, scheme, sweeps, converged, outside, not outside)
    trimmed, more, fits = rake(w, margins, TRIM_SWEEPS, bounds=bounds)
    if not fits:  # no weights within the bounds meet the margins: the margins win
        return Weighting(w, base, scheme, sweeps + more, converged, outside, False)
    return Weighting(trimmed, base, scheme, sweeps + more, True, outside, True)


def _carried(index: np.ndarray, adults: np.ndarray, total: float) -> np.ndarray:
    """A margin's targets when some of its groups have no interview yet (early in fieldwork):
    their adults are carried by the groups interviewed, in proportion, as a village without an
    interview is, so the weights still sum to the municipality's adults."""
    targets = np.where(np.bincount(index, minlength=len(adults)) > 0, adults, 0.0).astype(float)
    return targets * (total / targets.sum())


@dataclass(frozen=True)
class _Population:
    """One municipality's adults: categories sorted, totals per category (numpy arrays)."""

    villages: np.ndarray
    sexes: np.ndarray
    ages: np.ndarray
    village_adults: np.ndarray
    cell_adults: np.ndarray  # sex x age group, sex-major; NaN for a cell geography.csv lacks
    sex_adults: np.ndarray
    age_adults: np.ndarray

    @classmethod
    def of(cls, village: np.ndarray, sex: np.ndarray, age: np.ndarray,
           adults: np.ndarray) -> _Population:
        villages, v = np.unique(village, return_inverse=True)
        sexes, s = np.unique(sex, return_inverse=True)
        ages, a = np.unique(age, return_inverse=True)
        cell = s * len(ages) + a
        cells = len(sexes) * len(ages)
        cell_adults = np.bincount(cell, weights=adults, minlength=cells)
        cell_adults[np.bincount(cell, minlength=cells) == 0] = np.nan
        return cls(villages, sexes, ages,
                   np.bincount(v, weights=adults, minlength=len(villages)), cell_adults,
                   np.bincount(s, weights=adults, minlength=len(sexes)),
                   np.bincount(a, weights=adults, minlength=len(ages)))


def _unweighable(municipality: str, people: dict[str, np.ndarray], pop: _Population) -> str | None:
    """Why some of a municipality's interviews cannot be weighted (None: all can)."""
    for column, values, totals in (("village_code", pop.villages, pop.village_adults),
                                   ("sex", pop.sexes, pop.sex_adults),
                                   ("age_group", pop.ages, pop.age_adults)):
        bad = np.flatnonzero(~np.isin(people[column], values[totals > 0]))
        if len(bad):
            value = people[column][bad[0]]
            return (f"municipality {municipality}: {len(bad)} interview(s) (submission "
                    f"{people['submission_id'][bad[0]]} and others) have {column} {value!r}, "
                    "which has no adults in geography.csv: give its population there, or correct "
                    "the interviews, then run 'aimak score' again.")
    return None


def _runs(*keys: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of equal keys in arrays sorted by them."""
    n = len(keys[0]) if keys else 0
    if not n:
        return []
    change = np.zeros(n, dtype=bool)
    change[0] = True
    for key in keys:
        change[1:] |= key[1:] != key[:-1]
    starts = np.flatnonzero(change)
    return list(zip(starts.tolist(), [*starts[1:].tolist(), n], strict=True))


def build_weights(conn: duckdb.DuckDBPyConnection) -> None:
    """The python model ``fct_weights`` (and ``fct_weighting``): reads fct_interviews (the
    interviews used in the scores), dim_population and study_method. One pass over numpy arrays
    sorted by round x municipality (no data frame per municipality: at 200,000 interviews the
    pandas overhead, not the raking, was the cost)."""
    method = conn.execute("SELECT weight_trim_low, weight_trim_high FROM study_method").fetchone()
    people = fetch_columns(conn, """
        SELECT submission_id, round, municipality_code, village_code, sex, age_group
        FROM fct_interviews WHERE used ORDER BY round, municipality_code, submission_id""")
    population = fetch_columns(conn, """
        SELECT municipality_code, village_code, sex, age_group, adults FROM dim_population
        ORDER BY ALL""")
    pops = {population["municipality_code"][start]: slice(start, stop)
            for start, stop in _runs(population["municipality_code"])}
    empty = slice(0, 0)
    base_weights, weights, summary = [], [], []
    for start, stop in _runs(people["round"], people["municipality_code"]):
        rnd, municipality = people["round"][start], people["municipality_code"][start]
        group = {name: values[start:stop] for name, values in people.items()}
        rows = pops.get(municipality, empty)
        pop = _Population.of(population["village_code"][rows], population["sex"][rows],
                             population["age_group"][rows],
                             population["adults"][rows].astype(float))
        problem = _unweighable(municipality, group, pop)
        if problem:
            raise ScoringError(problem)
        sex = np.searchsorted(pop.sexes, group["sex"])
        age = np.searchsorted(pop.ages, group["age_group"])
        result = weigh(np.searchsorted(pop.villages, group["village_code"]),
                       sex * len(pop.ages) + age, sex, age, pop.village_adults, pop.cell_adults,
                       pop.sex_adults, pop.age_adults, *method)
        base_weights.append(result.base)
        weights.append(result.weights)
        cv2 = float(np.var(result.weights) / np.mean(result.weights) ** 2)
        summary.append({"round": rnd, "municipality_code": municipality,
                        "interviews": stop - start, "scheme": result.scheme,
                        "iterations": result.iterations, "converged": result.converged,
                        "trimmed": result.trimmed, "within_trim_bounds": result.within_trim_bounds,
                        "weight_sum": float(result.weights.sum()),
                        "design_effect_weighting": 1 + cv2, "weighting_efficiency": 1 / (1 + cv2)})
    weights_table = {
        "submission_id": people["submission_id"].astype(np.int64),
        "round": people["round"].astype(object),
        "municipality_code": people["municipality_code"].astype(object),
        "village_code": people["village_code"].astype(object),
        "base_weight": np.concatenate(base_weights) if base_weights else np.zeros(0),
        "weight": np.concatenate(weights) if weights else np.zeros(0)}
    summary_table = {name: np.array([row[name] for row in summary], dtype=kind)
                     for name, kind in SUMMARY_COLUMNS.items()}
    # numpy arrays, which DuckDB scans as they are (no data frame: pandas took 0.3 s to import)
    for name, table in (("fct_weights", weights_table), ("fct_weighting", summary_table)):
        conn.register("_weights_frame", table)
        conn.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _weights_frame")
        conn.unregister("_weights_frame")
