"""Raw loading and content-driven staging, on KoboToolbox's own response shapes
(../shared/kobo-contract): typed columns, repeats linked like Kobo's export, select_multiple bridge
and 0/1 columns, geopoints split, the long answers table, labels, edits, deletions, quarantine."""

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

CONTRACT = Path(__file__).resolve().parent / "fixtures" / "kobo-contract"  # copy of shared/


@pytest.fixture(scope="module")
def asset():
    return json.loads((CONTRACT / "asset_detail.json").read_text())


@pytest.fixture(scope="module")
def page():
    return json.loads((CONTRACT / "data_page.json").read_text())


@pytest.fixture()
def warehouse(tmp_path):
    conn = connect(tmp_path / "w.duckdb")
    yield conn, tmp_path / "landing"
    conn.close()


def load(conn, landing, asset, records, name="p", advance=True):
    body = json.dumps({"count": len(records), "next": None, "previous": None, "results": records}).encode()
    return load_page(conn, asset["uid"], "wash", land_page(landing, asset["uid"], name, body), advance)


def test_form_schema__tables_kinds_and_nested_repeats_from_content(asset):
    schema = form_schema("wash", asset)
    assert [t.path for t in schema.tables] == ["", "hh_members", "hh_members/treatments"]
    assert schema.tables[2].parent == "hh_members"
    kinds = {f.column: f.kind for f in schema.main.fields}
    assert kinds["hh_size"] == "integer" and kinds["hh_location"] == "geopoint"
    assert kinds["water_sources"] == "select_multiple" and kinds["start"] == "datetime"
    assert schema.languages == ("en", "fr")


def test_staging__typed_submissions_with_split_geopoint_and_choice_columns(warehouse, asset, page):
    conn, landing = warehouse
    load(conn, landing, asset, page["results"])
    result = build_form_tables(conn, form_schema("wash", asset))
    assert result.submissions == 3 and result.quarantined == 0
    row = conn.execute("""SELECT hh_size, hh_location_latitude, hh_location_accuracy,
        "water_sources/piped", "water_sources/surface_water", _validation_status, __version__
        FROM submissions_wash WHERE _id = 40215001""").fetchone()
    assert row == (2, 12.571046, 4.8, 1, 0, "validation_status_approved", "vAL4cbH5VBLNfUybApRfBU")
    types = dict(conn.execute("SELECT column_name, data_type FROM duckdb_columns() "
                              "WHERE table_name = 'submissions_wash'").fetchall())
    assert types["hh_size"] == "BIGINT" and types["start"] == "TIMESTAMP WITH TIME ZONE"
    assert types["today"] == "DATE" and types["_submission_time"] == "TIMESTAMP"
    # absent geopoint -> NULLs, not an error
    assert conn.execute("SELECT hh_location FROM submissions_wash WHERE _id = 40215009").fetchone() == (None,)


def test_staging__repeats_linked_like_kobo_export(warehouse, asset, page):
    conn, landing = warehouse
    load(conn, landing, asset, page["results"])
    build_form_tables(conn, form_schema("wash", asset))
    members = conn.execute("SELECT _index, _parent_index, _parent_table_name, _submission__id, member_name "
                           "FROM repeat_wash__hh_members ORDER BY _index").fetchall()
    expected_members = [(m["hh_members/member_name"], r["_id"]) for r in page["results"]
                        for m in r.get("hh_members", [])]
    assert [(m[4], m[3]) for m in members] == expected_members
    main_index = dict(conn.execute("SELECT _id, _index FROM submissions_wash").fetchall())
    assert all(m[1] == main_index[m[3]] and m[2] == "submissions_wash" for m in members)
    treatments = conn.execute("SELECT t.treatment_name, m.member_name FROM repeat_wash__treatments t "
                              "JOIN repeat_wash__hh_members m ON m._index = t._parent_index "
                              "ORDER BY t._index").fetchall()
    expected = [(t["hh_members/treatments/treatment_name"], m["hh_members/member_name"])
                for r in page["results"] for m in r.get("hh_members", [])
                for t in m.get("hh_members/treatments", [])]
    assert treatments == expected and len(expected) >= 2


