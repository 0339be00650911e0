"""Scoring a national round of 200,000 citizen interviews: `aimak score` against a pandas baseline.

The corpus (bench/national.py, made once per size in out/bench/score-<N>/): 260 municipalities,
about 770 interviews each, with their LSG assessments and focus groups, simulated and synced into
the warehouse by the real `aimak sync`, so the tables are those a sync leaves (typed submissions,
the long `answers`, `select_multiple`, raw payloads, form registrations).

Each variant runs in its own child process; its wall time is measured by this process from start
to exit (interpreter, imports and all), its peak memory is the child's own peak resident set
(getrusage RUSAGE_SELF ru_maxrss at its end), which counts DuckDB's memory as it lives in the
same process:
  * aimak: what `aimak score` does (flows.stages.score): the warehouse opened with
    warehouse.db.connect, the study loaded, warehouse.scoring.score: the weights with raking and
    trimming, the design-based variances, every mart (gap scores, round changes, fieldwork
    progress, quality flags, focus groups) and every check, in one transaction. It works on a
    copy of the corpus warehouse (copied before the clock starts).
  * baseline: the point estimates alone, written the way an analyst would in pandas: the long
    answers of the citizen survey and the interview profile read into data frames, base weights
    (village adults / interviews in the village, consenting and not rejected interviews), then
    the weighted top-2-box share of each item and S (the item-weighted mean) per round x
    municipality x service by groupby. No raking, trimming, variance, quality rules or marts.
Target (issue 11): aimak takes less wall time than the baseline and at most half its peak memory.
Each variant runs RUNS times, interleaved; the fastest run of each is shown (the machine may be
shared: the load average is shown, and each child's CPU time beside its wall time). The time of each model (RunResult.seconds) and how far the baseline's S lies from
aimak's (they differ by design: raking and quality exclusions) are shown too. Nothing is
asserted: the figures are the report.

Run: .venv/bin/python bench/score.py [N] [--runs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from national import ROOT, corpus

RUNS = 2

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
WAREHOUSE, STUDY, OUT = {warehouse!r}, {study!r}, {out!r}
{body}
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({{"peak_mb": usage.ru_maxrss / 1024, "cpu": usage.ru_utime + usage.ru_stime,
                  **extra}}))
"""

AIMAK = """
from pathlib import Path
from forms.build import load_study
from warehouse.db import connect
from warehouse.scoring import score

definition, geography = load_study(Path(STUDY) / "indicators.yaml", Path(STUDY) / "geography.csv")
with connect(Path(WAREHOUSE)) as conn:
    result = score(conn, definition, geography)
    cells = conn.execute("SELECT count(*), count(*) FILTER (WHERE suppressed), "
                         "count(*) FILTER (WHERE gap IS NOT NULL) FROM gap_scores").fetchone()
    conn.execute("COPY (SELECT round, municipality_code, service_code, n, satisfaction_top2box "
                 "FROM gap_scores) TO '" + OUT + "/aimak.csv' (HEADER)")
extra = {"seconds": result.run.seconds, "cells": cells[0], "suppressed": cells[1],
         "with_gap": cells[2]}
"""

BASELINE = """
from pathlib import Path
import duckdb
import pandas as pd
from forms.build import load_study

definition, geography = load_study(Path(STUDY) / "indicators.yaml", Path(STUDY) / "geography.csv")
conn = duckdb.connect(WAREHOUSE, read_only=True)
answers = conn.execute(
    "SELECT submission_id, question, value FROM answers WHERE form_id = 'citizen_survey'").df()
people = conn.execute(
    "SELECT _id AS submission_id, study_round AS round, municipality, village, consent, "
    "_validation_status FROM submissions_citizen_survey").df()
conn.close()

# base weights: the village's adults / interviews in the village (consenting, not rejected)
people = people[(people.consent == "yes")
                & (people._validation_status != "validation_status_not_approved")]
adults = pd.DataFrame([(v.code, v.adults) for v in geography.villages.values()],
                      columns=["village", "adults"])
interviews = people.groupby(["round", "village"]).size().rename("interviews").reset_index()
people = people.merge(interviews, on=["round", "village"]).merge(adults, on="village")
people["weight"] = people.adults / people.interviews

# weighted top-2-box share of each item among its valid answers, then S per cell
items = pd.DataFrame([(i.code, s.code, i.weight) for s in definition.services for i in s.items],
                     columns=["question", "service_code", "item_weight"])
scale = definition.scales["satisfaction"].choices
valid = [c.code for c in scale if not c.missing]
top = [str(code) for code in definition.method.top_box]
a = answers.merge(items, on="question")
a = a[a.value.isin(valid)]
a = a.merge(people[["submission_id", "round", "municipality", "weight"]], on="submission_id")
a["weighted_top"] = a.value.isin(top) * a.weight
by_item = a.groupby(["round", "municipality", "service_code", "question"], as_index=False).agg(
    weight=("weight", "sum"), weighted_top=("weighted_top", "sum"), item_weight=("item_weight", "first"))
by_item["p"] = by_item.weighted_top / by_item.weight
by_item["weighted_p"] = by_item.p * by_item.item_weight
cells = by_item.groupby(["round", "municipality", "service_code"], as_index=False).agg(
    weighted_p=("weighted_p", "sum"), item_weight=("item_weight", "sum"))
cells["satisfaction"] = 100 * cells.weighted_p / cells.item_weight
cells["n"] = a.groupby(["round", "municipality", "service_code"]).submission_id.nunique().to_numpy()
cells.rename(columns={"municipality": "municipality_code"}).to_csv(OUT + "/baseline.csv", index=False)
extra = {"cells": len(cells), "answers": len(answers)}
"""


