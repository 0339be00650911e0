"""Deploy and sync against the local KoboToolbox-compatible server: first and incremental syncs,
edits, deletions and validation changes, form versions (added, removed and renamed questions),
repeats nested two deep, legacy shapes, paging with ``start`` and ``offset`` links, injected
faults, pages cut short behind a 200, an empty listing through a proxy, runs killed (SIGKILL) at
several points and resumed, quarantine, and no token in any log or error.

Each test syncs against its own copy of one pristine server folder, so none depends on another
or on the order they run in (``pytest tests/test_sync.py --reverse`` shows it)."""

from __future__ import annotations

import gzip
import json
import logging
import math
import shutil
import textwrap
from pathlib import Path

import pytest
import requests
from killing import killed_child
from kobo_world import FORM_ID, Field, household_form, household_form_trimmed
from snapshots import assert_same, snapshot

from aimak.errors import KoboAuthError, PageUnreadableError
from etl.deploy import deploy_forms
from etl.http import HttpClient, RetryPolicy
from etl.kobo import PAGE_ATTEMPTS, KoboClient
from etl.sync import deployed_assets, sync_form
from forms.xlsform import write_xlsform
from warehouse.db import connect
from warehouse.store import WarehouseStore

pytestmark = pytest.mark.java

FAST = RetryPolicy(attempts=12, base=0.01, cap=0.05)


@pytest.fixture(scope="module")
def engine():
    from fieldsim.engine import FormEngine

    with FormEngine() as e:
        yield e


@pytest.fixture(scope="module")
def pristine(tmp_path_factory, engine):
    """A server data folder with the household form deployed and 30 submissions, built once per
    module and never changed: each test syncs against its own copy (``world``)."""
    from fieldsim.server import LocalServer

    tmp = tmp_path_factory.mktemp("sync")
    forms_dir = tmp / "forms"
    write_xlsform(household_form(1), forms_dir / f"{FORM_ID}.xlsx")
    with LocalServer(tmp / "server") as server:
        deployed = deploy_forms(KoboClient(HttpClient(server.api_url, server.token)), forms_dir)
        Field(server, engine, tmp).send(30, seed=1)
        token = server.token
    return tmp / "server", token, deployed, forms_dir


@pytest.fixture()
def world(pristine, engine, tmp_path):
    """This test's own server, started on a copy of the pristine data folder: (server, client,
    field team, deployment records, forms folder, the test's world folder holding ``server``).
    A test may send, edit and delete at will; no other test sees it, whatever the order."""
    from fieldsim.server import LocalServer

    folder, token, deployed, forms_dir = pristine
    tmp = tmp_path / "world"
    shutil.copytree(folder, tmp / "server")
    with LocalServer(tmp / "server", token=token) as server:
        client = KoboClient(HttpClient(server.api_url, server.token))
        yield server, client, Field(server, engine, tmp), deployed, forms_dir, tmp


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
    clean_conn, clean = new_store(tmp_path, "clean")
    sync_form(client, clean, asset_of(client))
    with LocalServer(tmp / "server", token=server.token, faults="error_rate=0.25,drop_rate=0.05,seed=3",
                     username=server.username, password=server.password) as faulty:
        http = HttpClient(faulty.api_url, faulty.token, policy=FAST)
        conn, store = new_store(tmp_path, "faulty")
        sync_form(KoboClient(http), store, deployed_assets(KoboClient(http), FORM_ID)[0], page_limit=7)
        assert http.retries > 0
    got, expected = snapshot(conn), snapshot(clean_conn)
    assert_same(got, expected)  # staging, answers, select_multiple, labels, quarantine, raw, cursor
    assert expected["select_multiple"][1] and expected["labels"][1]
    conn.close()
    clean_conn.close()


def test_legacy_server__same_tables_as_a_current_server(world, tmp_path):
    from fieldsim.server import LocalServer

    server, client, _team, _d, _f, tmp = world
    clean_conn, clean = new_store(tmp_path, "clean")
    sync_form(client, clean, asset_of(client))
    with LocalServer(tmp / "server", token=server.token, legacy=True,
                     username=server.username, password=server.password) as old:
        legacy_client = KoboClient(HttpClient(old.api_url, old.token))
        conn, store = new_store(tmp_path, "legacy")
        sync_form(legacy_client, store, deployed_assets(legacy_client, FORM_ID)[0])
    # a legacy record has no meta/rootUuid, and its payload differs (_tags, _notes, attachments):
    # everything else is the same, value for value
    differs = {"payload", "payload_hash", "root_uuid", "_root_uuid"}
    assert_same(snapshot(conn, differs), snapshot(clean_conn, differs))
    assert conn.execute("SELECT count(*), count(_root_uuid) FROM submissions_household").fetchone()[0] > 0
    assert conn.execute("SELECT count(_root_uuid) FROM submissions_household").fetchone() == (0,)
    conn.close()
    clean_conn.close()