def test_staging__answers_long_bridge_and_labels(warehouse, asset, page):
    conn, landing = warehouse
    load(conn, landing, asset, page["results"])
    build_form_tables(conn, form_schema("wash", asset))
    first = page["results"][0]
    value = conn.execute("SELECT value, value_numeric FROM answers WHERE submission_id = ? "
                         "AND question = 'hh_size'", [first["_id"]]).fetchone()
    assert value == (first["hh_info/hh_size"], float(first["hh_info/hh_size"]))
    bridge = {r[0] for r in conn.execute("SELECT choice FROM select_multiple WHERE submission_id = ? "
                                         "AND question = 'water_sources'", [first["_id"]]).fetchall()}
    assert bridge == set(first["water_sources"].split())
    labels = dict(conn.execute("SELECT language, label FROM labels WHERE question = 'water_sources' "
                               "AND choice = 'piped'").fetchall())
    assert labels == {"en": "Piped water", "fr": "Eau courante"}
    # unanswered questions are absent from the long table, as on the server
    assert conn.execute("SELECT count(*) FROM answers WHERE submission_id = 40215009 "
                        "AND question = 'hh_location'").fetchone() == (0,)


def test_edit__same_id_new_uuid_supersedes_and_staging_shows_the_edit(warehouse, asset, page):
    conn, landing = warehouse
    load(conn, landing, asset, page["results"])
    edited = copy.deepcopy(page["results"][0])
    edited["_uuid"] = "edited-uuid"
    edited["hh_info/hh_size"] = "5"
    result = load(conn, landing, asset, [edited], name="refetch", advance=False)
    assert (result.new, result.edited) == (0, 1)
    build_form_tables(conn, form_schema("wash", asset))
    assert conn.execute("SELECT _uuid, hh_size FROM submissions_wash WHERE _id = ?",
                        [edited["_id"]]).fetchone() == ("edited-uuid", 5)
    rows = conn.execute("SELECT count(*), count(superseded_at) FROM raw_submissions WHERE _id = ?",
                        [edited["_id"]]).fetchone()
    assert rows == (2, 1)  # both versions kept in raw


def test_reconcile__deletions_marked_never_dropped_and_validation_updated(warehouse, asset, page):
    conn, landing = warehouse
    load(conn, landing, asset, page["results"])
    a, b, c = page["results"]
    check = reconcile(conn, asset["uid"], [(a["_id"], a["_uuid"], "validation_status_not_approved"),
                                           (c["_id"], "changed", None)], c["_id"])
    assert check.missing_ids == [b["_id"]] and check.live == 3 and check.changed_ids == [c["_id"]]
    assert check.validation_changed == 1
    assert conn.execute("SELECT count(deleted_at) FROM raw_submissions").fetchone() == (0,)
    assert mark_deleted(conn, asset["uid"], check.missing_ids) == 1
    build_form_tables(conn, form_schema("wash", asset))
    ids = [r[0] for r in conn.execute("SELECT _id FROM submissions_wash ORDER BY _id").fetchall()]
    assert b["_id"] not in ids
    assert conn.execute("SELECT deleted_at IS NOT NULL FROM raw_submissions WHERE _id = ?",
                        [b["_id"]]).fetchone() == (True,)


def test_reconcile__a_deleted_row_listed_again_is_live_again(warehouse, asset, page):
    conn, landing = warehouse
    load(conn, landing, asset, page["results"])
    listing = [(r["_id"], r["_uuid"], (r["_validation_status"] or {}).get("uid")) for r in page["results"]]
    last = page["results"][-1]["_id"]
    assert mark_deleted(conn, asset["uid"], reconcile(conn, asset["uid"], [], last).missing_ids) == 3
    check = reconcile(conn, asset["uid"], listing, last)
    assert (check.restored, check.missing_ids, check.changed_ids, check.live) == (3, [], [], 3)
    assert build_form_tables(conn, form_schema("wash", asset)).submissions == 3


def test_bad_records__quarantined_with_reason_and_the_run_goes_on(warehouse, asset, page):
    conn, landing = warehouse
    odd = copy.deepcopy(page["results"][0])
    odd["_id"], odd["_uuid"] = 99, "odd"
    odd["hh_info/hh_size"] = "two"
    odd["hh_members"] = "not a list"
    odd["weird key/with spaces"] = "kept as text"
    no_id = {"_uuid": "x", "hh_info/village": "?"}
    result = load(conn, landing, asset, [*page["results"], odd, no_id])
    assert result.quarantined == 1 and result.new == 4
    staged = build_form_tables(conn, form_schema("wash", asset))
    assert staged.submissions == 3 and staged.quarantined == 1
    reasons = [r[0] for r in conn.execute("SELECT reason FROM quarantine ORDER BY reason").fetchall()]
    assert any("integer expected, got two" in r and "not a list" in r for r in reasons)
    assert any("no integer _id" in r for r in reasons)
    assert "weird key/with spaces" in [r[0] for r in conn.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = 'submissions_wash'").fetchall()]


def test_legacy_page__loads_to_the_same_tables(warehouse, asset):
    conn, landing = warehouse
    legacy = json.loads((CONTRACT / "data_page_legacy.json").read_text())
    load(conn, landing, asset, legacy["results"])
    staged = build_form_tables(conn, form_schema("wash", asset))
    assert staged.submissions == len(legacy["results"])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(1, 5), st.text(alphabet="abc xyz", max_size=8)),
                min_size=0, max_size=20, unique_by=lambda t: t[1]))
