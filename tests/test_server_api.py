"""Local server behaviour beyond single responses: paging and links, query operators, sort,
deletion, users who cannot see each other's assets, persistence across a restart, the legacy
switch and seeded fault injection."""

from __future__ import annotations

import json
import shutil

import pytest
import requests
from fixtures.server.training import import_form, write_form
from kobo_world import FORM_ID, Field, household_form

from etl.deploy import deploy_forms
from etl.http import HttpClient
from etl.kobo import KoboClient
from fieldsim.server.faults import Faults
from forms.xlsform import write_xlsform

pytestmark = pytest.mark.java


@pytest.fixture(scope="module")
def kobo(tmp_path_factory):
    from fieldsim.engine import FormEngine
    from fieldsim.server import LocalServer

    tmp = tmp_path_factory.mktemp("api")
    write_xlsform(household_form(1), tmp / "forms" / f"{FORM_ID}.xlsx")
    with FormEngine() as engine:
        with LocalServer(tmp / "server") as server:
            client = KoboClient(HttpClient(server.api_url, server.token))
            uid = deploy_forms(client, tmp / "forms")[0].asset_uid
            Field(server, engine, tmp).send(12, seed=4)
        yield tmp, uid, server.token


def started(tmp, token, **kwargs):
    from fieldsim.server import LocalServer

    return LocalServer(tmp / "server", token=token, **kwargs)


def get(server, path):
    return requests.get(f"{server.api_url}{path}", headers={"Authorization": f"Token {server.token}"})


def test_restarted_server__keeps_forms_and_submissions(kobo):
    tmp, uid, token = kobo
    with started(tmp, token) as server:
        assert get(server, f"/api/v2/assets/{uid}/data/").json()["count"] == 12


def test_paging__start_moves_the_window__legacy_asset_links_use_offset(tmp_path, kobo):
    tmp, uid, token = kobo
    with started(tmp, token) as server:
        first = get(server, f"/api/v2/assets/{uid}/data/?limit=5").json()
        assert first["previous"] is None and "start=5" in first["next"]
        second = requests.get(first["next"], headers={"Authorization": f"Token {token}"}).json()
        assert [r["_id"] for r in second["results"]] == [r + 5 for r in [x["_id"] for x in first["results"]]]
        assert "start=" not in second["previous"]  # previous drops start when it would be 0
    shutil.copytree(tmp / "server", tmp_path / "server")
    with started(tmp_path, token, legacy=True) as old:
        import_form(old.api_url, token, write_form(tmp_path / "second.xlsx"))  # a second asset
        page = get(old, f"/api/v2/assets/{uid}/data/?limit=5").json()
        assert "start=5" in page["next"]  # data pages always used start (data_page_legacy.json)
        listing = get(old, "/api/v2/assets/?limit=1").json()
        assert listing["count"] == 2
        assert listing["next"] == f"{old.api_url}/api/v2/assets/?limit=1&offset=1"
        rest = requests.get(listing["next"], headers={"Authorization": f"Token {token}"}).json()
        [one], [other] = listing["results"], rest["results"]  # exactly one asset a page
        assert {one["uid"], other["uid"]} == {a["uid"] for a in get(old, "/api/v2/assets/").json()["results"]}
        assert one["uid"] != other["uid"]
        assert rest["next"] is None and rest["previous"] == f"{old.api_url}/api/v2/assets/?limit=1"
        assert page["results"][0]["_tags"] == [] and page["results"][0]["_notes"] == []
        assert "meta/rootUuid" not in page["results"][0]


def test_limits__data_default_100_and_cut_to_1000__asset_list_bad_limit_falls_back_to_100(tmp_path, kobo):
    tmp, uid, token = kobo
    shutil.copytree(tmp / "server", tmp_path / "server")
    with started(tmp_path, token) as server:
        seed = get(server, f"/api/v2/assets/{uid}/data/?limit=1").json()["results"][0]
        seed = {k: v for k, v in seed.items() if k not in ("_id", "_validation_status", "_submitted_by")}
        extra = [{**seed, "_uuid": f"{i:08d}-0000-4000-8000-000000000000",
                  "meta/instanceID": f"uuid:{i:08d}-0000-4000-8000-000000000000"} for i in range(1100)]
        server.state.store.insert_records(uid, extra, "demo")
        total = 12 + len(extra)
        data = f"{server.api_url}/api/v2/assets/{uid}/data/"
        default = get(server, f"/api/v2/assets/{uid}/data/").json()
        assert default["count"] == total and len(default["results"]) == 100
        assert default["next"] == f"{data}?limit=100&start=100"
        capped = get(server, f"/api/v2/assets/{uid}/data/?limit=5000").json()
        assert capped["count"] == total and len(capped["results"]) == 1000  # cut without an error
        assert capped["next"] == f"{data}?limit=1000&start=1000"
        last = requests.get(capped["next"], headers={"Authorization": f"Token {token}"}).json()
        assert len(last["results"]) == total - 1000 and last["next"] is None
        assets = f"{server.api_url}/api/v2/assets/"
        for limit, used in (("0", 100), ("abc", 100), ("5000", 1000)):  # the link shows the limit used
            listing = get(server, f"/api/v2/assets/?limit={limit}&start=1").json()
            assert listing["previous"] == f"{assets}?limit={used}", limit


