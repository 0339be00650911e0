"""Serving a 1000-record data page from a form with 100,000 submissions (local server).

Measures over HTTP: the first page, a middle page by key (``query={"_id":{"$gt":N}}``), and a
``fields`` page. Baseline in the same script: the naive way to build the same page — parse every
stored record and serialise it again — timed in-process against the way the server does it
(joining the stored JSON strings).

Run: .venv/bin/python bench/server_page.py [N]
"""

from __future__ import annotations

import json
import statistics
import sys
import time

import requests
from corpus import TOKEN, corpus

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
REPEATS = 7


def timed(fn) -> float:
    runs = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    from fieldsim.server import LocalServer
    from fieldsim.server.instance import close_record

    folder, uid = corpus(N)
    with LocalServer(folder / "data", token=TOKEN) as server:
        session = requests.Session()
        session.headers["Authorization"] = f"Token {TOKEN}"
        data = f"{server.api_url}/api/v2/assets/{uid}/data/"
        count = session.get(data, params={"limit": 1}).json()["count"]
        middle = count // 2

        def page(**params):
            response = session.get(data, params={"limit": 1000, "sort": '{"_id":1}', **params})
            response.raise_for_status()
            assert len(response.json()["results"]) == 1000

        first = timed(lambda: page())
        keyed = timed(lambda: page(query=json.dumps({"_id": {"$gt": middle}})))
        fields = timed(lambda: page(query=json.dumps({"_id": {"$gt": middle}}),
                                    fields='["_id","_uuid","_validation_status"]'))
        store = server.state.store
        rows = store.all("SELECT body, validation, submitted_by FROM submissions WHERE asset_uid = ? "
                         "AND id > ? ORDER BY id LIMIT 1000", (uid, middle))
        joined = timed(lambda: ",".join(close_record(r["body"], r["validation"], r["submitted_by"])
                                        for r in rows))
        naive = timed(lambda: json.dumps([json.loads(close_record(r["body"], r["validation"],
                                                                  r["submitted_by"])) for r in rows]))
        size = len(session.get(data, params={"limit": 1000}).content)
    print(f"local server, {count:,} submissions of citizen_survey, 1000-record pages "
          f"({size / 1e6:.1f} MB each), median of {REPEATS}:")
    print(f"  first page over HTTP:                   {first * 1000:7.1f} ms")
    print(f"  middle page by key (_id > {middle}):     {keyed * 1000:7.1f} ms")
    print(f"  middle page with fields (listing):      {fields * 1000:7.1f} ms")
    print(f"  page body, joined stored strings:       {joined * 1000:7.1f} ms")
    print(f"  baseline, parse + re-serialise records: {naive * 1000:7.1f} ms "
          f"({naive / joined:.0f}x slower)")


if __name__ == "__main__":
    main()