def test_staging__keeps_row_count_and_unique_columns(tmp_path_factory, asset, page, rows):
    conn = connect(tmp_path_factory.mktemp("h") / "w.duckdb")
    records = []
    for i, (size, village) in enumerate(rows):
        record = copy.deepcopy(page["results"][i % 3])
        record["_id"], record["_uuid"] = i + 1, f"u{i}"
        record["hh_info/hh_size"], record["hh_info/village"] = str(size), village
        records.append(record)
    if records:
        load(conn, tmp_path_factory.mktemp("l"), asset, records)
    staged = build_form_tables(conn, form_schema("wash", asset))
    assert staged.submissions == len(records)
    columns = [r[0] for r in conn.execute("SELECT column_name FROM duckdb_columns() "
                                          "WHERE table_name = 'submissions_wash'").fetchall()]
    assert len(columns) == len(set(columns))
    conn.close()


@pytest.fixture(scope="module")
def older(asset):
    """An older version of the contract's form, as older kpi stored it (one language, 'begin
    group' and 'select_one list' spellings): hh_size was text; hh_income, member_school,
    treatment_days, the repeat 'visits' and the water source 'rainwater' exist only here."""
    return {
        "translations": ["English (en)"],
        "survey": [
            {"type": "begin group", "name": "hh_info", "label": ["Household"]},
            {"type": "text", "name": "village", "label": ["Village (old label)"]},
            {"type": "text", "name": "hh_size", "label": ["Size (old)"]},
            {"type": "decimal", "name": "hh_income", "label": ["Monthly income"]},
            {"type": "end group"},
            {"type": "select_multiple water_src", "name": "water_sources", "label": ["Water"]},
            {"type": "begin repeat", "name": "hh_members"},
            {"type": "text", "name": "member_name"},
            {"type": "select_one yes_no", "name": "member_school", "label": ["At school?"]},
            {"type": "begin repeat", "name": "treatments"},
            {"type": "integer", "name": "treatment_days", "label": ["Days"]},
            {"type": "end repeat"},
            {"type": "end repeat"},
            {"type": "begin repeat", "name": "visits"},
            {"type": "date", "name": "visit_date", "label": ["Visit date"]},
            {"type": "end repeat"},
        ],
        "choices": [
            {"list_name": "water_src", "name": "piped", "label": ["Piped (old label)"]},
            {"list_name": "water_src", "name": "rainwater", "label": ["Rainwater"]},
        ],
        "settings": {"id_string": "wash"},
    }


def test_form_schema__older_versions_add_their_questions_the_current_one_wins(asset, older):
    schema = form_schema("wash", asset, older_contents=[older])
    current = form_schema("wash", asset)
    assert [t.path for t in schema.tables] == [t.path for t in current.tables] + ["visits"]
    assert schema.table("visits").parent == ""
    main = {f.column: f for f in schema.main.fields}
    assert [f.column for f in schema.main.fields][: len(current.main.fields)] == [f.column for f in current.main.fields]
    assert main["hh_size"].kind == "integer" and main["hh_size"].labels == current.main.fields[
        [f.column for f in current.main.fields].index("hh_size")].labels  # the current one wins
    assert (main["hh_income"].xpath, main["hh_income"].kind, main["hh_income"].labels) == \
        ("hh_info/hh_income", "decimal", {"en": "Monthly income"})
    members = {f.column: f for f in schema.table("hh_members").fields}
    assert (members["member_school"].kind, members["member_school"].list_name) == ("select_one", "yes_no")
    assert {f.column: f.kind for f in schema.table("hh_members/treatments").fields}["treatment_days"] == "integer"
    assert {f.column: f.kind for f in schema.table("visits").fields} == {"visit_date": "date"}
    water = dict(schema.choices["water_src"])
    assert list(water)[-1] == "rainwater" and water["rainwater"] == {"en": "Rainwater"}
    assert water["piped"] == {"en": "Piped water", "fr": "Eau courante"}
    assert schema.languages == ("en", "fr")


