"""The local server answers like KoboToolbox: every sample in tests/fixtures/kobo-contract (a copy
of ../shared/kobo-contract) is compared with the server's response to the same request — keys,
value types, status codes and key headers — and a round trip (import, deploy, OpenRosa
submissions with a repeat, a select_multiple, a geopoint, an attachment and an edit) reads back
in the expected shape."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests
from kobo_world import FORM_ID, Field, household_form

from etl.deploy import deploy_forms
from etl.http import HttpClient
from etl.kobo import KoboClient
from forms.xlsform import write_xlsform

pytestmark = pytest.mark.java
CONTRACT = Path(__file__).resolve().parent / "fixtures" / "kobo-contract"


def sample(name: str):
    return json.loads((CONTRACT / name).read_text())


def same_shape(expected, actual, where="body", strict_keys=True):
    """Same keys and value types, recursively (None matches anything: optional values)."""
    if expected is None or actual is None:
        return
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        if strict_keys:
            assert set(expected) == set(actual), (
                f"{where}: keys differ: missing {set(expected) - set(actual)}, extra {set(actual) - set(expected)}")
        for key in set(expected) & set(actual):
            same_shape(expected[key], actual[key], f"{where}.{key}", strict_keys)
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{where}: expected a list, got {actual!r}"
        if expected and actual:
            same_shape(expected[0], actual[0], f"{where}[0]", strict_keys)
    elif isinstance(expected, bool):
        assert isinstance(actual, bool), f"{where}: expected a boolean, got {actual!r}"
    elif isinstance(expected, (int, float)):
        assert isinstance(actual, (int, float)) and not isinstance(actual, bool), f"{where}: {actual!r}"
    else:
        assert isinstance(actual, type(expected)), f"{where}: expected {type(expected).__name__}, got {actual!r}"


@pytest.fixture(scope="module")
def kobo(tmp_path_factory):
    from fieldsim.engine import FormEngine
    from fieldsim.server import LocalServer

    tmp = tmp_path_factory.mktemp("contract")
    forms_dir = tmp / "forms"
    write_xlsform(household_form(1), forms_dir / f"{FORM_ID}.xlsx")
    with LocalServer(tmp / "server") as server, FormEngine() as engine:
        client = KoboClient(HttpClient(server.api_url, server.token))
        deployed = deploy_forms(client, forms_dir)[0]
        team = Field(server, engine, tmp)
        team.send(4, seed=3)
        yield server, client, team, deployed.asset_uid, tmp


def api(server, method, path, token=True, **kwargs):
    headers = {"Authorization": f"Token {server.token}"} if token else {}
    return requests.request(method, f"{server.api_url}{path}", headers=headers, **kwargs)


def test_assets_list__envelope_and_items_like_kpi(kobo):
    server, *_ = kobo
    response = api(server, "GET", "/api/v2/assets/?limit=1")
    assert response.status_code == 200
    body = response.json()
    expected = sample("assets_list.json")
    same_shape({k: expected[k] for k in ("count", "next", "previous")}, {k: body[k] for k in ("count", "next", "previous")})
    assert set(body["results"][0]) == set(expected["results"][0])
    same_shape(expected["results"][0], body["results"][0], "results[0]", strict_keys=False)


def test_asset_detail__fields_and_content_like_kpi(kobo):
    server, _client, _team, uid, _tmp = kobo
    body = api(server, "GET", f"/api/v2/assets/{uid}/").json()
    expected = sample("asset_detail.json")
    assert set(body) == set(expected)
    assert set(body["content"]) == set(expected["content"]) - {"settings"} | {"settings"}
    rows = {row.get("name"): row for row in body["content"]["survey"]}
    assert rows["village"]["$xpath"] == "hh/village" and rows["village"]["required"] is True
    assert rows["water"]["type"] == "select_multiple" and rows["water"]["select_from_list_name"] == "src"
    assert rows["jobs"]["$xpath"] == "members/jobs"
    assert all(len(row["$kuid"]) == 9 for row in body["content"]["survey"])
    assert body["content"]["settings"]["id_string"] == FORM_ID
    assert isinstance(body["content"]["survey"][3]["label"], list)
    same_shape(expected["deployed_versions"], body["deployed_versions"])


def test_versions__paged_with_date_deployed_false_for_undeployed(kobo):
    server, _client, _team, uid, _tmp = kobo
    body = api(server, "GET", f"/api/v2/assets/{uid}/versions/").json()
    same_shape(sample("asset_versions.json"), body)


def test_import__created_then_complete_and_error_like_kpi(kobo):
    server, client, _team, _uid, tmp = kobo
    path = tmp / "forms" / f"{FORM_ID}.xlsx"
    with path.open("rb") as handle:
        response = api(server, "POST", "/api/v2/imports/", files={"file": handle},
                       data={"name": "x", "library": "false"})
    assert response.status_code == 201
    same_shape(sample("imports/create_201.json"), response.json())
    client.wait_import(response.json()["uid"])
    done = api(server, "GET", f"/api/v2/imports/{response.json()['uid']}/").json()
    same_shape(sample("imports/status_complete_created.json"), done, strict_keys=False)
    assert set(done) == set(sample("imports/status_complete_created.json"))
    bad = api(server, "POST", "/api/v2/imports/", files={"file": ("bad.xlsx", b"not a workbook")},
              data={"name": "bad", "library": "false"})
    client_task = bad.json()["uid"]
    with pytest.raises(Exception, match="could not import"):
        client.wait_import(client_task)
    error = api(server, "GET", f"/api/v2/imports/{client_task}/").json()
    same_shape(sample("imports/status_error.json"), error)


def test_import_without_library_false__makes_a_library_block(kobo):
    server, client, _team, _uid, tmp = kobo
    with (tmp / "forms" / f"{FORM_ID}.xlsx").open("rb") as handle:
        response = api(server, "POST", "/api/v2/imports/", files={"file": handle}, data={"name": "blk"})
    uid = client.wait_import(response.json()["uid"])
    assert api(server, "GET", f"/api/v2/assets/{uid}/").json()["asset_type"] == "block"


def test_deployment__codes_and_bodies_like_kpi(kobo):
    server, client, _team, uid, _tmp = kobo
    got = api(server, "GET", f"/api/v2/assets/{uid}/deployment/")
    assert got.status_code == 200
    same_shape(sample("deployment.json"), got.json(), strict_keys=False)
    assert set(got.json()) == set(sample("deployment.json"))
    again = api(server, "POST", f"/api/v2/assets/{uid}/deployment/", json={"active": True})
    assert again.status_code == 405 and again.json() == sample("errors/405_deployment_exists.json")
    archived = api(server, "PATCH", f"/api/v2/assets/{uid}/deployment/", json={"active": False})
    assert archived.status_code == 200 and archived.json()["active"] is False
    assert set(archived.json()) == set(sample("deployment_archived.json"))
    team_post = requests.post(f"{server.api_url}/submission", headers={"Authorization": f"Token {server.token}"},
                              files={"xml_submission_file": ("s.xml", f'<{uid} id="{uid}"><meta><instanceID>uuid:x</instanceID></meta></{uid}>')})
    assert team_post.status_code == 405 and "Form is not active" in team_post.text
    api(server, "PATCH", f"/api/v2/assets/{uid}/deployment/", json={"active": True})
    # a draft: PATCH before any deployment
    with (Path(_tmp) / "forms" / f"{FORM_ID}.xlsx").open("rb") as handle:
        task = api(server, "POST", "/api/v2/imports/", files={"file": handle}, data={"name": "d", "library": "false"})
    draft = client.wait_import(task.json()["uid"])
    missing = api(server, "PATCH", f"/api/v2/assets/{draft}/deployment/", json={"active": True, "version_id": "v"})
    assert missing.status_code == 405 and missing.json() == sample("errors/405_deployment_missing.json")
    not_deployed = api(server, "GET", f"/api/v2/assets/{draft}/data/")
    assert not_deployed.status_code == 400 and not_deployed.json() == sample("errors/400_asset_not_deployed.json")


def test_deploying_an_invalid_form__400_with_pyxforms_message(kobo, tmp_path):
    from forms.definition import Text
    from forms.xlsform import FormSpec, Row

    server, client, *_ = kobo
    bad = FormSpec("bad", Text("b", "b", "b"), "en", [Row("integer", "hh_size")], [])
    write_xlsform(bad, tmp_path / "bad.xlsx")
    uid = client.wait_import(client.import_xlsform(tmp_path / "bad.xlsx", "bad"))
    response = api(server, "POST", f"/api/v2/assets/{uid}/deployment/", json={"active": True})
    assert response.status_code == 400
    same_shape(sample("errors/400_deploy_invalid_xlsform.json"), response.json())
    assert "hh_size" in response.json()["error"]


def test_data_page__records_shaped_like_kobo(kobo):
    server, _client, _team, uid, _tmp = kobo
    body = api(server, "GET", f"/api/v2/assets/{uid}/data/?format=json&limit=2").json()
    expected = sample("data_page.json")
    assert set(body) == set(expected) and body["count"] >= 4
    assert "start=2" in body["next"] and body["next"].startswith(server.api_url)
    record = body["results"][0]
    meta = {k for k in expected["results"][0] if k.startswith("_") or k in ("formhub/uuid", "meta/instanceID",
                                                                            "meta/rootUuid", "__version__")}
    assert meta <= set(record)
    for key in meta:
        same_shape(expected["results"][0][key], record[key], key, strict_keys=False)
    assert all(isinstance(v, str) for k, v in record.items() if not k.startswith("_") and k != "members")
    assert record["_xform_id_string"] == uid and record["meta/instanceID"] == f"uuid:{record['_uuid']}"


def test_data_page__limits_queries_fields_and_errors(kobo):
    server, _client, _team, uid, _tmp = kobo
    path = f"/api/v2/assets/{uid}/data/"
    for query, body in (("limit=0", "errors/400_invalid_limit.json"), ("limit=abc", "errors/400_invalid_limit.json"),
                        ("query={bad", "errors/400_invalid_query_json.json"),
                        ('query={"_id":{"$where":1}}', "errors/400_unsupported_query.json"),
                        ("count=1", "errors/400_count_param.json")):
        response = api(server, "GET", f"{path}?{query}")
        assert response.status_code == 400 and response.json() == sample(body), query
    fields = api(server, "GET", f'{path}?fields=["_id","hh/village"]&limit=2').json()
    expected = sample("data_page_fields.json")
    expected_record = {("hh/village" if k == "hh_info/village" else k): v for k, v in expected["results"][0].items()}
    same_shape({**expected, "results": [expected_record]}, fields)
    assert fields["results"][0]["_validation_status"] == {}  # not requested, as on the real server
    empty = api(server, "GET", f'{path}?query={{"_id":{{"$gt":999999}}}}').json()
    assert empty == sample("data_page_empty.json")
    capped = api(server, "GET", f"{path}?limit=5000").json()
    assert capped["next"] is None or "limit=1000" in capped["next"]


def test_auth__token_errors_and_hidden_assets(kobo):
    server, _client, _team, uid, _tmp = kobo
    bad = requests.get(f"{server.api_url}/api/v2/assets/", headers={"Authorization": "Token nope"})
    assert bad.status_code == 401 and bad.json() == sample("errors/401_invalid_token.json")
    empty = requests.get(f"{server.api_url}/api/v2/assets/", headers={"Authorization": "Token"})
    assert empty.status_code == 401 and empty.json() == sample("errors/401_malformed_token_header.json")
    anonymous = requests.post(f"{server.api_url}/api/v2/imports/")
    assert anonymous.status_code == 401 and anonymous.json() == sample("errors/401_not_authenticated.json")
    hidden = requests.get(f"{server.api_url}/api/v2/assets/{uid}/")
    assert hidden.status_code == 404 and hidden.json() == sample("errors/404_not_found.json")
    token = requests.get(f"{server.api_url}/token/?format=json", auth=(server.username, server.password))
    same_shape(sample("auth/token_get_200.json"), token.json())


def test_validation_status__single_and_bulk_like_kpi(kobo):
    server, _client, _team, uid, _tmp = kobo
    ids = [r["_id"] for r in api(server, "GET", f"/api/v2/assets/{uid}/data/").json()["results"]]
    url = f"/api/v2/assets/{uid}/data/{ids[0]}/validation_status/"
    assert api(server, "GET", url).json() == sample("validation/status_get_unset.json")
    patched = api(server, "PATCH", url, json=sample("validation/status_patch_request.json"))
    same_shape(sample("validation/status_patch_response.json"), patched.json())
    wrong = api(server, "PATCH", url, json={"validation_status.uid": "validation_status_maybe"})
    assert wrong.status_code == 400 and wrong.json() == sample("validation/status_patch_invalid_400.json")
    bulk = sample("validation/statuses_bulk_request.json")
    bulk["payload"]["submission_ids"] = ids[1:3]
    response = api(server, "PATCH", f"/api/v2/assets/{uid}/data/validation_statuses/", json=bulk)
    assert response.json() == sample("validation/statuses_bulk_response.json")
    query = f'/api/v2/assets/{uid}/data/?query={{"_validation_status.uid":"validation_status_not_approved"}}'
    assert api(server, "GET", query).json()["count"] == 2


def test_openrosa__form_list_and_submission_codes_like_kobo(kobo):
    server, _client, team, uid, _tmp = kobo
    challenge = requests.get(f"{server.openrosa_url}/formList")
    assert challenge.status_code == 401 and "Digest" in challenge.headers["WWW-Authenticate"]
    basic = requests.get(f"{server.openrosa_url}/formList", auth=(server.username, server.password))
    assert basic.status_code == 200
    digest = requests.get(f"{server.openrosa_url}/formList",
                          auth=requests.auth.HTTPDigestAuth(server.username, server.password))
    assert digest.status_code == 200 and digest.headers["X-OpenRosa-Version"] == "1.0"
    expected = {el.tag.split("}")[1] for el in ET.parse(CONTRACT / "openrosa" / "formList.xml").getroot().iter()}
    assert expected == {el.tag.split("}")[1] for el in ET.fromstring(digest.content).iter()}
    filled = team.engine.fill(team.xform(), {}, auto=True, seed=42, repeats={"members": 1, "jobs": [1]})
    team.post(filled.xml, 201)
    team.post(filled.xml, 202)
    team.post(filled.xml.replace(b"</start>", b"</start><!-- x -->"), 409)
    anonymous = requests.post(f"{server.openrosa_url}/submission")
    assert anonymous.status_code == 401
    unknown = team.session.post(f"{server.openrosa_url}/submission",
                                files={"xml_submission_file": ("s.xml", b'<aZZZ id="aZZZ"><meta><instanceID>uuid:1</instanceID></meta></aZZZ>')})
    assert unknown.status_code == 404 and "Form does not exist" in unknown.text
    broken = team.session.post(f"{server.openrosa_url}/submission", files={"xml_submission_file": ("s.xml", b"<a")})
    assert broken.status_code == 400 and "Improperly formatted XML" in broken.text
    no_id = team.session.post(f"{server.openrosa_url}/submission",
                              files={"xml_submission_file": ("s.xml", f'<{uid} id="{uid}"><x>1</x></{uid}>'.encode())})
    assert no_id.status_code == 400 and "Instance ID is required" in no_id.text
    head = team.session.head(f"{server.openrosa_url}/submission")
    assert head.status_code == 204 and head.headers["X-OpenRosa-Accept-Content-Length"] == "10000000"


def test_round_trip__repeat_select_multiple_geopoint_attachment_and_edit(kobo):
    server, client, team, uid, _tmp = kobo
    answers = {"village": "Ак-Жар", "hh_size": "3", "location": "41.43 75.99 2050 5", "water": "piped river",
               "member_name": ["Айгүл", "Бакыт"], "member_age": ["34", "7"], "job": [["teacher", "farmer"]],
               "photo": "door.jpg"}
    filled = team.engine.fill(team.xform(), answers, repeats={"members": 2, "jobs": [2, 0]})
    response = team.session.post(f"{server.openrosa_url}/submission", files={
        "xml_submission_file": ("submission.xml", filled.xml, "text/xml"),
        "door.jpg": ("door.jpg", b"\xff\xd8\xff\xe0fakejpeg", "image/jpeg")})
    assert response.status_code == 201
    record = next(client.iter_pages(uid, 0, query={"_uuid": filled.instance_id.removeprefix("uuid:")})).records[0]
    assert record["hh/village"] == "Ак-Жар" and record["hh/hh_size"] == "3"
    assert record["water"] == "piped river"
    assert record["_geolocation"] == [41.43, 75.99]
    members = record["members"]
    assert [m["members/member_name"] for m in members] == ["Айгүл", "Бакыт"]
    assert members[0]["members/jobs"] == [{"members/jobs/job": "teacher"}, {"members/jobs/job": "farmer"}]
    assert "members/jobs" not in members[1]
    attachment = record["_attachments"][0]
    assert attachment["media_file_basename"] == "door.jpg" and attachment["question_xpath"] == "photo"
    assert requests.get(attachment["download_url"], headers={"Authorization": f"Token {server.token}"}).content \
        == b"\xff\xd8\xff\xe0fakejpeg"
    same_shape(sample("data_page.json")["results"][0]["_attachments"][0], attachment)
    edited_id = team.edit(filled.instance_id, village="Жерге-Тал")
    after = next(client.iter_pages(uid, record["_id"] - 1, limit=1)).records[0]
    assert after["_id"] == record["_id"] and after["_submission_time"] == record["_submission_time"]
    assert after["_uuid"] == edited_id.removeprefix("uuid:") != record["_uuid"]
    assert after["meta/deprecatedID"] == filled.instance_id
    assert after["meta/rootUuid"] == filled.instance_id and after["hh/village"] == "Жерге-Тал"