def child(body: str, warehouse: Path, study: Path, out: Path) -> dict:
    """Run one variant in its own process: its wall time, and its report (peak memory, ...)."""
    code = CHILD.format(root=str(ROOT), warehouse=str(warehouse), study=str(study), out=str(out),
                        body=textwrap.dedent(body))
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    wall = time.perf_counter() - began
    if done.returncode:
        raise SystemExit(f"the child failed:\n{done.stderr[-3000:]}")
    return {"wall": wall, **json.loads(done.stdout.strip().splitlines()[-1])}


def compare(out: Path) -> str:
    """How far the baseline's S lies from aimak's headline top-2-box, over the cells both have."""
    import pandas as pd

    aimak = pd.read_csv(out / "aimak.csv")
    baseline = pd.read_csv(out / "baseline.csv")
    both = aimak.merge(baseline, on=["round", "municipality_code", "service_code"],
                       suffixes=("", "_baseline")).dropna(subset=["satisfaction_top2box"])
    diff = (both.satisfaction_top2box - both.satisfaction).abs()
    return (f"{len(both)} cells in both; |S aimak - S baseline|: median {diff.median():.2f}, "
            f"90th percentile {diff.quantile(0.9):.2f}, max {diff.max():.2f} points "
            "(raking to sex x age and the quality rules make the difference)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", nargs="?", type=int, default=200_000,
                        help="citizen interviews in the corpus (default 200,000)")
    parser.add_argument("--runs", type=int, default=RUNS, help="runs of each variant")
    args = parser.parse_args()
    folder = corpus(args.n)
    study, work = folder / "study", folder / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    copy = work / "warehouse.duckdb"
    aimak, baseline = [], []
    load = os.getloadavg()[0]
    for _ in range(args.runs):
        shutil.copy(folder / "warehouse.duckdb", copy)
        aimak.append(child(AIMAK, copy, study, work))
        baseline.append(child(BASELINE, folder / "warehouse.duckdb", study, work))
    ours, theirs = (min(runs, key=lambda run: run["wall"]) for runs in (aimak, baseline))
    size = (folder / "warehouse.duckdb").stat().st_size / 2**30
    print(f"scoring {args.n:,} citizen interviews ({theirs['answers']:,} long answers, "
          f"warehouse {size:.1f} GB), fastest of {args.runs} runs each, own process each "
          f"(load average {load:.1f} before, {os.getloadavg()[0]:.1f} after, {os.cpu_count()} "
          "cores):")
    row = "  {:<62} {:>7.1f} s wall {:>7.1f} s CPU {:>7.0f} MB peak"
    print(row.format("aimak score: weights, raking, variance, every mart and check",
                     ours["wall"], ours["cpu"], ours["peak_mb"]))
    print(row.format("baseline: pandas point estimates (long answers -> groupby)",
                     theirs["wall"], theirs["cpu"], theirs["peak_mb"]))
    print(f"  time: aimak / baseline = {ours['wall'] / theirs['wall']:.2f} (target < 1); "
          f"peak memory: aimak / baseline = {ours['peak_mb'] / theirs['peak_mb']:.2f} "
          "(target <= 0.5)")
    print(f"  gap_scores: {ours['cells']} cells, {ours['suppressed']} suppressed, "
          f"{ours['with_gap']} with a gap; the baseline scored {theirs['cells']} cells")
    print(f"  {compare(work)}")
    print("  slowest models of the fastest aimak run:")
    for name, seconds in sorted(ours["seconds"].items(), key=lambda kv: -kv[1])[:12]:
        print(f"    {seconds:7.2f} s  {name}")
    print("  all runs (wall s / peak MB): aimak "
          + ", ".join(f"{r['wall']:.1f}/{r['peak_mb']:.0f}" for r in aimak) + "; baseline "
          + ", ".join(f"{r['wall']:.1f}/{r['peak_mb']:.0f}" for r in baseline))


if __name__ == "__main__":
    main()
