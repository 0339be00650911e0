"""Benchmark of the JavaRosa form-filling engine (fieldsim/engine.py).

Generates a survey-like form of about 100 questions (groups, a cascading region/district/village
select, 12 service blocks each with a usage filter, 3 rated items, a problem list and a
follow-up, a household repeat), then
measures, in one JVM: start time, the first (cold) fill, fills per second over 2,000 auto-mode
fills in lockstep and pipelined, and the JVM's peak RSS (VmHWM). Baseline: one JVM per fill.

Run: /work/main/.venv/bin/python bench/engine_fill.py [--fills 2000] [--baseline 50]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from pyxform.xls2xform import convert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fieldsim.answerable import answerable_questions, answered_share  # noqa: E402
from fieldsim.engine import DEFAULT_JAVA_OPTIONS, FillRequest, FormEngine, compile_filler  # noqa: E402

SERVICES = [
    "water", "sewage", "roads", "lighting", "waste", "transport",
    "schools", "kindergartens", "clinics", "parks", "permits", "social_aid",
]  # fmt: skip


def build_form() -> dict:
    """The XLSForm as pyxform's dict input (sheet name -> list of rows)."""
    survey = [
        {"type": "start", "name": "start"},
        {"type": "end", "name": "end"},
        {"type": "today", "name": "today"},
        {"type": "deviceid", "name": "deviceid"},
        {"type": "username", "name": "username"},
        {"type": "select_one yn", "name": "consent", "label": "Do you agree?", "required": "yes"},
        {
            "type": "begin_group",
            "name": "resp",
            "label": "Respondent",
            "relevant": "${consent} = 'yes'",
        },
        {"type": "select_one region", "name": "region", "label": "Region", "required": "yes"},
        {
            "type": "select_one district",
            "name": "district",
            "label": "District",
            "required": "yes",
            "choice_filter": "region = ${region}",
        },
        {
            "type": "select_one village",
            "name": "village",
            "label": "Village",
            "required": "yes",
            "choice_filter": "district = ${district}",
        },
        {
            "type": "calculate",
            "name": "region_name",
            "calculation": "jr:choice-name(${region}, '${region}')",
        },
        {
            "type": "integer",
            "name": "age",
            "label": "Age",
            "required": "yes",
            "constraint": ". >= 18 and . <= 99",
            "constraint_message": "18 to 99",
        },
        {"type": "select_one sex", "name": "sex", "label": "Sex"},
        {"type": "select_one edu", "name": "education", "label": "Education"},
        {
            "type": "integer",
            "name": "hh_size",
            "label": "Household size",
            "constraint": ". >= 1 and . <= 20",
        },
        {
            "type": "select_multiple income",
            "name": "income",
            "label": "Income sources",
            "constraint": "count-selected(.) <= 3",
        },
        {
            "type": "decimal",
            "name": "spend",
            "label": "Monthly spending",
            "constraint": ". >= 0 and . <= 100000",
        },
        {"type": "date", "name": "moved_in", "label": "Moved in"},
        {"type": "select_one occ", "name": "occupation", "label": "Occupation"},
        {
            "type": "integer",
            "name": "years_here",
            "label": "Years lived here",
            "constraint": ". >= 0 and . <= 99",
        },  # fmt: skip
        {"type": "text", "name": "phone", "label": "Phone"},
        {"type": "end_group"},
    ]
    for svc in SERVICES:
        survey += [
            {
                "type": "begin_group",
                "name": f"g_{svc}",
                "label": svc.title(),
                "relevant": "${consent} = 'yes'",
                "appearance": "field-list",
            },
            {
                "type": "select_one yn",
                "name": f"uses_{svc}",
                "label": f"Used {svc}?",
                "required": "yes",
            },
            {
                "type": "select_one rating",
                "name": f"{svc}_quality",
                "label": "Quality",
                "relevant": f"${{uses_{svc}}} = 'yes'",
                "required": "yes",
            },
            {
                "type": "select_one rating",
                "name": f"{svc}_access",
                "label": "Access",
                "relevant": f"${{uses_{svc}}} = 'yes'",
                "required": "yes",
            },
            {
                "type": "select_one rating",
                "name": f"{svc}_staff",
                "label": "Staff",
                "relevant": f"${{uses_{svc}}} = 'yes'",
            },
            {
                "type": "select_multiple problem",
                "name": f"{svc}_problems",
                "label": "Problems",
                "relevant": f"${{uses_{svc}}} = 'yes'",
                "constraint": "count-selected(.) <= 3",
            },
            {
                "type": "text",
                "name": f"{svc}_why",
                "label": "Why so low?",
                "relevant": f"${{{svc}_quality}} = '1' or ${{{svc}_quality}} = '2'",
            },
            {"type": "end_group"},
        ]
    survey += [
        {
            "type": "begin_repeat",
            "name": "members",
            "label": "Household members",
            "relevant": "${consent} = 'yes'",
        },
        {"type": "text", "name": "m_name", "label": "Name"},
        {"type": "integer", "name": "m_age", "label": "Age", "constraint": ". >= 0 and . < 110"},
        {"type": "select_one sex", "name": "m_sex", "label": "Sex"},
        {"type": "select_one rel", "name": "m_rel", "label": "Relation"},
        {"type": "end_repeat"},
        {
            "type": "begin_group",
            "name": "close",
            "label": "Closing",
            "relevant": "${consent} = 'yes'",
        },
        {"type": "select_one rating", "name": "overall", "label": "Overall", "required": "yes"},
        {"type": "text", "name": "comments", "label": "Comments"},
        {"type": "select_one yn", "name": "recontact", "label": "May we call again?"},
        {"type": "text", "name": "interviewer_note", "label": "Interviewer's note"},
        {"type": "geopoint", "name": "loc", "label": "Location"},
        {"type": "image", "name": "photo", "label": "Photo"},
        {"type": "note", "name": "thanks", "label": "Thank you"},
        {"type": "end_group"},
    ]
    choices = [{"list_name": "yn", "name": v, "label": v} for v in ("yes", "no")]
    choices += [{"list_name": "sex", "name": v, "label": v} for v in ("f", "m")]
    choices += [{"list_name": "rating", "name": str(i), "label": str(i)} for i in range(1, 6)]
    choices += [{"list_name": "edu", "name": f"e{i}", "label": f"level {i}"} for i in range(6)]
    choices += [{"list_name": "income", "name": f"i{i}", "label": f"src {i}"} for i in range(7)]
    choices += [{"list_name": "rel", "name": f"r{i}", "label": f"rel {i}"} for i in range(5)]
    choices += [{"list_name": "occ", "name": f"o{i}", "label": f"job {i}"} for i in range(8)]
    choices += [{"list_name": "problem", "name": f"p{i}", "label": f"issue {i}"} for i in range(6)]
    for r in range(7):
        choices.append({"list_name": "region", "name": f"reg{r}", "label": f"Region {r}"})
        for d in range(5):
            dist = f"reg{r}_d{d}"
            choices.append(
                {"list_name": "district", "name": dist, "label": dist, "region": f"reg{r}"}
            )
            for v in range(6):
                choices.append(
                    {"list_name": "village", "name": f"{dist}_v{v}", "label": f"v{v}",
                     "district": dist}
                )  # fmt: skip
    return {
        "survey": survey,
        "choices": choices,
        "settings": [{"form_id": "bench_survey", "version": "1"}],
    }


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def requests(form: Path, n: int, offset: int = 0) -> list[FillRequest]:
    return [
        FillRequest(
            form,
            {"consent": "yes"},
            auto=True,
            seed=offset + i,
            start=f"2025-06-{1 + i % 28:02d}T09:{i % 60:02d}:00",
            end=f"2025-06-{1 + i % 28:02d}T09:{i % 60:02d}:40",
            deviceid=f"collect:enum{i % 8:02d}",
        )
        for i in range(n)
    ]