def test_staging__a_record_of_an_older_version_fills_its_typed_columns(warehouse, asset, page, older):
    conn, landing = warehouse
    old = copy.deepcopy(page["results"][0])
    old.update({"_id": 7, "_uuid": "old-version", "__version__": "vOld", "hh_info/hh_size": "3",
                "hh_info/hh_income": "1200.5", "water_sources": "rainwater piped",
                "visits": [{"visits/visit_date": "2026-01-05"}, {"visits/visit_date": "2026-02-05"}]})
    old["hh_members"][0]["hh_members/member_school"] = "yes"
    old["hh_members"][0]["hh_members/treatments"] = [{"hh_members/treatments/treatment_days": "4"}]
    load(conn, landing, asset, [*page["results"], old])
    result = build_form_tables(conn, form_schema("wash", asset, older_contents=[older]))
    assert result.quarantined == 0 and result.submissions == 4
    assert conn.execute('SELECT hh_income, "water_sources/rainwater", "water_sources/piped" '
                        "FROM submissions_wash WHERE _id = 7").fetchone() == (1200.5, 1, 1)
    assert conn.execute("SELECT member_school FROM repeat_wash__hh_members WHERE _submission__id = 7 "
                        "AND member_school IS NOT NULL").fetchall() == [("yes",)]
    assert conn.execute("SELECT treatment_days FROM repeat_wash__treatments WHERE _submission__id = 7 "
                        "AND treatment_days IS NOT NULL").fetchall() == [(4,)]
    visits = conn.execute("SELECT visit_date, _parent_table_name FROM repeat_wash__visits ORDER BY _index").fetchall()
    assert [v[0].isoformat() for v in visits] == ["2026-01-05", "2026-02-05"]
    assert visits[0][1] == "submissions_wash"
    answers = conn.execute("SELECT repeat_path, question, value FROM answers WHERE submission_id = 7 "
                           "AND question IN ('hh_income', 'visit_date', 'treatment_days') ORDER BY ALL").fetchall()
    assert answers == [("", "hh_income", "1200.5"), ("hh_members/treatments", "treatment_days", "4"),
                       ("visits", "visit_date", "2026-01-05"), ("visits", "visit_date", "2026-02-05")]
    assert conn.execute("SELECT choice FROM select_multiple WHERE submission_id = 7 ORDER BY 1").fetchall() == [
        ("piped",), ("rainwater",)]
    labels = set(conn.execute("SELECT question, choice, language, label FROM labels").fetchall())
    assert {("hh_income", None, "en", "Monthly income"), ("visit_date", None, "en", "Visit date"),
            ("water_sources", "rainwater", "en", "Rainwater")} <= labels
    assert ("hh_size", None, "en", "Size (old)") not in labels


def test_staging_stale_mark__commits_with_the_load_and_survives_a_process_that_died(tmp_path, asset, page):
    from warehouse.store import WarehouseStore

    schema = form_schema("wash", asset)
    conn = connect(tmp_path / "w.duckdb")
    store = WarehouseStore(conn, tmp_path / "landing")
    load(conn, tmp_path / "landing", asset, page["results"][:2])
    store.rebuild(schema)
    assert not store.needs_rebuild(schema)
    load(conn, tmp_path / "landing", asset, page["results"][2:], name="p2")  # loaded; then the process dies
    conn.close()
    conn = connect(tmp_path / "w.duckdb")
    store = WarehouseStore(conn, tmp_path / "landing")
    assert store.needs_rebuild(schema)  # the tables exist, but are older than the raw rows
    assert conn.execute("SELECT count(*) FROM submissions_wash").fetchone() == (2,)
    assert store.rebuild(schema).submissions == 3 and not store.needs_rebuild(schema)
    load(conn, tmp_path / "landing", asset, page["results"], name="p3")  # nothing new
    assert not store.needs_rebuild(schema)
    conn.close()


RECORD_FORM_KILLED = """
import json, sys
from pathlib import Path
import warehouse.store
from warehouse.db import connect
from warehouse.store import WarehouseStore

folder, asset = Path(sys.argv[1]), json.loads(sys.argv[2])

def killed_here(conn, uid, stale=True):
    print("content written, mark next", flush=True)
    sys.stdin.readline()  # the test kills this process here

warehouse.store.mark_stale = killed_here
WarehouseStore(connect(folder / "w.duckdb"), folder / "landing").record_form("wash", asset)
"""


