"""The study report (``study_report_<round>_<lang>.docx``) of a round of 40 municipalities, against
the gap report workbook of the same round (the same content as Excel, written by
``reports.gap_report``) as the baseline.

The corpus (made once in out/bench/study-report-40/, ``ready.json`` marks a finished one): the
bundled study with its four municipalities copied under new codes until there are 40 (one field
team of five enumerators each); the simulator's world (``fieldsim.personas.make_world``), its
respondents and fieldwork schedule (``draw_respondents``, ``plan_fieldwork``) and every
interview's and LSG assessment's answers as ``aimak simulate`` draws them, written straight into
a warehouse in the shapes a sync leaves behind (as ``bench/coverage.py`` does), plus two focus
groups per municipality with themes and quotes; then scored by the real
``warehouse.scoring.score``.

Timed (wall clock, and this process's CPU time, which other work on the machine does not
inflate), on the corpus opened read-only, in Russian: ``write_study_report`` (every chapter, one
chapter with two charts per municipality, the questionnaires, the plan) and the baseline
``write_gap_report``. Target (issue 14): the study report of 40 municipalities in under 30 s.

Run: .venv/bin/python bench/study_report.py [--respondents 12000] [--runs 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from forty import MUNICIPALITIES, study  # noqa: E402

from forms.definition import Definition, Geography  # noqa: E402

SEED = 2026
FIELDWORK_START = dt.date(2026, 11, 9)  # a Monday
TARGET_SECONDS = 30.0
LANG = "ru"
QUOTES = ("Воду дают по графику, но график никто не видел.", "Дорогу в прошлом году починили.",
          "=Жалобы принимают только устно", "Свет на улице горит не везде.")


def sessions(definition: Definition, geography: Geography) -> list:
    """Two focus groups per municipality (LSG staff, residents), two themes each with quotes."""
    from tests.quality_world import Session, Theme

    services = [s.code for s in definition.services]
    roster = [(f"P{i}", "f" if i % 2 else "m", "30_44", "resident") for i in range(1, 9)]
    out = []
    for k, code in enumerate(geography.municipalities):
        for j, group in enumerate(("lsg_staff", "residents_mixed")):
            themes = [Theme(services[(k + j + t) % len(services)], ("access", "quality")[t],
                            ("negative", "positive")[t], 3 + t + j,
                            quotes=[(QUOTES[(k + t + q) % len(QUOTES)], f"P{q + 1}", 5 + q)
                                    for q in range(3)]) for t in range(2)]
            out.append(Session(10_000 + 2 * k + j, code, group, FIELDWORK_START + dt.timedelta(days=k % 20),
                               roster, themes=themes, study_round=definition.study.round))
    return out


def corpus(respondents: int) -> tuple[Path, Definition, Geography]:
    """The scored warehouse of the module docstring, built when missing."""
    definition, geography = study()
    folder = ROOT / "out" / "bench" / f"study-report-{MUNICIPALITIES}-{respondents}"
    path = folder / "warehouse.duckdb"
    if (folder / "ready.json").exists():
        return path, definition, geography
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    import duckdb

    from bench.coverage import round_rows
    from fieldsim.fieldwork import plan_fieldwork
    from fieldsim.personas import draw_respondents, make_world
    from forms.sample_plan import plan_sample
    from tests.quality_world import write_focus_groups
    from tests.scoring_world import write_synced
    from warehouse.scoring import score

    began = time.perf_counter()
    world = make_world(definition, geography, SEED)
    plan = plan_sample(definition, geography)
    visits = plan_fieldwork(world, plan, draw_respondents(world, plan, respondents),
                            start=FIELDWORK_START)
    citizen, lsg = round_rows(definition, world, visits, set())
    conn = duckdb.connect(str(path))
    write_synced(conn, citizen, lsg)
    write_focus_groups(conn, sessions(definition, geography))
    score(conn, definition, geography)
    conn.close()
    seconds = round(time.perf_counter() - began)
    (folder / "ready.json").write_text(json.dumps(
        {"interviews": len(citizen), "assessments": len(lsg), "seconds": seconds}))
    print(f"corpus: {len(citizen)} interviews, {len(lsg)} assessments, scored in {seconds} s")
    return path, definition, geography


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--respondents", type=int, default=12_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    path, definition, geography = corpus(args.respondents)

    import duckdb

    from reports.gap_report import write_gap_report
    from reports.study_report import write_study_report

    out = ROOT / "out" / "bench" / "study-report-out"
    shutil.rmtree(out, ignore_errors=True)
    conn = duckdb.connect(str(path), read_only=True)
    municipalities = conn.execute("SELECT count(DISTINCT municipality_code) FROM gap_scores").fetchone()[0]
    times: dict[str, list[float]] = {"study report (docx)": [], "baseline: gap report (xlsx)": []}
    cpu: dict[str, list[float]] = {name: [] for name in times}
    size = 0
    for _ in range(args.runs):
        began, ticks = time.perf_counter(), time.process_time()
        report = write_study_report(conn, definition, geography, out, lang=LANG)
        times["study report (docx)"].append(time.perf_counter() - began)
        cpu["study report (docx)"].append(time.process_time() - ticks)
        size = report.stat().st_size
        began, ticks = time.perf_counter(), time.process_time()
        write_gap_report(conn, definition, out, lang=LANG)
        times["baseline: gap report (xlsx)"].append(time.perf_counter() - began)
        cpu["baseline: gap report (xlsx)"].append(time.process_time() - ticks)
    conn.close()
    print(f"{municipalities} municipalities, {args.runs} run(s), language {LANG}; "
          f"report {report.name}: {size / 1e6:.1f} MB")
    for name, values in times.items():
        print(f"  {name:<30} median {statistics.median(values):5.1f} s   "
              f"(min {min(values):.1f}, max {max(values):.1f}; CPU {statistics.median(cpu[name]):.1f} s)")
    best = statistics.median(times["study report (docx)"])
    verdict = "meets" if best < TARGET_SECONDS else "MISSES"
    print(f"target: under {TARGET_SECONDS:.0f} s for {MUNICIPALITIES} municipalities: {verdict}")
    return 0 if best < TARGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
