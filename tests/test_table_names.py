"""Every asset's records land once, in tables no other asset shares: form ids that differ only in
case or punctuation, cloned projects that keep their form id, a table aimak did not create, and a
warehouse built before the names were kept. Names never change once given."""

from __future__ import annotations

import json

import pytest
from hand_world import Poster, T, deploy, spec

from etl.http import HttpClient
from etl.kobo import KoboClient
from etl.normalize import form_schema
from etl.sync import deployed_assets, sync_form
from forms.xlsform import Row
from warehouse.db import connect
from warehouse.schema import MIGRATIONS
from warehouse.staging import build_form_tables
from warehouse.store import WarehouseStore
from warehouse.transaction import transaction

FIVE = [("hh-survey", 2), ("hh_survey", 3), ("HH_Survey", 1), ("dup_form", 4), ("dup_form", 5)]


def household(form_id: str):
    return spec(form_id, [
        Row("text", "village", label=T("Village")),
        Row("integer", "size", label=T("Size")),
        Row("begin_repeat", "members", label=T("Member")),
        Row("text", "name", label=T("Name")),
        Row("end_repeat"),
    ])


@pytest.fixture(scope="module")
def five(tmp_path_factory):
    """Five deployed forms whose form ids collide once lower-cased and punctuation-folded, or
    outright (a cloned project), with 2, 3, 1, 4 and 5 submissions of 1 to 3 members each."""
    from fieldsim.server import LocalServer

    tmp = tmp_path_factory.mktemp("five")
    with LocalServer(tmp / "server") as server:
        client = KoboClient(HttpClient(server.api_url, server.token))
        poster = Poster(server, client)
        uids = []
        for form_id, count in FIVE:
            uid = deploy(client, household(form_id), tmp)
            uids.append(uid)
            for i in range(count):
                poster.post(uid, {"village": f"{form_id} {i}", "size": i + 1,
                                  "members": [{"name": f"{uid} {i} {m}"} for m in range(i % 3 + 1)]})
        yield server, client, uids, tmp


def sync_all(client, folder):
    conn = connect(folder / "w.duckdb")
    store = WarehouseStore(conn, folder / "landing")
    results = [sync_form(client, store, asset) for asset in deployed_assets(client)]
    return conn, results


def test_five_colliding_forms__all_fifteen_records_land_once_in_their_own_tables(five, tmp_path):
    _server, client, uids, _tmp = five
    conn, results = sync_all(client, tmp_path)
    assert sorted(r.submissions for r in results) == sorted(n for _f, n in FIVE)
    names = dict(conn.execute("SELECT asset_uid, table_name FROM form_tables "
                              "WHERE repeat_path = ''").fetchall())
    assert len(set(names.values())) == 5 and set(names) == set(uids)
    for uid, (form_id, count) in zip(uids, FIVE, strict=True):
        main = names[uid]
        rows = conn.execute(f'SELECT village FROM "{main}" ORDER BY village').fetchall()
        assert rows == [(f"{form_id} {i}",) for i in range(count)]
        repeat = conn.execute("SELECT table_name FROM form_tables WHERE asset_uid = ? "
                              "AND repeat_path = 'members'", [uid]).fetchone()[0]
        members = conn.execute(f'SELECT name, _parent_table_name FROM "{repeat}"').fetchall()
        assert len(members) == sum(i % 3 + 1 for i in range(count))
        assert all(name.startswith(uid) and parent == main for name, parent in members)
        long = conn.execute("SELECT count(DISTINCT submission_id), count(*) FILTER "
                            "(WHERE question = 'name') FROM answers WHERE asset_uid = ?", [uid]).fetchone()
        assert long == (count, len(members))
        assert conn.execute("SELECT count(*) FROM labels WHERE asset_uid = ? AND question = 'village'",
                            [uid]).fetchone() == (3,)  # one label per language, not one per asset
    assert conn.execute("SELECT count(*) FROM forms").fetchone() == (5,)
    # in the order they were synced, the first asset of each name gets it plain, the others
    # add the start of their uid
    synced = [r.asset_uid for r in results]
    for plain, group in (("submissions_hh_survey", uids[:3]), ("submissions_dup_form", uids[3:])):
        first, *later = sorted(group, key=synced.index)
        assert names[first] == plain
        assert [names[uid] for uid in later] == [f"{plain}_{uid[:8].lower()}" for uid in later]
    conn.close()


