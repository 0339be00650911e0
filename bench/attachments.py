"""Attachments: what ``aimak sync --attachments`` costs, from the local server (in its own process).

The server holds the evidence form with F submissions carrying two files each (a 200 kB photo, a
100 kB audio note), P submissions with no file, and one submission with a 200 MB recording. Each
run is a child process (its own CPU seconds and peak memory):
  * the first attachment pass (after the data sync): files, MB/s, peak memory;
  * a re-sync with nothing new, with and without the attachment pass: the CPU the pass adds when
    nothing changed (target: < 0.5 s);
  * baseline, the approach peer tools take for the same files: ``requests.get(url).content``
    written to disk, the whole file in memory; its peak memory against aimak's (target: aimak's
    peak does not grow with the file: < 1/3 of the baseline's with the 200 MB recording).

Run: .venv/bin/python bench/attachments.py [F] [P]
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from media_world import jpeg, media_world  # noqa: E402

F = int(sys.argv[1]) if len(sys.argv) > 1 else 500
P = int(sys.argv[2]) if len(sys.argv) > 2 else 20_000
BIG = 200 * 2**20
WORK = ROOT / "out" / "bench" / "attachments"

MEASURE = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
from etl.attachments import fetch_attachments
from etl.http import HttpClient
from etl.kobo import KoboClient
from etl.sync import deployed_assets, sync_form
from warehouse.attachments import AttachmentStore
from warehouse.db import connect
from warehouse.store import WarehouseStore
client = KoboClient(HttpClient(URL, TOKEN))
asset = deployed_assets(client)[0]
conn = connect(Path(FOLDER) / "w.duckdb")
extra = {{}}
cpu0, wall0 = time.process_time(), time.perf_counter()
{body}
print(json.dumps({{"cpu": time.process_time() - cpu0, "wall": time.perf_counter() - wall0,
                   "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **extra}}))
"""
SYNC = "sync_form(client, WarehouseStore(conn, Path(FOLDER) / 'landing'), asset)"
FETCH = """
result = fetch_attachments(client, AttachmentStore(conn, Path(FOLDER)), asset)
extra = {"files": result.downloaded, "bytes": result.bytes, "failed": result.failed}
"""
BASELINE = """
import requests
session = requests.Session()
session.headers["Authorization"] = "Token " + TOKEN
records, size = conn.execute("SELECT CAST(payload AS VARCHAR) FROM raw_submissions").fetchall(), 0
out = Path(FOLDER) / "baseline"
out.mkdir(exist_ok=True)
for (payload,) in records:
    for item in json.loads(payload).get("_attachments") or []:
        body = session.get(item["download_url"]).content
        (out / item["uid"]).write_bytes(body)
        size += len(body)
extra = {"bytes": size}
"""


def child(body: str, url: str, token: str) -> dict:
    code = MEASURE.format(root=str(ROOT), body=textwrap.dedent(body))
    code = f"URL, TOKEN, FOLDER = {url!r}, {token!r}, {str(WORK / 'client')!r}\n" + code
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def seed(folder: Path) -> tuple[str, str]:
    """Fill a server folder with the corpus; return its token and the evidence form's uid."""
    with media_world(folder) as world:
        for i in range(F):
            world.submit(photo=f"p{i}.jpg", voice=f"v{i}.m4a",
                         files={f"p{i}.jpg": jpeg(2 * i, 200_000), f"v{i}.m4a": jpeg(2 * i + 1, 100_000)})
        world.submit(voice="interview.m4a", files={"interview.m4a": b"\x00" * BIG})
        world.submit(village="no files")
        store = world.server.state.store
        plain = json.loads(store.one("SELECT body FROM submissions ORDER BY id DESC LIMIT 1")["body"])
        plain.pop("_id")
        records = []
        for i in range(P):
            new = str(uuid.UUID(int=i + 1))
            records.append({**plain, "_uuid": new, "meta/instanceID": f"uuid:{new}", "meta/rootUuid": f"uuid:{new}"})
        store.insert_records(world.uid, records, world.server.username)
        return world.server.token, world.uid


def main() -> None:
    shutil.rmtree(WORK, ignore_errors=True)
    # seeded in a child process: a child's peak memory (ru_maxrss) starts at its parent's
    seeded = subprocess.run([sys.executable, __file__, str(F), str(P), "--seed"], capture_output=True,
                            text=True, check=True)
    token = seeded.stdout.strip().splitlines()[-1]
    server = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from pathlib import Path
        from fieldsim.server import LocalServer
        with LocalServer(Path({str(WORK / 'server' / 'server')!r}), token={token!r}, username="enum1") as s:
            print(s.api_url, flush=True)
            time.sleep(3600)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().strip()
        child(SYNC, url, token)
        first = child(FETCH, url, token)
        plain = child(SYNC, url, token)
        both = child(SYNC + "\n" + FETCH, url, token)
        baseline = child(BASELINE, url, token)
    finally:
        server.kill()
    assert first["failed"] == 0 and first["files"] == 2 * F + 1 and first["bytes"] == baseline["bytes"]
    print(f"attachments of {F:,} submissions with 2 files + one of {BIG / 2**20:.0f} MiB + {P:,} without "
          f"({first['bytes'] / 1e6:,.0f} MB), local server, client process only:")
    row = "  {:<52} {:>7.1f} s CPU {:>7.1f} s wall {:>6.0f} MB peak"
    print(row.format(f"first pass: {first['files']:,} files, {first['bytes'] / 1e6 / first['wall']:.0f} MB/s",
                     first["cpu"], first["wall"], first["peak_mb"]))
    print(row.format("re-sync, nothing new, without attachments", plain["cpu"], plain["wall"], plain["peak_mb"]))
    print(row.format("re-sync, nothing new, with attachments", both["cpu"], both["wall"], both["peak_mb"]))
    print(row.format("baseline: requests .content, written whole", baseline["cpu"], baseline["wall"],
                     baseline["peak_mb"]))
    added = both["cpu"] - plain["cpu"]  # CPU: the wall time of a 1 s run is mostly the machine's mood
    print(f"  the attachment pass adds {added:.2f} s CPU to a sync with nothing new "
          f"({added / plain['cpu']:.0%} of its {plain['cpu']:.2f} s; target < 0.5 s); peak memory: "
          f"aimak / baseline = {first['peak_mb'] / baseline['peak_mb']:.2f} (target < 0.33)")


if __name__ == "__main__":
    if sys.argv[3:] == ["--seed"]:
        print(seed(WORK / "server")[0])
    else:
        main()