def test_record_form__content_and_stale_mark_commit_together_even_when_killed_between(tmp_path, asset, page):
    from killing import killed_child

    from warehouse.store import WarehouseStore

    conn = connect(tmp_path / "w.duckdb")
    store = WarehouseStore(conn, tmp_path / "landing")
    assert store.record_form("wash", asset)
    load(conn, tmp_path / "landing", asset, page["results"])
    store.rebuild(form_schema("wash", asset))
    conn.close()
    changed = copy.deepcopy(asset)
    changed["content"]["survey"][0]["label"] = ["Changed", "Changé"]

    marker = killed_child(RECORD_FORM_KILLED, str(tmp_path), json.dumps(changed))
    assert marker == "content written, mark next"

    conn = connect(tmp_path / "w.duckdb")
    stored = json.loads(conn.execute("SELECT CAST(content AS VARCHAR) FROM forms").fetchone()[0])
    stale = conn.execute("SELECT stale FROM staging_state").fetchone()[0]
    assert stored == asset["content"] and not stale  # neither the content nor its mark
    store = WarehouseStore(conn, tmp_path / "landing")
    assert store.record_form("wash", changed)  # so the next sync sees the change
    assert conn.execute("SELECT stale FROM staging_state").fetchone() == (True,)
    conn.close()


def test_record_form__a_failing_mark_leaves_the_old_content(tmp_path, asset, monkeypatch):
    import warehouse.store
    from warehouse.store import WarehouseStore

    conn = connect(tmp_path / "w.duckdb")
    store = WarehouseStore(conn, tmp_path / "landing")
    store.record_form("wash", asset)
    changed = copy.deepcopy(asset)
    changed["content"]["survey"][0]["label"] = ["Changed", "Changé"]

    def failing(*_args, **_kwargs):
        raise KeyboardInterrupt  # Ctrl-C between the two writes

    monkeypatch.setattr(warehouse.store, "mark_stale", failing)
    with pytest.raises(KeyboardInterrupt):
        store.record_form("wash", changed)
    stored = json.loads(conn.execute("SELECT CAST(content AS VARCHAR) FROM forms").fetchone()[0])
    assert stored == asset["content"]
    conn.close()


def test_staging_fixed_columns__reserved_from_questions(warehouse, asset, page):
    """A question never takes the name of a column the warehouse adds (normalize's lists)."""
    from etl.normalize import MAIN_COLUMNS, REPEAT_COLUMNS

    conn, landing = warehouse
    load(conn, landing, asset, page["results"])
    schema = form_schema("wash", asset)
    build_form_tables(conn, schema)
    for table, reserved in (("submissions_wash", MAIN_COLUMNS), ("repeat_wash__hh_members", REPEAT_COLUMNS)):
        questions = {c for f in schema.table("" if table.startswith("s") else "hh_members").fields
                     for c in [f.column]}
        names = [r[0] for r in conn.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = ? "
                                            "AND column_name[1] = '_'", [table]).fetchall()]
        assert set(names) - questions == set(reserved)


def test_questions_named_like_warehouse_columns_or_each_other__every_column_once(warehouse):
    """Names DuckDB would fold together ('Point' and 'point'), a question called '_index', and a
    question named like a geopoint's split column: each keeps its own column."""
    conn, landing = warehouse
    content = {"survey": [
        {"type": "geopoint", "name": "Point"}, {"type": "begin_group", "name": "g"},
        {"type": "text", "name": "point"}, {"type": "end_group"}, {"type": "integer", "name": "_index"},
        {"type": "text", "name": "Point_latitude"}], "translations": [None]}
    odd = {"uid": "aOdd", "content": content}
    records = [{"_id": 1, "_uuid": "o1", "Point": "1 2 3 4", "g/point": "p", "_index": "5",
                "Point_latitude": "text", "POINT/x": "extra"}]
    body = json.dumps({"results": records}).encode()
    load_page(conn, "aOdd", "odd", land_page(landing, "aOdd", "p", body))
    schema = form_schema("odd", odd)
    assert [f.column for f in schema.main.fields] == ["Point", "g__point", "_index__2", "Point_latitude__2"]
    build_form_tables(conn, schema)
    row = conn.execute('SELECT "Point_latitude", g__point, _index__2, "Point_latitude__2", "POINT/x", _index '
                       "FROM submissions_odd").fetchone()
    assert row == (1.0, "p", 5, "text", "extra", 1)