@pytest.mark.parametrize(("query", "expected"), [
    ('{"_id":{"$gt":3}}', lambda ids: [i for i in ids if i > 3]),
    ('{"_id":{"$gte":3,"$lt":6}}', lambda ids: [i for i in ids if 3 <= i < 6]),
    ('{"_id":{"$lte":2}}', lambda ids: [i for i in ids if i <= 2]),
    ('{"_id":{"$in":[1,4,7]}}', lambda ids: [i for i in ids if i in (1, 4, 7)]),
    ('{"_id":{"$ne":1}}', lambda ids: [i for i in ids if i != 1]),
])
def test_query_operators__on_id(kobo, query, expected):
    tmp, uid, token = kobo
    with started(tmp, token) as server:
        ids = [r["_id"] for r in get(server, f"/api/v2/assets/{uid}/data/").json()["results"]]
        got = get(server, f"/api/v2/assets/{uid}/data/?query={query}").json()
        assert [r["_id"] for r in got["results"]] == expected(ids) and got["count"] == len(expected(ids))


def test_query_on_answers_uuid_and_time__and_sort_descending(kobo):
    tmp, uid, token = kobo
    with started(tmp, token) as server:
        records = get(server, f"/api/v2/assets/{uid}/data/").json()["results"]
        village = records[2]["hh/village"]
        by_answer = get(server, f'/api/v2/assets/{uid}/data/?query={{"hh/village":{json.dumps(village)}}}').json()
        assert records[2]["_id"] in [r["_id"] for r in by_answer["results"]]
        by_uuid = get(server, f'/api/v2/assets/{uid}/data/?query={{"_uuid":"{records[1]["_uuid"]}"}}').json()
        assert [r["_id"] for r in by_uuid["results"]] == [records[1]["_id"]]
        since = get(server, f'/api/v2/assets/{uid}/data/?query={{"_submission_time":{{"$gte":"2000-01-01T00:00:00"}}}}')
        assert since.json()["count"] == len(records)
        desc = get(server, f'/api/v2/assets/{uid}/data/?sort={{"_id":-1}}').json()
        assert [r["_id"] for r in desc["results"]] == sorted((r["_id"] for r in records), reverse=True)


def test_users__cannot_see_each_others_assets(kobo):
    tmp, uid, token = kobo
    with started(tmp, token) as server:
        server.add_user("other", "pw", "b" * 40)
        other = requests.get(f"{server.api_url}/api/v2/assets/", headers={"Authorization": "Token " + "b" * 40})
        assert other.json()["count"] == 0
        hidden = requests.get(f"{server.api_url}/api/v2/assets/{uid}/data/",
                              headers={"Authorization": "Token " + "b" * 40})
        assert hidden.status_code == 404


def test_delete__hard_delete_and_count_goes_down(tmp_path, kobo):
    tmp, uid, token = kobo
    shutil.copytree(tmp / "server", tmp_path / "server")
    with started(tmp_path, token) as server:
        before = get(server, f"/api/v2/assets/{uid}/data/").json()
        victim = before["results"][0]["_id"]
        deleted = requests.delete(f"{server.api_url}/api/v2/assets/{uid}/data/{victim}/",
                                  headers={"Authorization": f"Token {token}"})
        assert deleted.status_code == 204
        after = get(server, f"/api/v2/assets/{uid}/data/").json()
        assert after["count"] == before["count"] - 1 and victim not in [r["_id"] for r in after["results"]]
        assert get(server, f"/api/v2/assets/{uid}/data/{victim}/").status_code == 404


def test_faults__seeded_errors_and_drops_mid_body_reproduce(kobo):
    tmp, uid, token = kobo
    spec = "error_rate=0.5,drop_rate=0.3,seed=11"

    def outcomes():
        out = []
        with started(tmp, token, faults=spec) as server:
            for _ in range(16):
                try:
                    out.append(get(server, f"/api/v2/assets/{uid}/data/").status_code)
                except requests.exceptions.ChunkedEncodingError as err:  # headers came, the body broke off
                    assert "IncompleteRead" in str(err) or "Connection broken" in str(err)
                    out.append("dropped")
        return out

    first, second = outcomes(), outcomes()
    assert first == second
    assert {502, 503, 504} & set(first) and 200 in first and "dropped" in first
    assert set(first) <= {200, 502, 503, 504, "dropped"}


def test_fault_spec__unknown_key_is_refused():
    assert Faults.parse("latency=0.1,seed=2") == Faults(latency=0.1, seed=2)
    with pytest.raises(ValueError, match="unknown fault 'lag'"):
        Faults.parse("lag=1")


def test_restarted_server__keeps_the_token_when_none_is_given(kobo):
    from fieldsim.server import LocalServer

    tmp, uid, token = kobo
    with LocalServer(tmp / "server") as server:  # no token: the stored one is kept
        assert server.token == token
        assert get(server, f"/api/v2/assets/{uid}/").status_code == 200


def test_fields__requested_keys_plus_the_ones_kpi_always_adds(kobo):
    tmp, uid, token = kobo
    with started(tmp, token) as server:
        page = get(server, f'/api/v2/assets/{uid}/data/?fields=["_id","_validation_status"]&limit=3').json()
        assert [list(r) for r in page["results"]] == [["_id", "_validation_status", "_uuid", "meta/rootUuid"]] * 3


def test_faults__latency_and_slow_page_delay_data_pages_only_as_asked(kobo):
    import time

    tmp, uid, token = kobo
    with started(tmp, token, faults="latency=0.1,slow_page=0.3,seed=1") as server:
        began = time.perf_counter()
        assert get(server, "/api/v2/assets/").status_code == 200
        listing = time.perf_counter() - began
        began = time.perf_counter()
        assert get(server, f"/api/v2/assets/{uid}/data/").status_code == 200
        page = time.perf_counter() - began
    assert 0.1 <= listing < 0.35 and page >= 0.4