def measure(form: Path, fills: int, java_options: tuple[str, ...]) -> dict:
    out: dict = {}
    with FormEngine(java_options=java_options) as engine:
        out["start_s"] = engine.started_in
        t = time.perf_counter()
        engine.fill(form, {"consent": "yes"}, auto=True, seed=0)
        out["first_fill_s"] = time.perf_counter() - t
        # warm-up, then lockstep
        for req in requests(form, 300, offset=10_000):
            engine.fill(req.form, req.answers, auto=True, seed=req.seed)
        latencies = []
        reqs = requests(form, fills)
        t = time.perf_counter()
        for req in reqs:
            t1 = time.perf_counter()
            engine.fill(
                req.form, req.answers, auto=True, seed=req.seed, start=req.start,
                end=req.end, deviceid=req.deviceid,
            )  # fmt: skip
            latencies.append(time.perf_counter() - t1)
        out["lockstep_per_s"] = fills / (time.perf_counter() - t)
        latencies.sort()
        out["p50_ms"] = statistics.median(latencies) * 1000
        out["p99_ms"] = latencies[int(len(latencies) * 0.99)] * 1000
        t = time.perf_counter()
        xmls = [f.xml for f in engine.fill_many(requests(form, fills, offset=50_000))]
        out["pipelined_per_s"] = fills / (time.perf_counter() - t)
        out["xml_kb"] = sum(len(x) for x in xmls) / len(xmls) / 1024
        out["answered_share"] = answered_share(form, xmls)
        out["peak_rss_mb"] = peak_rss_mb(engine.pid)
    return out