class OffsetLinks(requests.adapters.HTTPAdapter):
    """What an older server sends: data pages whose next/previous links page with ``offset``."""

    def send(self, request, **kwargs):
        response = super().send(request, **kwargs)
        if "/data/" in request.url and response.status_code == 200:
            page = json.loads(response.content)
            for key in ("next", "previous"):
                if page.get(key):
                    page[key] = page[key].replace("start=", "offset=")
            response._content = json.dumps(page).encode()
        return response


class EmptyListingOnce(requests.adapters.HTTPAdapter):
    """A caching proxy in front of the server: answers the next listing (``fields=``) with an
    empty page, once."""

    def __init__(self):
        super().__init__()
        self.left = 1

    def send(self, request, **kwargs):
        response = super().send(request, **kwargs)
        if "fields=" in request.url and self.left:
            self.left -= 1
            response._content = b'{"count": 0, "next": null, "previous": null, "results": []}'
        return response


def test_empty_listing_through_a_proxy__nothing_lost_and_records_back_after_a_confirmed_one(world, tmp_path):
    server, client, _team, _d, _f, _tmp = world
    conn, store = new_store(tmp_path, "proxy")
    asset = asset_of(client)
    sync_form(client, store, asset)
    proxied = HttpClient(server.api_url, server.token)
    proxied.session.mount(server.api_url, EmptyListingOnce())
    refused = sync_form(KoboClient(proxied), store, asset)
    assert (refused.deleted, refused.held_back) == (0, 30) and "counts 30" in refused.refused
    assert conn.execute("SELECT count(*) FROM submissions_household").fetchone() == (30,)
    assert sync_form(client, store, asset).deleted == 0
    proxied.session.mount(server.api_url, EmptyListingOnce())
    confirmed = sync_form(KoboClient(proxied), store, asset, confirm_deletions=True)
    assert confirmed.deleted == 30 and confirmed.submissions == 0  # the data manager was wrong
    back = sync_form(client, store, asset)
    assert (back.restored, back.submissions) == (30, 30)
    conn.close()


@pytest.mark.parametrize("links", ["start", "offset"])
def test_multi_page_sync__by_id_whatever_the_next_links_use(world, tmp_path, links):
    server, client, _team, _d, _f, _tmp = world
    clean_conn, clean = new_store(tmp_path, "clean")
    sync_form(client, clean, asset_of(client))
    http = HttpClient(server.api_url, server.token)
    if links == "offset":
        http.session.mount(server.api_url, OffsetLinks())
    conn, store = new_store(tmp_path, "paged")
    asset = asset_of(client)
    result = sync_form(KoboClient(http), store, asset, page_limit=4)
    live = clean_conn.execute("SELECT count(*) FROM submissions_household").fetchone()[0]
    assert result.pages == math.ceil(live / 4) > 2 and result.new == live
    pages = sorted((tmp_path / "paged" / "landing" / asset["uid"]).glob("after-*.ndjson.gz"))
    bodies = [json.loads(gzip.decompress(p.read_bytes())) for p in pages]
    assert len(bodies) == result.pages
    assert all(f"{links}=" in b["next"] for b in bodies[:-1]) and bodies[-1]["next"] is None
    ids = [r["_id"] for b in bodies for r in b["results"]]
    assert ids == sorted(set(ids))  # each record once, in _id order: no page repeated or skipped
    assert_same(snapshot(conn), snapshot(clean_conn))
    conn.close()
    clean_conn.close()