def test_table_names__kept_for_good_whatever_order_the_forms_come_in(five, tmp_path):
    _server, client, uids, _tmp = five
    conn, _results = sync_all(client, tmp_path)
    before = conn.execute("SELECT * FROM form_tables ORDER BY ALL").fetchall()
    store = WarehouseStore(conn, tmp_path / "landing")
    again = [sync_form(client, store, asset) for asset in reversed(deployed_assets(client))]
    assert not any(r.rebuilt for r in again)
    asset = client.asset(uids[1])  # the same form under a new form_id keeps its tables
    asset["content"]["settings"]["id_string"] = "renamed"
    schema = form_schema("renamed", asset)
    build_form_tables(conn, schema)
    assert conn.execute("SELECT * FROM form_tables ORDER BY ALL").fetchall() == before
    conn.close()


def test_a_table_aimak_did_not_create__never_taken_over(five, tmp_path):
    _server, client, uids, _tmp = five
    conn = connect(tmp_path / "w.duckdb")
    conn.execute("CREATE TABLE SUBMISSIONS_DUP_FORM (mine VARCHAR)")  # a person's own table
    conn.execute("INSERT INTO submissions_dup_form VALUES ('keep me')")
    store = WarehouseStore(conn, tmp_path / "landing")
    sync_form(client, store, client.asset(uids[3]))
    assert conn.execute("SELECT * FROM submissions_dup_form").fetchall() == [("keep me",)]
    name = conn.execute("SELECT table_name FROM form_tables WHERE asset_uid = ? AND repeat_path = ''",
                        [uids[3]]).fetchone()[0]
    assert name == f"submissions_dup_form_{uids[3][:8].lower()}"
    assert conn.execute(f'SELECT count(*) FROM "{name}"').fetchone() == (4,)
    conn.close()


def test_a_warehouse_built_before_names_were_kept__upgraded_in_place(five, tmp_path):
    """Migrations 001-003 and the tables the old code built: after the upgrade each form keeps
    its tables, the long tables know their asset, and the next sync rebuilds them in the new
    shape."""
    _server, client, uids, _tmp = five
    import duckdb

    path = tmp_path / "w.duckdb"
    old = duckdb.connect(str(path))
    old.execute("CREATE TABLE _migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMP)")
    for name, sql in MIGRATIONS[:3]:
        with transaction(old):
            old.execute(sql)
            old.execute("INSERT INTO _migrations VALUES (?, now())", [name])
    asset = client.asset(uids[0])
    old.execute("INSERT INTO forms VALUES ('hh-survey', ?, 'x', 'v', ?, now())",
                [uids[0], json.dumps(asset["content"])])
    old.execute("CREATE TABLE submissions_hh_survey AS SELECT 1 AS _index")
    old.execute("CREATE TABLE repeat_hh_survey__members AS SELECT 1 AS _index")
    old.execute("INSERT INTO answers VALUES ('hh-survey', 1, '', 1, 'village', 'old', NULL)")
    old.execute("INSERT INTO staging_state VALUES (?, false, now())", [uids[0]])
    old.close()

    conn = connect(path)
    assert conn.execute("SELECT asset_uid FROM answers").fetchall() == [(uids[0],)]
    assert set(conn.execute("SELECT repeat_path, table_name FROM form_tables").fetchall()) == {
        ("", "submissions_hh_survey"), ("?repeat_hh_survey__members", "repeat_hh_survey__members")}
    store = WarehouseStore(conn, tmp_path / "landing")
    result = sync_form(client, store, client.asset(uids[0]))
    assert result.rebuilt and result.submissions == 2  # built for an older shape: rebuilt
    assert set(conn.execute("SELECT repeat_path, table_name FROM form_tables").fetchall()) == {
        ("", "submissions_hh_survey"), ("members", "repeat_hh_survey__members")}
    assert conn.execute("SELECT count(*) FROM repeat_hh_survey__members").fetchone() == (3,)
    assert conn.execute("SELECT count(*) FROM answers WHERE value = 'old'").fetchone() == (0,)
    conn.close()
