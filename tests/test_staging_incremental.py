"""An incremental staging build (only the changed submissions) leaves the tables exactly as a
rebuild from nothing would: after new records, edits, deletions, validation changes, records set
aside and mended, extra payload keys coming and going, and a content change (which rebuilds the
whole form). Two warehouses get the same raw changes: one is built incrementally all along, the
other rebuilt in full every time; every table of the form must be equal."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl.normalize import form_schema
from warehouse.db import connect
from warehouse.raw import land_page, load_page, mark_deleted, reconcile
from warehouse.staging import build_form_tables

CONTRACT = Path(__file__).resolve().parent / "fixtures" / "kobo-contract"
ASSET = json.loads((CONTRACT / "asset_detail.json").read_text())
RECORDS = json.loads((CONTRACT / "data_page.json").read_text())["results"]
VOLATILE = {"quarantined_at", "landing_file"}


def record(n: int, uuid: str | None = None, **answers) -> dict:
    """A contract record (one of the three, in turn) as submission ``n``."""
    out = copy.deepcopy(RECORDS[n % 3])
    out.update({"_id": 1000 + n, "_uuid": uuid or f"u{n}", "meta/instanceID": f"uuid:{uuid or n}"}, **answers)
    return out


class Twins:
    """Two warehouses fed the same raw changes: ``inc`` built incrementally, ``full`` rebuilt."""

    def __init__(self, folder: Path, schema):
        self.folder, self.schema, self.pages = folder, schema, 0
        self.inc, self.full = connect(folder / "inc.duckdb"), connect(folder / "full.duckdb")

    def close(self):
        self.inc.close(), self.full.close()

    def load(self, records: list[dict], advance: bool = True):
        self.pages += 1
        body = json.dumps({"count": len(records), "next": None, "results": records}).encode()
        file = land_page(self.folder / "landing", ASSET["uid"], f"p{self.pages}", body)
        for conn in (self.inc, self.full):
            load_page(conn, ASSET["uid"], "wash", file, advance)

    def listing(self, drop: set[int] = frozenset(), status: dict[int, str] | None = None):
        """Reconcile with a listing of every live record but ``drop``, with ``status`` changed."""
        rows = self.inc.execute("SELECT _id, _uuid, validation_status FROM raw_submissions "
                                "WHERE superseded_at IS NULL AND deleted_at IS NULL").fetchall()
        listing = [(i, u, (status or {}).get(i, v)) for i, u, v in rows if i not in drop]
        for conn in (self.inc, self.full):
            check = reconcile(conn, ASSET["uid"], listing, max(i for i, _u, _v in rows))
            mark_deleted(conn, ASSET["uid"], check.missing_ids)

    def build(self, schema=None):
        """Build both; return the incremental build's result, after checking the tables agree."""
        self.schema = schema or self.schema
        result = build_form_tables(self.inc, self.schema)
        assert build_form_tables(self.full, self.schema, full=True).full
        assert snapshot(self.inc) == snapshot(self.full)
        return result


def snapshot(conn) -> dict:
    """Every staging table of the form, the long tables, the staging part of quarantine and what
    the build recorded: columns in order and rows sorted."""
    out = {}
    names = [r[0] for r in conn.execute("SELECT DISTINCT table_name FROM form_tables").fetchall()]
    for table in [*names, "answers", "select_multiple", "labels", "quarantine", "staging_shape",
                  "staging_extra_keys", "schema_notes", "form_tables"]:
        cols = [r[0] for r in conn.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = ? "
                                           "ORDER BY column_index", [table]).fetchall()]
        types = [r[0] for r in conn.execute("SELECT data_type FROM duckdb_columns() WHERE table_name = ? "
                                            "ORDER BY column_index", [table]).fetchall()]
        keep = [c for c in cols if c not in VOLATILE]
        rows = conn.execute(f'SELECT {", ".join(chr(34) + c + chr(34) for c in keep)} FROM "{table}" '
                            "ORDER BY ALL").fetchall()
        out[table] = (cols, types, rows)
    return out