def test_pages_cut_short_behind_a_200__set_aside_fetched_again_same_warehouse(world, tmp_path):
    from fieldsim.server import LocalServer

    server, client, _team, _d, _f, tmp = world
    clean_conn, clean = new_store(tmp_path, "clean")
    sync_form(client, clean, asset_of(client))
    with LocalServer(tmp / "server", token=server.token, faults="truncate_rate=0.3,seed=4",
                     username=server.username, password=server.password) as proxy:
        http = HttpClient(proxy.api_url, proxy.token, policy=FAST)
        cut = KoboClient(http)
        conn, store = new_store(tmp_path, "cut")
        asset = deployed_assets(cut, FORM_ID)[0]
        sync_form(cut, store, asset, page_limit=4)
    rejected = sorted((tmp_path / "cut" / "landing" / asset["uid"] / "rejected").iterdir())
    assert rejected, "no data page was cut: pick another seed"
    for kept in rejected:  # what came back is kept as it came
        with pytest.raises(json.JSONDecodeError):
            json.loads(gzip.decompress(kept.read_bytes()))
    assert_same(snapshot(conn), snapshot(clean_conn))
    conn.close()
    clean_conn.close()


def test_listing_pages_cut_short_behind_a_200__fetched_again(world):
    from etl.sync import LISTING_FIELDS
    from fieldsim.server import LocalServer

    server, client, _team, _d, _f, tmp = world
    uid = asset_of(client)["uid"]
    want = [r for p in client.iter_pages(uid, fields=LISTING_FIELDS, limit=4) for r in p.records]
    with LocalServer(tmp / "server", token=server.token, faults="truncate_rate=0.5,seed=2",
                     username=server.username, password=server.password) as proxy:
        cut = KoboClient(HttpClient(proxy.api_url, proxy.token, policy=FAST))
        bodies: list[bytes] = []
        fetch = cut.data_page
        cut.data_page = lambda *args, **kwargs: bodies.append(fetch(*args, **kwargs)) or bodies[-1]
        got = [r for p in cut.iter_pages(uid, fields=LISTING_FIELDS, limit=4) for r in p.records]
    assert got == want

    def readable(body: bytes) -> bool:
        try:
            return isinstance(json.loads(body), dict)
        except json.JSONDecodeError:
            return False

    assert not all(readable(b) for b in bodies)


def test_a_page_that_stays_unreadable__error_names_the_kept_file(world, tmp_path):
    from fieldsim.server import LocalServer

    server, client, _team, _d, _f, tmp = world
    asset = asset_of(client)
    with LocalServer(tmp / "server", token=server.token, faults="truncate_rate=1,seed=1",
                     username=server.username, password=server.password) as proxy:
        conn, store = new_store(tmp_path, "unreadable")
        with pytest.raises(PageUnreadableError) as caught:
            sync_form(KoboClient(HttpClient(proxy.api_url, proxy.token, policy=FAST)), store, asset)
    rejected = sorted((tmp_path / "unreadable" / "landing" / asset["uid"] / "rejected").iterdir())
    assert len(rejected) == PAGE_ATTEMPTS
    message = str(caught.value)
    assert any(str(kept) in message for kept in rejected) and "after _id 0" in message
    assert conn.execute("SELECT count(*) FROM raw_submissions").fetchone() == (0,)
    assert store.cursor(asset["uid"]) == 0
    conn.close()


def test_a_record_without_uuid_at_the_end_of_a_page__quarantined_once(world, tmp_path):
    server, client, team, _d, _f, _tmp = world
    uid = asset_of(client)["uid"]
    db = server.state.store
    with db.transaction() as sql:
        bad = sql.execute("INSERT INTO submissions (asset_uid, uuid, root_uuid, xml_hash, submission_time, "
                          "submitted_by, body) VALUES (?, 'no-uuid', 'no-uuid', 'no-uuid', "
                          "'2026-01-01T00:00:00', 'demo', '{}')", (uid,)).lastrowid
        sql.execute("UPDATE submissions SET body = ? WHERE id = ?",
                    (json.dumps({"_id": bad, "hh/village": "no uuid", "_submission_time": "2026-01-01T00:00:00"}),
                     bad))
    team.send(2, seed=41)  # records after it, on the next page
    limit = db.one("SELECT count(*) AS n FROM submissions WHERE asset_uid = ? AND id <= ?", (uid, bad))["n"]
    conn, store = new_store(tmp_path, "no-uuid")
    first = sync_form(client, store, asset_of(client), page_limit=limit)
    assert first.quarantined == 1 and first.pages >= 2
    page = json.loads(gzip.decompress(
        (tmp_path / "no-uuid" / "landing" / uid / f"after-{0:012d}.ndjson.gz").read_bytes()))
    assert page["results"][-1]["_id"] == bad  # the bad record ends the first page
    assert store.cursor(uid) > bad
    team.send(1, seed=42)
    second = sync_form(client, store, asset_of(client), page_limit=limit)
    assert (second.quarantined, second.new) == (0, 1)
    rows = conn.execute("SELECT _id, reason FROM quarantine").fetchall()
    assert rows == [(bad, "record has no _uuid")]
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


