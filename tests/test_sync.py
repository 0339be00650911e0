"""Deploy and sync against the local KoboToolbox-compatible server: first and incremental syncs,
edits, deletions and validation changes, two form versions, repeats nested two deep, legacy
shapes, injected faults, a killed run resumed, quarantine, and no token in any log or error."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from kobo_world import FORM_ID, TABLES, Field, household_form

from aimak.errors import KoboAuthError
from etl.deploy import deploy_forms
from etl.http import HttpClient, RetryPolicy
from etl.kobo import KoboClient
from etl.sync import deployed_assets, sync_form
from forms.xlsform import write_xlsform
from warehouse.db import connect
from warehouse.store import WarehouseStore

pytestmark = pytest.mark.java

def snapshot(conn) -> dict:
    """Everything a user queries, without load timestamps."""
    out = {}
    for table in TABLES:
        if conn.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [table]).fetchone()[0]:
            out[table] = conn.execute(f'SELECT * FROM "{table}" ORDER BY _index').fetchall()
    out["raw"] = conn.execute("""SELECT _id, _uuid, validation_status, payload_hash,
        superseded_at IS NOT NULL, deleted_at IS NOT NULL FROM raw_submissions ORDER BY _id, _uuid""").fetchall()
    out["answers"] = conn.execute("SELECT * FROM answers ORDER BY ALL").fetchall()
    out["cursor"] = conn.execute("SELECT asset_uid, last_id FROM sync_cursor").fetchall()
    return out


@pytest.fixture(scope="module")
def engine():
    from fieldsim.engine import FormEngine

    with FormEngine() as e:
        yield e


@pytest.fixture(scope="module")
def world(tmp_path_factory, engine):
    """One server with the household form deployed and 30 submissions."""
    from fieldsim.server import LocalServer

    tmp = tmp_path_factory.mktemp("sync")
    forms_dir = tmp / "forms"
    write_xlsform(household_form(1), forms_dir / f"{FORM_ID}.xlsx")
    with LocalServer(tmp / "server") as server:
        client = KoboClient(HttpClient(server.api_url, server.token))
        deployed = deploy_forms(client, forms_dir)
        team = Field(server, engine, tmp)
        team.send(30, seed=1)
        yield server, client, team, deployed, forms_dir, tmp


def new_store(tmp: Path, name: str):
    conn = connect(tmp / name / "w.duckdb")
    return conn, WarehouseStore(conn, tmp / name / "landing")


def asset_of(client):
    return deployed_assets(client, FORM_ID)[0]


def test_deploy__creates_then_leaves_an_unchanged_form_alone(world):
    server, client, _team, deployed, forms_dir, _tmp = world
    assert [d.action for d in deployed] == ["created"]
    versions = client.http.get_json(f"api/v2/assets/{deployed[0].asset_uid}/versions/")["count"]
    again = deploy_forms(client, forms_dir, {d.form_id: d for d in deployed})
    assert [d.action for d in again] == ["unchanged"]
    assert client.http.get_json(f"api/v2/assets/{deployed[0].asset_uid}/versions/")["count"] == versions


def test_first_then_incremental_sync__only_new_records_the_second_time(world):
    _server, client, team, _d, _f, tmp = world
    conn, store = new_store(tmp, "incremental")
    first = sync_form(client, store, asset_of(client))
    assert first.new == 30 and first.submissions == 30 and first.quarantined == 0
    team.send(5, seed=2)
    second = sync_form(client, store, asset_of(client))
    assert (second.new, second.unchanged) == (5, 0) and second.submissions == 35
    third = sync_form(client, store, asset_of(client))
    assert (third.new, third.edited, third.deleted, third.rebuilt) == (0, 0, 0, False)
    conn.close()


def test_repeats_nested_two_deep__linked_to_parents(world):
    _server, client, _team, _d, _f, tmp = world
    conn, store = new_store(tmp, "repeats")
    sync_form(client, store, asset_of(client))
    orphans = conn.execute("""SELECT count(*) FROM repeat_household__jobs j
        LEFT JOIN repeat_household__members m ON m._index = j._parent_index
        WHERE m._index IS NULL OR m._submission__id <> j._submission__id""").fetchone()[0]
    assert orphans == 0
    assert conn.execute("SELECT count(*) FROM repeat_household__jobs").fetchone()[0] > 0
    assert conn.execute('SELECT count(*) FROM submissions_household WHERE "water/piped" IS NULL').fetchone()[0] == 0
    conn.close()


def test_edit_delete_and_validation__picked_up_by_reconciliation(world):
    server, client, team, _d, _f, tmp = world
    conn, store = new_store(tmp, "changes")
    sync_form(client, store, asset_of(client))
    uid = asset_of(client)["uid"]
    rows = conn.execute("SELECT _id, _instance_id FROM submissions_household ORDER BY _id LIMIT 3").fetchall()
    (edit_id, edit_instance), (delete_id, _), (validate_id, _) = rows
    team.edit(edit_instance, village="Edited village")
    client.http.request("DELETE", f"api/v2/assets/{uid}/data/{delete_id}/", parse_json=False)
    client.http.request("PATCH", f"api/v2/assets/{uid}/data/{validate_id}/validation_status/",
                        json={"validation_status.uid": "validation_status_approved"})
    result = sync_form(client, store, asset_of(client))
    assert (result.new, result.edited, result.deleted, result.validation_changed) == (0, 1, 1, 1)
    assert conn.execute("SELECT village FROM submissions_household WHERE _id = ?", [edit_id]).fetchone() == ("Edited village",)
    assert conn.execute("SELECT count(*) FROM submissions_household WHERE _id = ?", [delete_id]).fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM raw_submissions WHERE _id = ? AND deleted_at IS NOT NULL",
                        [delete_id]).fetchone() == (1,)
    assert conn.execute("SELECT _validation_status FROM submissions_household WHERE _id = ?",
                        [validate_id]).fetchone() == ("validation_status_approved",)
    conn.close()


def test_faults_on_a_quarter_of_requests__same_warehouse_as_a_clean_run(world, tmp_path):
    from fieldsim.server import LocalServer

    server, client, _team, _d, _f, tmp = world
    clean_conn, clean = new_store(tmp, "clean")
    sync_form(client, clean, asset_of(client))
    with LocalServer(tmp / "server", token=server.token, faults="error_rate=0.25,drop_rate=0.05,seed=3",
                     username=server.username, password=server.password) as faulty:
        http = HttpClient(faulty.api_url, faulty.token, policy=RetryPolicy(attempts=12, base=0.01, cap=0.05))
        conn, store = new_store(tmp_path, "faulty")
        sync_form(KoboClient(http), store, deployed_assets(KoboClient(http), FORM_ID)[0])
        assert http.retries > 0
        assert snapshot(conn) == snapshot(clean_conn)
    conn.close()
    clean_conn.close()


def test_legacy_server__same_tables(world, tmp_path):
    from fieldsim.server import LocalServer

    server, client, _team, _d, _f, tmp = world
    clean_conn, clean = new_store(tmp_path, "clean")
    sync_form(client, clean, asset_of(client))
    with LocalServer(tmp / "server", token=server.token, legacy=True,
                     username=server.username, password=server.password) as old:
        legacy_client = KoboClient(HttpClient(old.api_url, old.token))
        conn, store = new_store(tmp_path, "legacy")
        sync_form(legacy_client, store, deployed_assets(legacy_client, FORM_ID)[0])
        for table in TABLES:
            assert conn.execute(f'SELECT count(*) FROM "{table}"').fetchone() == \
                clean_conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()
    conn.close()
    clean_conn.close()


KILL_SCRIPT = textwrap.dedent("""
    import sys
    from pathlib import Path
    from etl.http import HttpClient
    from etl.kobo import KoboClient
    from etl.sync import deployed_assets, sync_form
    from warehouse.db import connect
    from warehouse.store import WarehouseStore
    url, token, form, folder = sys.argv[1:5]
    client = KoboClient(HttpClient(url, token))
    conn = connect(Path(folder) / "w.duckdb")
    print("started", flush=True)
    sync_form(client, WarehouseStore(conn, Path(folder) / "landing"), deployed_assets(client, form)[0])
    conn.close()
