"""Coverage of the gap scores' 95% intervals on simulated fieldwork whose truth is known.

For each seed the simulator's own world is drawn (``fieldsim.personas.make_world``: village
effects, every municipality × service's true satisfaction and effectiveness, the enumerators),
its respondents and fieldwork schedule (``draw_respondents``, ``plan_fieldwork``: villages, sex ×
age groups with the simulator's response propensities, refusals, deletions, supervisors'
validation statuses) and every interview's answers exactly as ``aimak simulate`` draws them
(``fieldsim.simulate._answers``). They are written straight into a warehouse in the shapes a sync
leaves behind (``tests/scoring_world.py``) — skipping only JavaRosa and HTTP, which do not change
a single answer — and scored by the real ``warehouse.scoring.score``. The truth of each cell is
``truth.json``'s (``fieldsim.truth.truth_document``, written per seed into ``--out``).

Reported, over all seeds:

- coverage: the share of cells (with an interval) whose true S lies inside the computed 95%
  interval of the headline S; it must lie within [0.92, 0.98] (neither too narrow nor padded).
  The same for the mean index, and by base size.
- gap status: the share of cells whose computed gap status equals the truth, among the cells
  whose margin in truth.json (distance to the nearest cut) exceeds their interval's half-width;
  it must be at least 0.95. Cells whose truth is insufficient_data are reported apart.

The simulator also plants faults the truth does not model (a straight-lining enumerator who
copies a respondent's first item answer to every item of a service block, one who inflates
answers, one who makes interviews up at home): the bench loads them all and leaves them to the
quality rules, as the real scoring does (``--drop-straight-liner`` drops that enumerator's
interviews by reading truth.json's ``enumerators`` instead, for comparison). ``--villages``
scores with villages as clusters or as strata whatever the definition says (``method.villages``).

Baseline, in the same run: the same cells' intervals as the textbook Wald interval on the
unweighted share (p ± z √(p(1 − p)/n), as if the interviews were a simple random sample).

Run: .venv/bin/python bench/coverage.py [--seeds 20] [--first-seed 1] [--villages strata]
[--out out/bench/coverage]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import duckdb  # noqa: E402

from fieldsim.fieldwork import CITIZEN, LSG, plan_fieldwork  # noqa: E402
from fieldsim.personas import draw_respondents, make_world  # noqa: E402
from fieldsim.simulate import _answers  # noqa: E402
from fieldsim.truth import expected_cells, truth_document, write_truth  # noqa: E402
from forms import BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY  # noqa: E402
from forms.build import load_study  # noqa: E402
from forms.definition import Definition  # noqa: E402
from forms.sample_plan import plan_sample  # noqa: E402
from tests.scoring_world import write_synced  # noqa: E402
from warehouse.scoring import score  # noqa: E402

COVERAGE_BAND = (0.92, 0.98)
STATUS_AGREEMENT = 0.95
FIELDWORK_START = dt.date(2026, 11, 9)


def age_group(definition: Definition, age: int) -> str:
    return next(g.code for g in definition.age_groups if g.min <= age <= g.max)


def round_rows(definition: Definition, world, visits, drop: set[str]) -> tuple[list, list]:
    """The citizen and LSG rows of one simulated round (deleted submissions left out)."""
    citizen, lsg = [], []
    for number, visit in enumerate(visits, start=1):
        if visit.deleted or visit.form not in (CITIZEN, LSG):
            continue
        if visit.form == CITIZEN and visit.enumerator in drop:
            continue
        values = dict(_answers(world, visit).values)
        row = {"_id": number, "_validation_status": visit.validation,
               "study_round": definition.study.round, "start": visit.start, "end": visit.end,
               "_submission_time": visit.sent.astimezone(dt.UTC).replace(tzinfo=None), **values}
        if visit.form == CITIZEN:
            gps = values.pop("gps", None)  # some phones get no fix
            if gps:
                lat, lon, _alt, acc = (float(x) for x in gps.split())
                row.update(gps_latitude=lat, gps_longitude=lon, gps_accuracy=acc)
            if "resp_age" in values:
                row["resp_age_group"] = age_group(definition, int(values["resp_age"]))
            citizen.append(row)
        else:
            lsg.append(row)
    return citizen, lsg


def run_seed(seed: int, definition, geography, plan, out: Path, keep_straight_liner: bool):
    world = make_world(definition, geography, seed)
    people = draw_respondents(world, plan, None)
    visits = plan_fieldwork(world, plan, people, start=FIELDWORK_START)
    truth = truth_document(world, expected_cells(world), respondents=len(people))
    write_truth(out / f"seed{seed:03d}" / "truth.json", truth)
    drop = set() if keep_straight_liner else {
        code for code, e in truth["enumerators"].items() if e["straight_liner"]}
    citizen, lsg = round_rows(definition, world, visits, drop)
    conn = duckdb.connect()
    write_synced(conn, citizen, lsg)
    began = time.perf_counter()
    score(conn, definition, geography)
    seconds = time.perf_counter() - began
    cursor = conn.execute("""
        SELECT g.*, u.p_raw, u.n_raw FROM gap_scores g
        LEFT JOIN (SELECT i.municipality_code, s.service_code,
                          avg(CASE WHEN a.satisfied THEN 1.0 ELSE 0.0 END) AS p_raw,
                          count(DISTINCT a.submission_id) AS n_raw
                   FROM stg_item_answers a JOIN fct_interviews i USING (submission_id)
                   JOIN dim_service s USING (service_key)
                   WHERE a.valid AND i.used GROUP BY ALL) u USING (municipality_code, service_code)
    """)
    names = [d[0] for d in cursor.description]
    truth_by_cell = {(c["municipality_code"], c["service_code"]): c for c in truth["cells"]}
    cells = []
    for values in cursor.fetchall():
        r = dict(zip(names, values, strict=True))
        cells.append({"seed": seed, **r, "truth": truth_by_cell[(r["municipality_code"],
                                                                 r["service_code"])]})
    return cells, seconds, len(citizen)


def share(flags: list[bool]) -> str:
    return f"{sum(flags) / len(flags):.3f} ({sum(flags)}/{len(flags)})" if flags else "n/a"


def inside(value: float, low, high) -> bool:
    return low is not None and high is not None and low - 1e-9 <= value <= high + 1e-9


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("out/bench/coverage"))
    parser.add_argument("--drop-straight-liner", action="store_true",
                        help="drop the straight-lining enumerator's interviews (read from the truth) "
                             "instead of leaving them to the quality rules")
    parser.add_argument("--villages", choices=("clusters", "strata"),
                        help="villages in the variance of S (default: the definition's method.villages)")
    args = parser.parse_args()
    args.keep_straight_liner = not args.drop_straight_liner
    definition, geography = load_study(BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY)
    if args.villages:
        definition = dataclasses.replace(
            definition, method=dataclasses.replace(definition.method, villages=args.villages))
    print(f"villages in the variance of S: {definition.method.villages}")
    plan = plan_sample(definition, geography)
    z = 1.959963984540054
    cells, seconds, interviews = [], 0.0, 0
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        got, took, n = run_seed(seed, definition, geography, plan, args.out,
                                args.keep_straight_liner)
        cells += got
        seconds += took
        interviews += n
        print(f"seed {seed}: {len(got)} cells, {n} interviews loaded, scored in {took:.1f} s",
              flush=True)

    with_interval = [c for c in cells if c["satisfaction_ci_low"] is not None]
    covered = [inside(c["truth"]["expected_satisfaction"], c["satisfaction_ci_low"],
                      c["satisfaction_ci_high"]) for c in with_interval]
    covered_mean = [inside(c["truth"]["expected_satisfaction_mean_index"],
                           c["mean_index_ci_low"], c["mean_index_ci_high"])
                    for c in with_interval]
    wald = []
    for c in with_interval:
        p, n = c["p_raw"], c["n_raw"]
        half = 100 * z * math.sqrt(p * (1 - p) / n)
        wald.append(inside(c["truth"]["expected_satisfaction"], 100 * p - half, 100 * p + half))
    decided = [c for c in cells if c["truth"]["margin"] is not None
               and c["satisfaction_ci_low"] is not None
               and c["truth"]["margin"] > (c["satisfaction_ci_high"] - c["satisfaction_ci_low"]) / 2]
    agree = [c["gap_status"] == c["truth"]["gap_status"] for c in decided]
    sparse = [c["gap_status"] == c["truth"]["gap_status"] for c in cells
              if c["truth"]["gap_status"] == "insufficient_data"]
    every_status = [c["gap_status"] == c["truth"]["gap_status"] for c in cells]
    half_widths = sorted((c["satisfaction_ci_high"] - c["satisfaction_ci_low"]) / 2
                         for c in with_interval)
    deffs = sorted(c["design_effect"] for c in with_interval if c["design_effect"] is not None)

    print(f"\n{args.seeds} seeded rounds ({args.first_seed}..{args.first_seed + args.seeds - 1}), "
          f"{interviews} interviews, {len(cells)} cells; scoring took {seconds:.1f} s in all")
    print("straight-lining enumerator: "
          + ("loaded (left to the quality rules)" if args.keep_straight_liner
             else "dropped by reading truth.json's enumerators"))
    print(f"coverage of true S by the 95% interval of S:        {share(covered)}  "
          f"band {COVERAGE_BAND[0]}-{COVERAGE_BAND[1]}")
    for low, high in ((0, 50), (50, 150), (150, 300), (300, math.inf)):
        part = [ok for ok, c in zip(covered, with_interval, strict=True) if low <= c["n"] < high]
        print(f"  {f'base n in [{low}, {high})':<50}{share(part)}")
    print(f"coverage of the true mean index by its interval:    {share(covered_mean)}")
    print(f"baseline, unweighted Wald interval on the same cells: {share(wald)}")
    print(f"gap status = truth where margin > half-width:       {share(agree)}  "
          f"(at least {STATUS_AGREEMENT})")
    print(f"gap status = truth, insufficient_data cells:        {share(sparse)}")
    print(f"gap status = truth, every cell:                     {share(every_status)}")
    mid = len(half_widths) // 2
    print(f"interval half-width, points: median {half_widths[mid]:.1f}, "
          f"range {half_widths[0]:.1f}-{half_widths[-1]:.1f}; design effect: median "
          f"{deffs[len(deffs) // 2]:.2f}, range {deffs[0]:.2f}-{deffs[-1]:.2f}")
    summary = {"seeds": args.seeds, "first_seed": args.first_seed, "cells": len(cells),
               "coverage": sum(covered) / len(covered),
               "coverage_mean_index": sum(covered_mean) / len(covered_mean),
               "coverage_wald_unweighted": sum(wald) / len(wald),
               "status_agreement": sum(agree) / len(agree) if agree else None,
               "straight_liner_loaded": args.keep_straight_liner}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    ok = (COVERAGE_BAND[0] <= summary["coverage"] <= COVERAGE_BAND[1]
          and (summary["status_agreement"] or 0) >= STATUS_AGREEMENT)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
