"""Benchmark of the simulated field team (fieldsim/simulate.py) against the local server.

Builds the bundled study's forms, starts the KoboToolbox-compatible local server in its own
process (so it does not share the client's GIL), deploys the forms, then measures:

- simulate(): the whole fieldwork for ``--respondents`` citizen interviews (plus LSG assessments
  and focus groups): answers drawn, every instance filled by JavaRosa (one JVM, pipelined, two
  filling threads on this 2-core machine) while a thread pool posts over OpenRosa, resends, edits,
  deletions and validation statuses included. Figures: citizen submissions per second over the
  whole run (from the JVM's start to the end of supervision), posts per second while sending, and
  the CPU of the server, this process and the JVM.
- baseline: the same kind of citizen interviews filled in lockstep (one ``fill`` at a time) and
  posted one after another with requests, on a fresh server.

Run: /work/main/.venv/bin/python bench/simulate.py [--respondents 3000] [--baseline 600]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from etl.deploy import deploy_forms  # noqa: E402
from etl.http import HttpClient  # noqa: E402
from etl.kobo import KoboClient  # noqa: E402
from fieldsim.engine import FormEngine  # noqa: E402
from fieldsim.fieldwork import default_start, plan_fieldwork  # noqa: E402
from fieldsim.personas import draw_respondents, make_world  # noqa: E402
from fieldsim.simulate import _answers, _download, _request, discover_forms, simulate  # noqa: E402
from forms import BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY  # noqa: E402
from forms.build import build_forms, load_study  # noqa: E402
from forms.sample_plan import plan_sample  # noqa: E402

TOKEN = "b" * 40
# The server runs in a child process so its CPU is not counted as the client's.
SERVER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from fieldsim.server import LocalServer
    with LocalServer(Path(sys.argv[1]), token=sys.argv[2]) as srv:
        print(srv.api_url, flush=True)
        time.sleep(3600)
""")


def start_server(folder: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(folder), TOKEN],
                            stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1])
    url = proc.stdout.readline().strip()
    if not url:
        proc.kill()
        raise SystemExit("the local server did not start")
    return proc, url


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def children_cpu() -> float:
    """CPU of waited-for children: the JVM once simulate() has closed its engine."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_simulate(forms: Path, root: Path, respondents: int) -> None:
    proc, url = start_server(root / "server-sim")
    try:
        deploy_forms(KoboClient(HttpClient(url, TOKEN)), forms)
        marks: dict[str, float] = {}

        def progress(stage: str, done: int, total: int) -> None:
            marks.setdefault(stage, time.perf_counter())
            marks[f"{stage}_end"] = time.perf_counter()

        server0, client0, jvm0 = cpu_seconds(proc.pid), own_cpu(), children_cpu()
        began = time.perf_counter()
        result = simulate(url, TOKEN, respondents=respondents, out_dir=root / "out",
                          keep_instances=False, on_progress=progress)
        wall = time.perf_counter() - began
        sending = marks["submitting_end"] - marks["submitting"]
        citizen = sum(v.form == "citizen_survey" for v in result.visits)
        print(f"simulate(): {respondents} interviews, {result.filled} instances filled, "
              f"{result.posted} posts ({result.duplicates} duplicates, {result.edited} edits), "
              f"{result.deleted} deleted, validation {sum(result.validation.values())} set")
        print(f"  whole run (JVM start, formList, fill + post, supervision): {wall:.1f} s -> "
              f"{citizen / wall:.0f} citizen submissions/s")
        print(f"  sending phase: {sending:.1f} s -> {result.posted / sending:.0f} posts/s "
              f"(before it {marks['submitting'] - began:.1f} s: plan, formList, JVM start, first "
              f"fill; supervision {marks['supervising_end'] - marks['supervising']:.1f} s)")
        print(f"  CPU: server {cpu_seconds(proc.pid) - server0:.1f} s, client Python "
              f"{own_cpu() - client0:.1f} s, JVM {children_cpu() - jvm0:.1f} s")
    finally:
        proc.kill()
        proc.wait()


def run_baseline(forms: Path, root: Path, respondents: int) -> None:
    """Lockstep fill + sequential post with requests, on a fresh server."""
    import requests

    proc, url = start_server(root / "server-base")
    try:
        kobo = KoboClient(HttpClient(url, TOKEN))
        deploy_forms(kobo, forms)
        from fieldsim.openrosa_client import OpenRosaClient

        with OpenRosaClient(url, token=TOKEN) as client:
            xforms = _download(client, discover_forms(kobo), root / "base-forms")
        definition, geography = load_study(BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY)
        plan = plan_sample(definition, geography)
        world = make_world(definition, geography, 7)
        people = draw_respondents(world, plan, respondents)
        visits = [v for v in plan_fieldwork(world, plan, people, start=default_start())
                  if v.form == "citizen_survey"]
        session = requests.Session()
        session.headers["Authorization"] = f"Token {TOKEN}"
        began = time.perf_counter()
        with FormEngine() as engine:
            for visit in visits:
                request = _request(world, visit, xforms["citizen_survey"], _answers(world, visit))
                filled = engine.fill(request.form, request.answers, repeats=request.repeats,
                                     lang=request.lang, start=request.start, end=request.end,
                                     today=request.today, deviceid=request.deviceid,
                                     instance_id=request.instance_id)
                response = session.post(f"{url}/submission", files={
                    "xml_submission_file": ("submission.xml", filled.xml, "text/xml")})
                assert response.status_code == 201, response.text
        wall = time.perf_counter() - began
        print(f"baseline (lockstep fill, sequential requests.post, JVM start included): "
              f"{len(visits)} citizen submissions in {wall:.1f} s -> {len(visits) / wall:.0f}/s")
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--respondents", type=int, default=3000)
    parser.add_argument("--baseline", type=int, default=600, help="interviews for the baseline")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores; server in a child process")
    with tempfile.TemporaryDirectory(prefix="aimak-bench-sim-") as tmp:
        root = Path(tmp)
        forms = root / "forms"
        build_forms(BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY, forms, validate=False)
        run_simulate(forms, root, args.respondents)
        if args.baseline:
            run_baseline(forms, root, args.baseline)


if __name__ == "__main__":
    main()
