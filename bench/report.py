"""The report workbooks of a round of 40 municipalities and 30,000 citizen interviews, against the
way a peer writes the same data workbooks: pandas ``DataFrame.to_excel`` with openpyxl.

The corpus (made once per size in out/bench/report-<n>/, ``ready.json`` marks a finished one):
the bundled study with its four municipalities copied under new codes until there are 40 (one
field team of five enumerators each); the simulator draws the world, ``n`` respondents, the
fieldwork schedule (refusals, edits, deletions, supervisors' validation statuses) and every
answer exactly as ``aimak simulate`` does (``fieldsim``). Each finalised visit becomes the data
record KoboToolbox would serve for it (answers under their group paths, repeats as lists of
records, the form's calculations, ``meta/instanceID``, ``__version__``, ``_validation_status``)
and goes into ``raw_submissions`` with the forms' content as the local server builds it from
the generated XLSForms (``fieldsim.server.content``); then the real staging build
(``warehouse.staging``, what ``aimak sync`` runs after loading) and the real scoring
(``warehouse.scoring.score``) fill every table. Skipped: JavaRosa, HTTP and the landing files,
which change no value in the tables (bench/coverage.py skips them too).

Each variant runs in its own child process, on the corpus warehouse opened read-only with
``warehouse.db.connect`` (DuckDB's 256 MB budget, one thread), in Russian:

  * aimak: ``reports.data_export.write_data_workbooks``: data_citizen_survey.xlsx,
    data_lsg_assessment.xlsx, data_focus_group.xlsx, streamed in constant memory; then the rest
    of the full set, each writer timed apart (:data:`FULL_SET`: the fieldwork plan, the gap
    report, the 40 scorecards, the fieldwork workbook);
  * pandas: the same sheets (the same queries, columns, headers and labels, from
    ``reports.data_layout.plan_workbook``, and the same notes table of left-out submissions)
    read whole into data frames and written with ``DataFrame.to_excel(engine="openpyxl")``, one
    ``ExcelWriter`` per workbook: a peer's way. It writes less than aimak does (no widths,
    filters, frozen headers or number formats, and openpyxl takes a text that begins with '='
    for a formula), so the comparison favours the peer.

Shown per size and variant: the time to write the data workbooks (from the open warehouse to
the last file closed) as wall-clock and as CPU time (the machine may be shared: the load
average at the child's start and end is shown too), the child's resident memory before writing
and its peak while writing them (``getrusage`` ``ru_maxrss``, DuckDB included), and the size of
the data workbooks; for aimak also the time of the whole full set, per writer, and its peak.

Targets (issue 12): at 30,000 interviews aimak writes the data workbooks at least 3x faster
than pandas, in wall-clock and in CPU time; aimak's peak memory is flat from 10,000 to 30,000
interviews (it grows by less than :data:`FLAT_MB` MB while the data triples), where pandas'
grows with the data.

Where aimak's time goes (cProfile, December 2026): xlsxwriter turning cells into XML took nine
tenths of it, some 7 µs a cell (the loop of ``Book.stream`` under 2%); ``reports.streamed_sheet``
now writes a plain cell's XML in one step, byte for byte the same, which cut the data workbooks'
CPU time at 30,000 from about 19 s to about 12 s. What is left is mostly xlsxwriter's per-cell
bookkeeping and file writes, and DuckDB's range queries with the labels (about 1.6 s).

Run: .venv/bin/python bench/report.py [--sizes 10000 30000] [--runs 1]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from forty import study  # noqa: E402

from forms.definition import Definition, Geography  # noqa: E402

SEED = 2026
FIELDWORK_START = dt.date(2026, 11, 9)  # a Monday
SPEEDUP = 3.0  # aimak at least this many times faster than pandas at the largest size
FLAT_MB = 30  # aimak's peak memory grows by less than this from the smallest size to the largest
LANG = "ru"



def _plan(conn, definition: Definition, geography: Geography, out: Path, lang: str) -> list[Path]:
    from forms.schedule import schedule_fieldwork
    from reports.plan import write_fieldwork_plan

    schedule = schedule_fieldwork(definition, geography, start=FIELDWORK_START)
    return [write_fieldwork_plan(schedule, definition, geography, out, lang)]


def _gap_report(conn, definition: Definition, geography: Geography, out: Path, lang: str) -> list[Path]:
    from reports.gap_report import write_gap_report

    return [write_gap_report(conn, definition, out, lang=lang)]


def _scorecards(conn, definition: Definition, geography: Geography, out: Path, lang: str) -> list[Path]:
    from reports.scorecard import write_scorecards

    return write_scorecards(conn, definition, out, lang=lang)


def _fieldwork(conn, definition: Definition, geography: Geography, out: Path, lang: str) -> list[Path]:
    from reports.fieldwork import write_fieldwork_workbook

    return [write_fieldwork_workbook(conn, definition, out, lang=lang)]


# The other workbooks of "the full set" (issue 12), each a function (conn, definition, geography,
# out folder, language) -> the paths it wrote, timed apart in the aimak child with the real
# writers ``aimak report`` and ``aimak plan`` use.
FULL_SET: dict[str, Callable[..., list[Path]]] = {
    "plan": _plan, "gap report": _gap_report, "scorecards": _scorecards, "fieldwork": _fieldwork}


# --- the study and its corpus ------------------------------------------------------------------

def corpus(n: int) -> Path:
    """The warehouse of ``n`` citizen interviews (see the module docstring), built when missing."""
    folder = ROOT / "out" / "bench" / f"report-{n}"
    if (folder / "ready.json").exists():
        return folder / "warehouse.duckdb"
    shutil.rmtree(folder, ignore_errors=True)
    began = time.perf_counter()
    from etl.normalize import form_schema
    from fieldsim.fieldwork import plan_fieldwork
    from fieldsim.personas import draw_respondents, make_world
    from forms.build import generate_forms
    from forms.sample_plan import plan_sample
    from warehouse.db import connect
    from warehouse.scoring import score
    from warehouse.staging import build_form_tables
    from warehouse.store import WarehouseStore, record_deployment

    definition, geography = study()
    world = make_world(definition, geography, SEED)
    plan = plan_sample(definition, geography)
    visits = sorted((v for v in plan_fieldwork(world, plan, draw_respondents(world, plan, n),
                                               start=FIELDWORK_START) if not v.deleted),
                    key=lambda v: v.sent)
    print(f"corpus {n}: {len(visits)} visits drawn ({time.perf_counter() - began:.0f} s)", flush=True)
    conn = connect(folder / "warehouse.duckdb")
    conn.execute("SET enable_progress_bar = false")
    store = WarehouseStore(conn, folder / "landing")
    for spec in generate_forms(definition, geography):
        asset = _asset(spec)
        store.record_form(spec.form_id, asset)
        record_deployment(conn, spec.form_id, asset["uid"], spec.version,
                          asset["deployed_version_id"], "deploy")
        writer = RecordWriter(world, definition, asset)
        records = [writer.record(v, number) for number, v in enumerate(
            (v for v in visits if v.form == spec.form_id), start=1)]
        _load_raw(conn, asset["uid"], records)
        build_form_tables(conn, form_schema(spec.form_id, asset))
        print(f"corpus {n}: {spec.form_id}: {len(records)} records loaded and staged "
              f"({time.perf_counter() - began:.0f} s)", flush=True)
    score(conn, definition, geography)
    conn.close()
    seconds = round(time.perf_counter() - began)
    (folder / "ready.json").write_text(json.dumps({"n": n, "visits": len(visits), "seconds": seconds}))
    print(f"corpus {n}: scored, ready in {seconds} s", flush=True)
    return folder / "warehouse.duckdb"


def _asset(spec) -> dict[str, Any]:
    """The asset KoboToolbox would hold for the form: its content as the local server builds it
    from the XLSForm, its name, a uid and the deployed version."""
    from fieldsim.server.content import build_content

    book = {}
    for title, rows in zip(("survey", "choices", "settings"), spec.sheets(), strict=True):
        book[title] = [{k: v for k, v in zip(rows[0], row, strict=True) if v != ""} for row in rows[1:]]
    content, name = build_content(book)
    uid = "a" + hashlib.sha256(spec.form_id.encode()).hexdigest()[:21]
    return {"uid": uid, "name": name, "content": content, "deployed_version_id": "v" + spec.version}


class RecordWriter:
    """The data record of a finalised visit, as the server's data endpoint returns it."""

    def __init__(self, world, definition: Definition, asset: dict[str, Any]):
        self.world, self.definition, self.asset = world, definition, asset
        self.paths: dict[str, str] = {}  # question name -> its xpath
        self.owner: dict[str, str] = {}  # question name -> the repeat it sits in ('' for none)
        self.children: dict[str, list[str]] = {"": []}  # repeat path -> the repeats inside it
        stack: list[tuple[str, str]] = []
        for row in asset["content"]["survey"]:
            kind, name, path = row.get("type"), row.get("name"), row.get("$xpath")
            here = next((p for k, p in reversed(stack) if k == "repeat"), "")
            if kind in ("begin_group", "begin_repeat"):
                stack.append((kind.removeprefix("begin_"), path))
                if kind == "begin_repeat":
                    self.children[here].append(path)
                    self.children[path] = []
            elif kind in ("end_group", "end_repeat"):
                stack.pop()
            elif name:
                self.paths[name], self.owner[name] = path, here

    def record(self, visit, number: int) -> dict[str, Any]:
        from fieldsim.server.instance import validation_object
        from fieldsim.simulate import _answers

        answers = _answers(self.world, visit)
        values = dict(answers.values)
        values["study_round"] = self.definition.study.round
        if "resp_age" in values:
            age = int(values["resp_age"])
            values["resp_age_group"] = next(g.code for g in self.definition.age_groups
                                            if g.min <= age <= g.max)
        if "fg_participant" in answers.repeats:
            values["fg_n_participants"] = answers.repeats["fg_participant"]
        enumerator = self.world.enumerators.get(visit.enumerator)
        instance = visit.final_instance_id
        record: dict[str, Any] = {
            "_id": number, "formhub/uuid": self.asset["uid"][1:],
            "start": visit.start.isoformat(timespec="milliseconds"),
            "end": visit.end.isoformat(timespec="milliseconds"),
            "today": visit.start.date().isoformat(),
            "deviceid": enumerator.deviceid if enumerator else f"collect:{visit.enumerator}",
        }
        for name, value in values.items():
            if self.owner.get(name) == "" and name in self.paths:
                record[self.paths[name]] = _text(value)
        for path in self.children[""]:
            record[path] = self._instances(path, values, answers.repeats, ())
        status = visit.validation
        record.update({
            "__version__": self.asset["deployed_version_id"], "meta/instanceID": instance,
            "meta/rootUuid": visit.instance_id, "_xform_id_string": self.asset["uid"],
            "_uuid": instance.removeprefix("uuid:"),
            "_submission_time": visit.sent.astimezone(dt.UTC).replace(tzinfo=None).isoformat(),
            "_status": "submitted_via_web", "_submitted_by": None, "_attachments": [],
            "_validation_status": validation_object(status, "demo", 1_790_000_000) if status else {},
        })
        return {key: value for key, value in record.items() if value is not None or key == "_submitted_by"}

    def _instances(self, path: str, values: dict[str, Any], counts: dict[str, Any],
                   at: tuple[int, ...]) -> list[dict[str, Any]]:
        """The instances of the repeat ``path`` inside the parent instance ``at`` (indexes)."""
        count = counts.get(path.rsplit("/", 1)[-1], 0)
        for i in at:
            count = count[i] if isinstance(count, list) else count
        out = []
        for j in range(count):
            item = {}
            for name, owner in self.owner.items():
                if owner == path and name in values:
                    value = values[name]
                    for i in (*at, j):
                        value = value[i]
                    item[self.paths[name]] = _text(value)
            for child in self.children[path]:
                item[child] = self._instances(child, values, counts, (*at, j))
            out.append(item)
        return out