@pytest.fixture()
def twins(tmp_path):
    pair = Twins(tmp_path, form_schema("wash", ASSET))
    yield pair
    pair.close()


def test_incremental_build__same_tables_as_a_full_rebuild_through_every_kind_of_change(twins):
    twins.load([record(n) for n in range(4)])
    assert twins.build().full  # the first build is whole

    twins.load([record(n) for n in range(4, 6)])
    new = twins.build()
    assert (new.full, new.restaged, new.submissions) == (False, 2, 6)

    edited = record(1, "u1-edited", **{"hh_info/hh_size": "9"})
    edited["hh_members"] = edited.get("hh_members", [])[:1]
    twins.load([edited], advance=False)
    assert twins.build().restaged == 1
    assert twins.inc.execute("SELECT hh_size FROM submissions_wash WHERE _id = 1001").fetchone() == (9,)

    twins.listing(drop={1000}, status={1002: "validation_status_not_approved"})
    changed = twins.build()
    assert (changed.full, changed.restaged, changed.submissions) == (False, 2, 5)

    twins.load([record(6, **{"hh_info/hh_size": "many"})])  # set aside, then mended by an edit
    assert twins.build().quarantined == 1
    twins.load([record(6, "u6-mended", **{"hh_info/hh_size": "3"})], advance=False)
    mended = twins.build()
    assert (mended.full, mended.quarantined, mended.submissions) == (False, 0, 6)
    assert twins.inc.execute("SELECT count(*) FROM quarantine").fetchone() == (0,)

    twins.load([record(7, **{"unknown/key": "kept as text"})])  # a new extra column: whole
    assert twins.build().full
    twins.load([record(8, **{"unknown/key": "again"})])
    assert not twins.build().full  # the column is there already
    twins.listing(drop={1007, 1008})  # the column goes with its last submission: whole
    assert twins.build().full

    newer = copy.deepcopy(ASSET)
    newer["content"]["survey"].insert(3, {"type": "integer", "name": "rooms", "$xpath": "rooms"})
    twins.load([record(9, rooms="4")])
    assert twins.build(form_schema("wash", newer)).full  # another shape: whole
    assert twins.inc.execute("SELECT rooms FROM submissions_wash WHERE _id = 1009").fetchone() == (4,)
    twins.load([record(10, rooms="5")])
    assert not twins.build().full


def test_stale_mark_with_nothing_changed__cleared_without_touching_a_row(twins):
    twins.load([record(n) for n in range(3)])
    twins.build()
    twins.load([record(1)])  # the same record again: nothing changes
    from warehouse.raw import is_stale, mark_stale

    mark_stale(twins.inc, ASSET["uid"])
    result = twins.build()
    assert (result.full, result.restaged) == (False, 0) and not is_stale(twins.inc, ASSET["uid"])


