"""The ``aimak`` command from the shell, wall time as a data manager sees it:
  * ``aimak sync`` with nothing new against the local server (the forms and N citizen
    submissions of the bench corpus, synced once before): target < 3 s;
  * baseline: the same command as a Prefect flow run (``--prefect``; no Prefect API configured,
    so Prefect starts its temporary server, as every ``aimak sync`` did before);
  * fast errors (target < 2 s): a missing token, a KOBO_URL that is not http(s), a refused
    connection, https to the plain-http local server;
  * for scale: starting Python and importing what ``aimak sync`` imports.
Each figure is the run with the least wall time of REPEAT (the machine is shared with other
work), with its CPU time.

Run: .venv/bin/python bench/cli.py [N] [REPEAT]
"""

from __future__ import annotations

import os
import resource
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from corpus import ROOT, TOKEN, corpus

N = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000
REPEAT = int(sys.argv[2]) if len(sys.argv) > 2 else 3
WORK = ROOT / "out" / "bench" / "cli"
AIMAK = str(Path(sys.executable).with_name("aimak"))


def best_wall(command: list[str], env: dict[str, str], expect: int,
              repeat: int = REPEAT) -> tuple[float, float]:
    """(wall, CPU) seconds of the run with the least wall time; CPU (user + system, the command's
    processes) shows what the command costs when the shared machine's load inflates wall time."""
    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=WORK)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best = min(best, (wall, cpu))
        assert done.returncode == expect, (command, done.stdout, done.stderr)
    return best


def main() -> None:
    folder, _uid = corpus(N)
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    # the corpus served by the command itself, as a data manager would run it
    server = subprocess.Popen([AIMAK, "server", "--port", "0", "--data", str(folder / "data"),
                               "--token", TOKEN], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("KOBO_", "AIMAK_", "PREFECT_"))}
    env.update(DO_NOT_TRACK="1", PREFECT_HOME=str(WORK / "prefect"),
               AIMAK_WAREHOUSE=str(WORK / "warehouse.duckdb"))
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    try:
        url = next(line.split()[-1] for line in server.stdout if "API (KOBO_URL):" in line)
        kobo = {**env, "KOBO_URL": url, "KOBO_TOKEN": TOKEN}
        subprocess.run([AIMAK, "sync"], env=kobo, cwd=WORK, check=True, capture_output=True)
        rows = [
            ("aimak sync, nothing new (target < 3 s)", best_wall([AIMAK, "sync"], kobo, 0)),
            ("baseline: aimak sync --prefect, nothing new", best_wall([AIMAK, "sync", "--prefect"], kobo, 0, 1)),
            ("error: KOBO_TOKEN missing (< 2 s)", best_wall([AIMAK, "sync"], {**env, "KOBO_URL": url}, 1)),
            ("error: KOBO_URL=htp://... (< 2 s)",
             best_wall([AIMAK, "sync"], {**kobo, "KOBO_URL": "htp://kf.kobotoolbox.org"}, 1)),
            ("error: connection refused (< 2 s)",
             best_wall([AIMAK, "sync"], {**kobo, "KOBO_URL": f"http://127.0.0.1:{closed}"}, 1)),
            ("error: https to the plain-http server (< 2 s)",
             best_wall([AIMAK, "sync"], {**kobo, "KOBO_URL": url.replace("http:", "https:")}, 1)),
            ("for scale: python -c 'import flows.cli, flows.stages'",
             best_wall([sys.executable, "-c", "import flows.cli, flows.stages"], env, 0)),
        ]
    finally:
        server.terminate()  # aimak server stops cleanly on SIGTERM
        server.wait(timeout=30)
    print(f"aimak from the shell, local server with {N:,} citizen submissions, best of {REPEAT}:")
    for name, (wall, cpu) in rows:
        print(f"  {name:<56} {wall:6.2f} s wall {cpu:6.2f} s CPU")
    print(f"  sync: --prefect / direct = {rows[1][1][0] / rows[0][1][0]:.1f}x wall; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