def _text(value: Any) -> str:
    """A value as the server sends it: text; a select_multiple's choices joined by spaces."""
    return " ".join(map(str, value)) if isinstance(value, list) else str(value)


def _load_raw(conn, asset_uid: str, records: list[dict[str, Any]]) -> None:
    import pandas as pd

    frame = pd.DataFrame({
        "_id": [r["_id"] for r in records], "_uuid": [r["_uuid"] for r in records],
        "root_uuid": [r["meta/rootUuid"] for r in records],
        "version": [r["__version__"] for r in records],
        "submission_time": [r["_submission_time"] for r in records],
        "validation_status": [r["_validation_status"].get("uid") for r in records],
        "payload": [json.dumps(r, ensure_ascii=False) for r in records]})
    conn.register("bench_raw", frame)
    conn.execute("""
        INSERT INTO raw_submissions
        SELECT ?, _id, _uuid, root_uuid, version, CAST(submission_time AS TIMESTAMP),
               validation_status, CAST(payload AS JSON), md5(payload), NULL, now(), now(), NULL, NULL
        FROM bench_raw""", [asset_uid])
    conn.unregister("bench_raw")


# --- the variants, each in a child process ----------------------------------------------------

def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu_seconds() -> float:
    """The process's CPU time (user and system): on a machine shared with other work it moves
    less than the wall-clock time does."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child(variant: str, warehouse: Path, out: Path) -> dict[str, Any]:
    """Write the data workbooks (and then, for aimak, the rest of the full set) once; return the
    figures. Each variant imports what it uses before the clock starts (and only that, so the
    memory before writing is each one's own)."""
    from warehouse.db import connect

    if variant == "aimak":
        from reports.data_export import write_data_workbooks
    else:
        import pandas  # noqa: F401

    definition, geography = study()
    conn = connect(warehouse, read_only=True)
    load = os.getloadavg()[0]
    before = _rss_mb()
    began, cpu = time.perf_counter(), _cpu_seconds()
    if variant == "aimak":
        paths = write_data_workbooks(conn, definition, out, LANG)
    else:
        paths = write_with_pandas(conn, definition, out)
    seconds, cpu = time.perf_counter() - began, _cpu_seconds() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # the data workbooks' peak
    others = {}
    written = []
    if variant == "aimak":
        for name, write in FULL_SET.items():
            start = time.perf_counter()
            written += write(conn, definition, geography, out, LANG)
            others[name] = round(time.perf_counter() - start, 2)
    return {"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2), "others": others,
            "rss_before_mb": round(before, 1), "peak_mb": round(peak, 1),
            "full_set_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "mb_written": round(sum(p.stat().st_size for p in paths) / 2**20, 1),
            "files": len(paths) + len(written), "load": [round(load, 2), round(os.getloadavg()[0], 2)]}


def write_with_pandas(conn, definition: Definition, out: Path) -> list[Path]:
    """The peer's way: each sheet's rows read whole into a data frame, written with openpyxl."""
    import pandas as pd

    from reports.data_export import TEXTS
    from reports.data_layout import EXCLUDED, plan_workbook, prepared, synced_forms
    from reports.texts import tr
    from reports.workbook import SheetNames
    from warehouse.payloads import q

    paths = []
    for form in synced_forms(conn, definition, LANG):
        path = out / f"pandas_{form.file_name}"
        plan = plan_workbook(conn, definition, form, LANG, sheet_name=SheetNames())
        with prepared(conn, plan), pd.ExcelWriter(path, engine="openpyxl") as writer:
            for sheet in plan.sheets:
                frame = conn.execute(sheet.sql).df()
                for j, column in enumerate(sheet.columns):
                    if column.labels:  # codes shown as their labels, as aimak shows them
                        frame.isetitem(j, frame.iloc[:, j].map(_decoder(column)))
                frame.columns = [c.header for c in sheet.columns]
                frame.to_excel(writer, sheet_name=sheet.name, index=False)
            excluded = conn.execute(f"""
                SELECT e._id, t._uuid, t._submission_time, e.reason AS reason_code
                FROM {EXCLUDED} e JOIN {q(form.main)} t USING (_id) ORDER BY e._id""").df()
            excluded.insert(3, "reason", excluded["reason_code"].map(
                lambda code: tr(f"reason.{code}", LANG, TEXTS) if f"reason.{code}" in TEXTS else code))
            excluded.to_excel(writer, sheet_name="Notes", index=False)
        paths.append(path)
    return paths


def _decoder(column) -> Callable[[Any], Any]:
    labels = column.labels

    def decode(code: Any) -> Any:
        if not isinstance(code, str):
            return code
        if column.multiple:
            return " ".join(labels.get(c, c) for c in code.split())
        return labels.get(code, code)
    return decode


def run_child(variant: str, warehouse: Path, out: Path) -> dict[str, Any]:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    done = subprocess.run([sys.executable, __file__, "--child", variant, "--warehouse",
                           str(warehouse), "--out", str(out)],
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"the {variant} child failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 30_000])
    parser.add_argument("--runs", type=int, default=1, help="runs of each variant (fastest shown)")
    parser.add_argument("--child", choices=("aimak", "pandas"), help=argparse.SUPPRESS)
    parser.add_argument("--warehouse", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.warehouse, args.out)))
        return 0

    results: dict[int, dict[str, dict[str, Any]]] = {}
    for n in sorted(args.sizes):
        warehouse = corpus(n)
        results[n] = {}
        for _run in range(args.runs):
            for variant in ("aimak", "pandas"):
                got = run_child(variant, warehouse, ROOT / "out" / "bench" / f"report-{n}" / variant)
                best = results[n].get(variant)
                if best is None or got["seconds"] < best["seconds"]:
                    results[n][variant] = got
        for variant, got in results[n].items():
            line = (f"{n:>6} interviews  {variant:<6}  data workbooks {got['seconds']:6.1f} s "
                    f"(CPU {got['cpu_seconds']:6.1f} s)  memory before {got['rss_before_mb']:6.1f} MB, "
                    f"peak {got['peak_mb']:6.1f} MB  written {got['mb_written']:5.1f} MB  "
                    f"load {got['load'][0]:.1f}->{got['load'][1]:.1f}")
            if got["others"]:
                line += (f"\n{'':>15}{variant:<6}  full set ({got['files']} files) "
                         f"{got['seconds'] + sum(got['others'].values()):6.1f} s: "
                         + ", ".join(f"{k} {s:.1f} s" for k, s in got["others"].items())
                         + f"; peak {got['full_set_peak_mb']:.1f} MB")
            print(line, flush=True)
    small, large = min(results), max(results)
    print()
    for n, got in results.items():
        print(f"at {n}: aimak writes the data workbooks {_ratio(got, 'seconds'):.1f}x faster than "
              f"pandas (CPU time {_ratio(got, 'cpu_seconds'):.1f}x)")
    speedup, cpu_speedup = _ratio(results[large], "seconds"), _ratio(results[large], "cpu_seconds")
    print(f"target at {large}: at least {SPEEDUP}x, in both wall-clock and CPU time")
    growth = {v: results[large][v]["peak_mb"] - results[small][v]["peak_mb"] for v in ("aimak", "pandas")}
    print(f"peak memory from {small} to {large}: aimak {growth['aimak']:+.1f} MB, "
          f"pandas {growth['pandas']:+.1f} MB (target: aimak below {FLAT_MB} MB)")
    ok = min(speedup, cpu_speedup) >= SPEEDUP and (small == large or growth["aimak"] < FLAT_MB)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def _ratio(got: dict[str, dict[str, Any]], key: str) -> float:
    """How many times longer pandas took than aimak, by ``key`` (wall-clock or CPU seconds)."""
    return got["pandas"][key] / got["aimak"][key]


if __name__ == "__main__":
    sys.exit(main())