def test_repeat_index__stable_across_other_submissions_changes(twins):
    """A repeat instance's _index is its submission's _id * 1,000,000 + its number within the
    submission, so deleting or adding other submissions never renumbers it."""
    twins.load([record(n) for n in range(3)])
    twins.build()
    query = ("SELECT _index, _parent_index, _submission__id FROM repeat_wash__treatments "
             "WHERE _submission__id = 1000 ORDER BY _index")
    before = twins.inc.execute(query).fetchall()
    assert before and all(i // 1_000_000 == s for i, _p, s in before)
    assert [i % 1_000_000 for i, _p, _s in before] == list(range(1, len(before) + 1))
    twins.listing(drop={1001})
    twins.load([record(5)])
    twins.build()
    assert twins.inc.execute(query).fetchall() == before
    assert twins.inc.execute("SELECT _index FROM submissions_wash WHERE _id = 1002").fetchone() == (1002,)


OPERATIONS = st.lists(st.tuples(st.sampled_from(["new", "edit", "delete", "status", "bad"]),
                                st.integers(0, 11)), min_size=1, max_size=8)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(OPERATIONS)
def test_incremental_build__any_sequence_of_changes_equals_a_full_rebuild(tmp_path_factory, operations):
    twins = Twins(tmp_path_factory.mktemp("twins"), form_schema("wash", ASSET))
    try:
        twins.load([record(n) for n in range(3)])
        twins.build()
        for step, (operation, n) in enumerate(operations):
            live = {r[0] for r in twins.inc.execute("SELECT _id FROM raw_submissions WHERE "
                                                    "superseded_at IS NULL AND deleted_at IS NULL").fetchall()}
            if operation == "new" and 1000 + n not in live:
                twins.load([record(n)])
            elif operation in ("edit", "bad") and 1000 + n in live:
                size = "lots" if operation == "bad" else str(n + step)
                twins.load([record(n, f"u{n}-{step}", **{"hh_info/hh_size": size})], advance=False)
            elif operation == "delete" and 1000 + n in live and len(live) > 1:
                twins.listing(drop={1000 + n})
            elif operation == "status" and 1000 + n in live:
                twins.listing(status={1000 + n: ["validation_status_approved", None][step % 2]})
            twins.build()
    finally:
        twins.close()


BUILD_KILLED = """
import sys
from pathlib import Path
from etl.normalize import form_schema
from warehouse.db import connect
from warehouse.staging import build_form_tables
import json

class Conn:  # the warehouse connection, stopped just before the build's COMMIT
    def __init__(self, conn):
        self._conn = conn
    def __getattr__(self, name):
        return getattr(self._conn, name)
    def execute(self, sql, *args):
        if sql.strip().upper() == "COMMIT":
            print("about to commit", flush=True)
            sys.stdin.readline()  # the test kills this process here
        return self._conn.execute(sql, *args)

folder, asset = Path(sys.argv[1]), json.loads(sys.argv[2])
build_form_tables(Conn(connect(folder / "w.duckdb")), form_schema("wash", asset))
"""


def test_incremental_build_killed_before_its_commit__nothing_half_done_and_done_next_time(tmp_path):
    from killing import killed_child

    from warehouse.raw import is_stale

    conn = connect(tmp_path / "w.duckdb")
    schema = form_schema("wash", ASSET)
    pages = iter(range(100))

    def load(records, advance=True):
        body = json.dumps({"count": len(records), "next": None, "results": records}).encode()
        load_page(conn, ASSET["uid"], "wash", land_page(tmp_path / "landing", ASSET["uid"], f"p{next(pages)}", body),
                  advance)

    load([record(n) for n in range(4)])
    build_form_tables(conn, schema)
    before = snapshot(conn)
    load([record(4), record(5)])
    load([record(1, "u1-edited", **{"hh_info/hh_size": "8"})], advance=False)
    conn.close()

    assert killed_child(BUILD_KILLED, str(tmp_path), json.dumps(ASSET)) == "about to commit"

    conn = connect(tmp_path / "w.duckdb")
    assert snapshot(conn) == before and is_stale(conn, ASSET["uid"])
    result = build_form_tables(conn, schema)
    assert (result.full, result.restaged, result.submissions) == (False, 3, 6)
    after = snapshot(conn)
    build_form_tables(conn, schema, full=True)
    assert snapshot(conn) == after
    conn.close()


def test_full_refresh__the_next_build_is_whole(twins):
    from warehouse.store import WarehouseStore

    twins.load([record(n) for n in range(3)])
    twins.build()
    store = WarehouseStore(twins.inc, twins.folder / "landing")
    assert not store.rebuild(twins.schema).full  # nothing to do: only the changes
    store.start_over(ASSET["uid"])
    assert store.needs_rebuild(twins.schema)
    rebuilt = store.rebuild(twins.schema)
    assert (rebuilt.full, rebuilt.restaged, rebuilt.submissions) == (True, 3, 3)