def test_version_detail__kpi_shape_same_content_on_every_read(world):
    from aimak.errors import KoboNotFoundError

    _server, client, _team, deployed, _f, _tmp = world
    uid = deployed[0].asset_uid
    contract = json.loads((Path(__file__).parent / "fixtures" / "kobo-contract"
                           / "asset_versions.json").read_text())["results"][0]
    asset = client.asset(uid)
    listing = client.versions(uid)
    for item in listing:
        detail = client.version(uid, item["uid"])
        assert set(item) == set(contract)
        assert list(detail) == [*item, "content"] and {k: detail[k] for k in item} == item
        assert detail["content"]["settings"]["id_string"] == FORM_ID
        assert client.version(uid, item["uid"]) == detail
    assert client.version(uid, asset["version_id"])["content"] == asset["content"]
    assert client.deployed_version_ids(asset) == [v["uid"] for v in listing if v["date_deployed"]]
    with pytest.raises(KoboNotFoundError):
        client.version(uid, "vNoSuchVersion")


def test_deployed_version_ids__read_from_the_versions_list_when_the_asset_has_more():
    class Http:  # the asset detail lists at most 100 deployed versions, then a next link
        def get_json(self, url):
            pages = {"api/v2/assets/aX/versions/": {"next": "p2", "results": [
                         {"uid": "v3", "date_deployed": "2026-03-01T00:00:00Z"},
                         {"uid": "v2", "date_deployed": False}]},
                     "p2": {"next": None, "results": [{"uid": "v1", "date_deployed": "2026-01-01T00:00:00Z"}]}}
            return pages[url]

    client = KoboClient(Http())
    cut = {"uid": "aX", "deployed_versions": {"count": 101, "next": "more", "results": [{"uid": "v3"}]}}
    assert client.deployed_version_ids(cut) == ["v3", "v1"]
    whole = {"uid": "aX", "deployed_versions": {"count": 1, "next": None, "results": [{"uid": "v3"}]}}
    assert client.deployed_version_ids(whole) == ["v3"]
    assert client.deployed_version_ids({"uid": "aX"}) == ["v3", "v1"]  # a server without the field


def test_a_later_version_drops_and_renames_questions__old_columns_stay_typed(engine, tmp_path):
    from fieldsim.server import LocalServer

    write_xlsform(household_form(1), tmp_path / "v1" / f"{FORM_ID}.xlsx")
    write_xlsform(household_form_trimmed(), tmp_path / "v2" / f"{FORM_ID}.xlsx")
    with LocalServer(tmp_path / "server") as server:
        client = KoboClient(HttpClient(server.api_url, server.token))
        first = deploy_forms(client, tmp_path / "v1")
        team = Field(server, engine, tmp_path)
        team.send(4, seed=21, water="river")
        again = deploy_forms(client, tmp_path / "v2", {d.form_id: d for d in first})
        assert [d.action for d in again] == ["redeployed"]
        team.send(3, seed=22)
        uid = first[0].asset_uid
        db = server.state.store
        # a v1 record copied under a __version__ the server does not know
        copy = json.loads(db.one("SELECT body FROM submissions WHERE asset_uid = ? ORDER BY id", (uid,))["body"])
        copy.update({"__version__": "vNoSuchVersion000000000", "_uuid": "copy-1", "meta/instanceID": "uuid:copy-1"})
        copy.pop("meta/rootUuid", None)
        db.insert_records(uid, [copy], "demo")

        fetched: list[str] = []
        fetch = client.version
        client.version = lambda asset_uid, vid: fetched.append(vid) or fetch(asset_uid, vid)
        conn, store = new_store(tmp_path, "w")
        result = sync_form(client, store, asset_of(client))
        assert result.quarantined == 0 and result.submissions == 8
        v1 = next(v["uid"] for v in client.versions(uid) if v["uid"] != asset_of(client)["version_id"])
        assert sorted(fetched) == sorted([v1, "vNoSuchVersion000000000"])

        types = dict(conn.execute("SELECT column_name, data_type FROM duckdb_columns() "
                                  "WHERE table_name = 'submissions_household'").fetchall())
        assert types["hh_size"] == types["people"] == "BIGINT"
        assert types["location_latitude"] == "DOUBLE" and types["water/river"] == "INTEGER"
        assert "hh/hh_size" not in types and "hh/location" not in types  # typed, not extras
        counts = conn.execute("""SELECT count(hh_size), count(people), count(location_latitude),
            sum("water/river") FROM submissions_household""").fetchone()
        assert counts == (5, 3, counts[2], 5) and counts[2] > 0
        assert conn.execute("SELECT count(DISTINCT __version__) FROM submissions_household").fetchone() == (3,)

        repeat = dict(conn.execute("SELECT column_name, data_type FROM duckdb_columns() "
                                   "WHERE table_name = 'repeat_household__members'").fetchall())
        assert repeat["member_age"] == "BIGINT"
        ages = conn.execute("SELECT count(member_age) FROM repeat_household__members m JOIN "
                            "submissions_household s ON s._id = m._submission__id "
                            "WHERE s.hh_size IS NOT NULL").fetchone()[0]
        assert ages > 0 and ages == conn.execute(
            "SELECT count(*) FROM repeat_household__members WHERE member_age IS NOT NULL").fetchone()[0]

        answers = dict(conn.execute("SELECT question || '@' || repeat_path, count(*) FROM answers "
                                    "GROUP BY ALL").fetchall())
        assert answers["hh_size@"] == 5 and answers["people@"] == 3
        assert answers["member_age@members"] == ages and answers["location@"] == counts[2]
        labels = set(conn.execute("SELECT question, choice, label FROM labels").fetchall())
        assert {("hh_size", None, "Size"), ("people", None, "People"), ("location", None, "Location"),
                ("member_age", None, "Age"), ("water", "river", "river")} <= labels
        assert conn.execute("SELECT count(*) FROM select_multiple WHERE choice = 'river'").fetchone() == (5,)

        kept = dict(conn.execute("SELECT version_uid, content IS NOT NULL FROM form_versions").fetchall())
        assert kept == {v1: True, "vNoSuchVersion000000000": False}
        again = sync_form(client, store, asset_of(client))
        assert len(fetched) == 2 and not again.rebuilt  # each version is fetched once
        conn.close()


