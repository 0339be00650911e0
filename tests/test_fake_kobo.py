"""The fake KoboToolbox server of the Java-free sync tests answers like the contract samples
(../shared/kobo-contract): the same bodies where the samples fix them, the same shapes, links,
counts and errors elsewhere."""

from __future__ import annotations

import json

import pytest
import requests
from fake_kobo import BASE, SAMPLE_UID, TOKEN, FakeKobo, sample

DATA = f"{BASE}/api/v2/assets/{SAMPLE_UID}/data/"


@pytest.fixture()
def get(requests_mock):
    def get(kobo: FakeKobo, url: str, **params):
        kobo.install(requests_mock)
        return requests.get(url, params=params, headers={"Authorization": f"Token {TOKEN}"})
    return get


def test_asset_list_pages_asset_detail_and_versions__the_samples_themselves(get):
    kobo = FakeKobo()
    first = get(kobo, f"{BASE}/api/v2/assets/", limit=2).json()
    assert first == sample("assets_list.json")
    assert get(kobo, first["next"]).json() == sample("assets_list_page2.json")
    assert get(kobo, f"{BASE}/api/v2/assets/{SAMPLE_UID}/").json() == sample("asset_detail.json")
    versions = get(kobo, f"{BASE}/api/v2/assets/{SAMPLE_UID}/versions/").json()
    assert versions == sample("asset_versions.json")
    detail = get(kobo, versions["results"][1]["url"]).json()
    assert detail == {**versions["results"][1], "content": sample("asset_detail.json")["content"]}
    missing = get(kobo, f"{BASE}/api/v2/assets/{SAMPLE_UID}/versions/vNoSuch/")
    assert (missing.status_code, missing.json()) == (404, sample("errors/404_not_found.json"))


def test_data_page__sample_keys_in_sample_order_count_and_next_link(get):
    kobo = FakeKobo(57)
    page = get(kobo, DATA, format="json", limit=3).json()
    expected = sample("data_page.json")
    assert list(page) == list(expected) and page["count"] == 57
    assert page["next"] == expected["next"] and page["previous"] is None
    keys = [[k for k in r if k != "meta/deprecatedID"] for r in expected["results"]]
    assert [list(r) for r in page["results"]] == keys
    assert [r["_id"] for r in page["results"]] == [40215001, 40215002, 40215003]
    assert all(r["meta/instanceID"] == f"uuid:{r['_uuid']}" for r in page["results"])


def test_listing__server_adds_uuid_root_and_an_empty_status_unless_asked(get):
    kobo = FakeKobo(57)
    page = get(kobo, DATA, fields='["_id","hh_info/village"]', format="json", limit=2).json()
    expected = sample("data_page_fields.json")
    assert page["next"] == expected["next"] and page["count"] == expected["count"]
    assert [list(r) for r in page["results"]] == [list(r) for r in expected["results"]]
    assert [r["_validation_status"] for r in page["results"]] == [{}, {}]
    asked = get(kobo, DATA, fields='["_id","_validation_status"]', limit=1).json()["results"][0]
    assert asked["_validation_status"]["uid"] == "validation_status_approved"


def test_data_query__id_keyset_in_and_sort_with_count_after_the_query(get):
    kobo = FakeKobo(10)
    after = get(kobo, DATA, query='{"_id":{"$gt":40215004}}', sort='{"_id":1}', limit=2).json()
    assert [r["_id"] for r in after["results"]] == [40215005, 40215006] and after["count"] == 6
    chosen = get(kobo, DATA, query='{"_id":{"$in":[40215002,40215009]}}').json()
    assert [r["_id"] for r in chosen["results"]] == [40215002, 40215009] and chosen["next"] is None
    newest = get(kobo, DATA, sort='{"_id":-1}', limit=1).json()
    assert newest["results"][0]["_id"] == 40215010
    assert get(kobo, DATA, query='{"_id":{"$gt":99999999}}', format="json").json() == \
        sample("data_page_empty.json")


def test_next_links__start_now_offset_on_older_servers_and_only_start_moves(get):
    kobo = FakeKobo(5, links="offset")
    page = get(kobo, DATA, limit=2, start=2).json()
    assert page["next"].endswith("limit=2&offset=4") and page["previous"].endswith("?limit=2")
    assert [r["_id"] for r in page["results"]] == [40215003, 40215004]
    assert [r["_id"] for r in get(kobo, page["next"]).json()["results"]] == [40215001, 40215002]


def test_edit_delete_validate__as_kpi_does_them(get):
    kobo = FakeKobo(3)
    before = kobo.main.records[40215001].copy()
    new_uuid = kobo.main.edit(40215001, **{"hh_info/village": "Edited"})
    kobo.main.delete(40215002)
    kobo.main.validate(40215003, "validation_status_on_hold")
    records = get(kobo, DATA).json()["results"]
    edited = records[0]
    assert (edited["_id"], edited["_submission_time"]) == (before["_id"], before["_submission_time"])
    assert edited["_uuid"] == new_uuid != before["_uuid"]
    assert edited["meta/deprecatedID"] == before["meta/instanceID"]
    assert edited["meta/rootUuid"] == before["meta/rootUuid"]
    assert [r["_id"] for r in records] == [40215001, 40215003]
    assert records[1]["_validation_status"]["label"] == "On Hold"


def test_legacy_records_and_errors__as_the_samples_give_them(get):
    kobo = FakeKobo(1, legacy=True)
    record = get(kobo, DATA).json()["results"][0]
    assert "_tags" in record and "meta/rootUuid" not in record
    for params, status, body in [({"count": "1"}, 400, "errors/400_count_param.json"),
                                 ({"limit": "0"}, 400, "errors/400_invalid_limit.json"),
                                 ({"query": "{bad"}, 400, "errors/400_invalid_query_json.json")]:
        answer = get(kobo, DATA, **params)
        assert (answer.status_code, answer.json()) == (status, sample(body))
    unknown = requests.get(DATA, headers={"Authorization": "Token nope"})
    assert unknown.status_code == 401
    assert json.loads(unknown.content) == sample("errors/401_invalid_token.json")
