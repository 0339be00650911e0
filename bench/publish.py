"""How fast ``aimak publish`` copies a national round (200,000 citizen submissions) to PostgreSQL,
against pandas ``DataFrame.to_sql`` of the same tables, rows and columns, in the same script.

Both write every table ``aimak publish`` writes (the marts, the dimensions and the typed form
tables without personal data) into their own new database on the same throwaway PostgreSQL server
(``tests/postgres_server.py``: initdb in a temporary folder, 127.0.0.1, a free port; fsync off for
both). Both read the same DuckDB query per table (``warehouse.publish.rows_query``), so the only
difference is the writing: ours streams DuckDB's CSV into ``COPY FROM STDIN`` (psycopg 3) inside one
transaction; the baseline loads each table into a DataFrame and calls ``to_sql(if_exists="replace",
index=False, chunksize=10000)`` through SQLAlchemy and psycopg 3 (batched INSERTs). Row counts are
checked equal at the end. Target: ours at least 5 times faster.

The warehouse: a synced national corpus scored with ``aimak score`` (a copy: the benchmark only
reads it). Make one with bench/national.py (the 200k study and its warehouse, as ``aimak sync``
leaves it), copy its warehouse.duckdb and study/ to out/bench/publish-200000/ and run there
``aimak score --warehouse warehouse.duckdb --definition study/indicators.yaml --geography
study/geography.csv``.

Run: .venv/bin/python bench/publish.py [--warehouse out/bench/publish-200000/warehouse.duckdb]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from forms.loader import load_definition  # noqa: E402
from tests.postgres_server import PostgresServer  # noqa: E402
from warehouse.db import connect  # noqa: E402
from warehouse.publish import plan_publish, publish, rows_query  # noqa: E402

DEFAULT = ROOT / "out" / "bench" / "publish-200000" / "warehouse.duckdb"
TARGET = 5.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, default=DEFAULT)
    parser.add_argument("--definition", type=Path, default=None,
                        help="study definition (default: study/indicators.yaml beside the warehouse)")
    args = parser.parse_args()
    if not args.warehouse.exists():
        sys.exit(f"no warehouse at {args.warehouse}: make one as the docstring of {__file__} says")
    definition = load_definition(args.definition or args.warehouse.parent / "study" / "indicators.yaml")
    conn = connect(args.warehouse, read_only=True, memory_limit="2GB", threads=2)
    submissions = conn.execute("SELECT count(*) FROM submissions_citizen_survey").fetchone()[0]
    print(f"warehouse {args.warehouse}: {submissions} citizen submissions")
    with PostgresServer() as server:
        with psycopg.connect(server.url(), autocommit=True) as admin:
            admin.execute("CREATE DATABASE ours")
            admin.execute("CREATE DATABASE baseline")

        started = time.perf_counter()
        result = publish(conn, server.url(database="ours"), definition)
        ours = time.perf_counter() - started
        rows = sum(result.rows.values())
        print(f"aimak publish (COPY):   {rows:>9} rows in {len(result.rows)} tables  {ours:7.1f} s")

        plan = plan_publish(conn, definition, None, {})
        engine = sa.create_engine(server.url(database="baseline").replace(
            "postgresql://", "postgresql+psycopg://"))
        started = time.perf_counter()
        baseline_rows = {}
        for item in plan.items:
            frame = conn.execute(rows_query(item, utc_naive=False)).df()
            frame.to_sql(item.table.name, engine, if_exists="replace", index=False,
                         chunksize=10_000)
            baseline_rows[item.table.name] = len(frame)
        baseline = time.perf_counter() - started
        engine.dispose()
        print(f"pandas to_sql (baseline): {sum(baseline_rows.values()):>7} rows in "
              f"{len(baseline_rows)} tables  {baseline:7.1f} s")

        with psycopg.connect(server.url(database="baseline")) as db:
            counted = {name: db.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
                       for name in baseline_rows}
    assert counted == result.rows == baseline_rows, "the two publishes wrote different rows"
    for name, n in sorted(result.rows.items(), key=lambda kv: -kv[1])[:6]:
        print(f"  {name}: {n} rows")
    speedup = baseline / ours
    verdict = "met" if speedup >= TARGET else "NOT met"
    print(f"speed-up: {speedup:.1f}x (target >= {TARGET:g}x: {verdict})")


if __name__ == "__main__":
    main()