def baseline(form: Path, n: int) -> float:
    """One JVM per fill (start, parse, fill, stop)."""
    t = time.perf_counter()
    for i in range(n):
        with FormEngine() as engine:
            engine.fill(form, {"consent": "yes"}, auto=True, seed=i)
    return n / (time.perf_counter() - t)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fills", type=int, default=2000)
    parser.add_argument(
        "--baseline", type=int, default=50, help="fills for the one-JVM-per-fill baseline"
    )
    parser.add_argument("--compare-options", action="store_true",
                        help="also measure other JVM option sets")  # fmt: skip
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        form = Path(tmp) / "bench_survey.xml"
        form.write_text(convert(build_form(), form_name="data").xform, encoding="utf-8")
        questions = answerable_questions(form)
        print(
            f"form: {len(questions)} answerable questions, {form.stat().st_size / 1024:.0f} KB XForm"
        )
        compile_filler()  # compile once, outside the timings

        option_sets = {"default " + " ".join(DEFAULT_JAVA_OPTIONS): DEFAULT_JAVA_OPTIONS}
        if args.compare_options:
            option_sets["JVM defaults (no flags)"] = ()
            option_sets["C1 only: -Xmx64m -XX:+UseSerialGC -XX:TieredStopAtLevel=1"] = (
                "-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            )  # fmt: skip
            option_sets["-Xmx32m -XX:+UseSerialGC"] = ("-Xmx32m", "-XX:+UseSerialGC")
        for label, options in option_sets.items():
            r = measure(form, args.fills, options)
            print(f"\nJVM options: {label}")
            print(f"  JVM start to ready:        {r['start_s'] * 1000:7.0f} ms")
            print(f"  first fill (cold parse):   {r['first_fill_s'] * 1000:7.0f} ms")
            print(
                f"  lockstep:   {r['lockstep_per_s']:7.0f} fills/s "
                f"(p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms) over {args.fills} fills"
            )
            print(f"  pipelined:  {r['pipelined_per_s']:7.0f} fills/s over {args.fills} fills")
            print(f"  peak RSS of the JVM (VmHWM): {r['peak_rss_mb']:.0f} MB")
            print(
                f"  average instance XML: {r['xml_kb']:.1f} KB; answered share: {r['answered_share']:.0%}"
            )
        if args.baseline:
            rate = baseline(form, args.baseline)
            print(f"\nbaseline, one JVM per fill: {rate:.1f} fills/s over {args.baseline} fills")


if __name__ == "__main__":
    main()