KILL_SCRIPT = textwrap.dedent("""
    import sys
    from pathlib import Path

    import etl.sync
    from etl.http import HttpClient
    from etl.kobo import KoboClient
    from etl.sync import deployed_assets, sync_form
    from warehouse.db import connect
    from warehouse.store import WarehouseStore

    url, token, form, folder, point, page_limit, batch = sys.argv[1:8]
    etl.sync.LOAD_BATCH = int(batch)
    where, _, nth = point.partition(":")
    nth = int(nth or 0)

    def reached(marker, wait=True):
        print(marker, flush=True)
        if wait:
            sys.stdin.readline()  # the test kills this process here
            raise SystemExit("not killed")

    class Conn:
        # the warehouse connection; stops just before the COMMIT of the n-th load transaction
        def __init__(self, conn):
            self._conn, self.committing = conn, 0
        def __getattr__(self, name):
            return getattr(self._conn, name)
        def execute(self, sql, *args):
            if where == "transaction" and self.committing == nth and sql.strip().upper() == "COMMIT":
                reached(f"inside commit {nth}")
            return self._conn.execute(sql, *args)

    class Store(WarehouseStore):
        commits = 0
        def commit(self, *args):
            Store.commits += 1
            self.conn.committing = Store.commits
            try:
                out = super().commit(*args)
            finally:
                self.conn.committing = 0
            if where in ("commit", "running") and Store.commits == nth:
                reached(f"committed {nth}", wait=where == "commit")
            return out
        def reconcile(self, *args):
            out = super().reconcile(*args)
            if where == "reconcile":
                reached("reconciled")
            return out
        def rebuild(self, schema):
            if where == "rebuild":
                reached("before rebuild")
            return super().rebuild(schema)

    client = KoboClient(HttpClient(url, token))
    store = Store(Conn(connect(Path(folder) / "w.duckdb")), Path(folder) / "landing")
    sync_form(client, store, deployed_assets(client, form)[0], page_limit=int(page_limit))
    print("finished", flush=True)
""")


def killed_sync(api_url: str, token: str, folder: Path, point: str, page_limit: int = 3,
                batch: int = 2) -> str:
    """Run a sync in a child process, SIGKILL it at ``point``; return the marker it printed there."""
    return killed_child(KILL_SCRIPT, api_url, token, FORM_ID, str(folder), point, str(page_limit), str(batch))