""")


@pytest.mark.parametrize("delay", [0.3, 0.9, 1.6])
def test_sync_killed_and_resumed__same_warehouse_as_a_clean_run(world, tmp_path, delay):
    from fieldsim.server import LocalServer

    server, client, _team, _d, _f, tmp = world
    clean_conn, clean = new_store(tmp_path, "clean")
    sync_form(client, clean, asset_of(client))
    expected = snapshot(clean_conn)
    clean_conn.close()
    with LocalServer(tmp / "server", token=server.token, faults="latency=0.15,seed=1",
                     username=server.username, password=server.password) as slow:
        folder = tmp_path / "killed"
        folder.mkdir()
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        child = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, slow.api_url, slow.token, FORM_ID,
                                  str(folder)], stdout=subprocess.PIPE, env=env)
        child.stdout.readline()
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait()
    conn, store = new_store(tmp_path, "killed")
    sync_form(client, store, asset_of(client))
    assert snapshot(conn) == expected
    conn.close()


def test_two_form_versions__columns_unioned_and_version_kept(world, tmp_path):
    server, client, team, deployed, _f, tmp = world
    forms_dir = tmp_path / "v2"
    write_xlsform(household_form(2), forms_dir / f"{FORM_ID}.xlsx")
    again = deploy_forms(client, forms_dir, {d.form_id: d for d in deployed})
    assert [d.action for d in again] == ["redeployed"]
    team.send(3, seed=9, income="1200.5")
    conn, store = new_store(tmp_path, "versions")
    sync_form(client, store, asset_of(client))
    versions = conn.execute("SELECT count(DISTINCT __version__) FROM submissions_household").fetchone()[0]
    assert versions == 2
    assert conn.execute("SELECT count(income) FROM submissions_household").fetchone()[0] == 3
    conn.close()


def test_odd_values__quarantined_not_crashing(world, tmp_path):
    server, client, team, _d, _f, tmp = world
    form = team.xform()
    filled = team.engine.fill(form, {"hh_size": "4"}, auto=True, seed=5, repeats={"members": 0})
    team.post(filled.xml.replace(b"<hh_size>4</hh_size>", b"<hh_size>four</hh_size>"))
    conn, store = new_store(tmp_path, "odd")
    result = sync_form(client, store, asset_of(client))
    assert result.quarantined == 1
    reason = conn.execute("SELECT reason FROM quarantine").fetchone()[0]
    assert "hh_size" in reason and "four" in reason
    conn.close()


def test_token__absent_from_every_log_line_and_error(world, tmp_path, caplog):
    server, client, _team, _d, _f, tmp = world
    caplog.set_level(logging.DEBUG)
    conn, store = new_store(tmp_path, "logs")
    sync_form(client, store, asset_of(client))
    bad = KoboClient(HttpClient(server.api_url, "f" * 40))
    with pytest.raises(KoboAuthError) as caught:
        bad.list_assets()
    assert "f" * 40 not in str(caught.value)
    assert server.token not in caplog.text and "f" * 40 not in caplog.text
    conn.close()