def change_the_server(client, team, conn, seed: int) -> None:
    """New records for several pages, an edit, a deletion and a validation change."""
    uid = asset_of(client)["uid"]
    rows = conn.execute("SELECT _id, _instance_id FROM submissions_household ORDER BY _id DESC LIMIT 3").fetchall()
    (edit_id, edit_instance), (delete_id, _), (validate_id, _) = rows
    team.send(7, seed=seed)
    team.edit(edit_instance, village=f"Edited {seed}")
    client.http.request("DELETE", f"api/v2/assets/{uid}/data/{delete_id}/", parse_json=False)
    client.http.request("PATCH", f"api/v2/assets/{uid}/data/{validate_id}/validation_status/",
                        json={"validation_status.uid": "validation_status_on_hold"})


KILL_POINTS = [  # (sync, where it is killed, what the child printed there)
    ("first", "commit:2", "committed 2"),
    ("first", "transaction:3", "inside commit 3"),
    ("first", "running:1", "committed 1"),
    ("first", "rebuild", "before rebuild"),
    ("incremental", "commit:1", "committed 1"),
    ("incremental", "transaction:2", "inside commit 2"),
    ("incremental", "reconcile", "reconciled"),
]


@pytest.mark.parametrize(("sync", "point", "marker"), KILL_POINTS, ids=[f"{s}-{p}" for s, p, _m in KILL_POINTS])
def test_sync_killed_and_resumed__same_warehouse_as_a_clean_run(world, tmp_path, sync, point, marker):
    from fieldsim.server import LocalServer

    server, client, team, _d, _f, tmp = world
    clean_conn, clean = new_store(tmp_path, "clean")
    sync_form(client, clean, asset_of(client))
    if sync == "incremental":
        conn, store = new_store(tmp_path, "killed")
        sync_form(client, store, asset_of(client), page_limit=3)
        conn.close()
        change_the_server(client, team, clean_conn, seed=50 + KILL_POINTS.index((sync, point, marker)))
        sync_form(client, clean, asset_of(client))
    expected = snapshot(clean_conn)
    clean_conn.close()
    batch = 1 if sync == "incremental" else 2
    if point.startswith("running"):  # killed wherever it is once a page is in: a slow server
        with LocalServer(tmp / "server", token=server.token, faults="latency=0.05,seed=1",
                         username=server.username, password=server.password) as slow:
            assert killed_sync(slow.api_url, slow.token, tmp_path / "killed", point, batch=batch) == marker
    else:
        assert killed_sync(server.api_url, server.token, tmp_path / "killed", point, batch=batch) == marker
    conn, store = new_store(tmp_path, "killed")
    assert snapshot(conn) != expected  # killed mid-run: not finished
    sync_form(client, store, asset_of(client), page_limit=3)
    assert_same(snapshot(conn), expected)
    conn.close()


def test_killed_after_loading_before_the_rebuild__staging_stale_then_rebuilt(world, tmp_path):
    server, client, team, _d, _f, _tmp = world
    conn, store = new_store(tmp_path, "stale")
    sync_form(client, store, asset_of(client))
    live = "SELECT count(*) FROM raw_submissions WHERE deleted_at IS NULL AND superseded_at IS NULL"
    before = conn.execute("SELECT count(*) FROM submissions_household").fetchone()[0]
    raw_before = conn.execute(live).fetchone()[0]
    conn.close()
    team.send(2, seed=61)
    assert killed_sync(server.api_url, server.token, tmp_path / "stale", "rebuild") == "before rebuild"
    conn, store = new_store(tmp_path, "stale")
    uid = asset_of(client)["uid"]
    assert conn.execute("SELECT stale FROM staging_state WHERE asset_uid = ?", [uid]).fetchone() == (True,)
    assert conn.execute("SELECT count(*) FROM submissions_household").fetchone()[0] == before
    assert conn.execute(live).fetchone()[0] == raw_before + 2  # loaded, but not in staging yet
    result = sync_form(client, store, asset_of(client))  # nothing new on the server
    assert (result.new, result.edited, result.rebuilt, result.submissions) == (0, 0, True, before + 2)
    assert conn.execute("SELECT stale FROM staging_state WHERE asset_uid = ?", [uid]).fetchone() == (False,)
    clean_conn, clean = new_store(tmp_path, "clean")
    sync_form(client, clean, asset_of(client))
    assert_same(snapshot(conn), snapshot(clean_conn))
    conn.close()
    clean_conn.close()
