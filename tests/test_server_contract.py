"""The local server answers like KoboToolbox: every sample in tests/fixtures/kobo-contract (a copy
of ../shared/kobo-contract) is compared with the server's answer to the same request — keys, value
types, status codes and key headers; ids, hosts and times differ. The sample form itself (built
back from asset_detail.json) is imported, and the sample instance XMLs are submitted, so content
and records can be compared value for value."""

from __future__ import annotations

import copy
import json
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests
import xlsxwriter
from fixtures.server.training import import_form, write_form

from fieldsim.server import LocalServer

CONTRACT = Path(__file__).resolve().parent / "fixtures" / "kobo-contract"
S_UID, S_FH, S_VERSION, S_HOST = ("a33fJoz2W6A6gUv4fUxJGN", "3ccb28f041200bb52fb605699b30a69a",
                                  "vAL4cbH5VBLNfUybApRfBU", "https://kf.example.org")
PHOTO = b"\xff\xd8\xff\xe0 sample photo"


def sample(name: str):
    return json.loads((CONTRACT / name).read_text(encoding="utf-8"))


def without_name_quality(task: dict) -> dict:
    """An import task without ``summary.name_quality.firsts``, whose keys depend on kpi's naming
    heuristics (the local server counts every name as good)."""
    task = copy.deepcopy(task)
    for item in task["messages"].get("created", []) + task["messages"].get("updated", []):
        item["summary"]["name_quality"].pop("firsts")
    return task


def same_shape(expected, actual, where="body", strict_keys=True):
    """Same keys and value types, recursively (None on either side matches: optional values)."""
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


def write_sample_form(path: Path) -> Path:
    """The XLSForm behind asset_detail.json's ``content``, as a person would write it."""
    content = sample("asset_detail.json")["content"]
    langs = content["translations"]
    columns = ["type", "name", *[f"{c}::{lang}" for c in ("label", "hint") for lang in langs],
               "required", "constraint", "repeat_count", "calculation"]
    book = xlsxwriter.Workbook(str(path))
    survey, choices, settings = (book.add_worksheet(n) for n in ("survey", "choices", "settings"))
    survey.write_row(0, 0, columns)
    for i, row in enumerate(content["survey"], start=1):
        kind = f"{row['type']} {row['select_from_list_name']}" if "select_from_list_name" in row else row["type"]
        cells = [kind.replace("_", " ", 1) if kind.startswith(("begin_", "end_")) else kind, row.get("name", "")]
        for column in ("label", "hint"):
            cells += [(row.get(column) or [None] * len(langs))[j] or "" for j in range(len(langs))]
        required = {True: "true", False: "false"}.get(row.get("required"), "")
        cells += [required, row.get("constraint", ""), row.get("repeat_count", ""), row.get("calculation", "")]
        survey.write_row(i, 0, cells)
    choices.write_row(0, 0, ["list_name", "name", *[f"label::{lang}" for lang in langs]])
    for i, row in enumerate(content["choices"], start=1):
        choices.write_row(i, 0, [row["list_name"], row["name"], *row["label"]])
    settings.write_row(0, 0, ["form_title", "default_language"])
    settings.write_row(1, 0, ["Household WASH indicators", content["settings"]["default_language"]])
    book.close()
    return path


def record_xml(record: dict, uid: str) -> bytes:
    """A sample record written back as the instance XML it was parsed from."""
    root = ET.Element(uid, {"id": uid})

    def put(parent: ET.Element, prefix: str, items) -> None:
        for key, value in items:
            if (key.startswith("_") and key != "__version__") or key == "meta/rootUuid":
                continue
            *groups, leaf = key[len(prefix):].split("/")
            node = parent
            for group in groups:
                node = node[-1] if len(node) and node[-1].tag == group else ET.SubElement(node, group)
            for item in value if isinstance(value, list) else [value]:
                child = ET.SubElement(node, leaf)
                if isinstance(item, dict):
                    put(child, f"{key}/", item.items())
                else:
                    child.text = item

    put(root, "", record.items())
    return ET.tostring(root, encoding="utf-8")


@pytest.fixture(scope="module")
def kobo(tmp_path_factory):
    """The sample asset imported and deployed; the sample's three records submitted (one edited
    twice), their validation statuses set; a draft and a library block beside it."""
    tmp = tmp_path_factory.mktemp("contract")
    with LocalServer(tmp / "server") as server:
        headers = {"Authorization": f"Token {server.token}"}
        created, task = import_form(server.api_url, server.token, write_sample_form(tmp / "wash.xlsx"))
        uid = task["messages"]["created"][0]["uid"]
        deployment = requests.post(f"{server.api_url}/api/v2/assets/{uid}/deployment/", headers=headers,
                                   json={"active": True})
        _, draft_task = import_form(server.api_url, server.token, write_form(tmp / "draft.xlsx"))
        _, block_task = import_form(server.api_url, server.token, tmp / "draft.xlsx", library=True)
        asset = requests.get(f"{server.api_url}/api/v2/assets/{uid}/", headers=headers).json()
        ours = {S_UID: uid, S_FH: asset["deployment__uuid"], S_VERSION: asset["deployed_version_id"]}
        sent = {}
        records = sample("data_page.json")["results"]
        chain = [(records[0], None), (records[1], "uuid:94d0c3e4-94dd-47d5-bfec-95a7407f7b55"),
                 (records[1], "uuid:6a99c3b3-8e11-4a44-a049-8b1a02fe4ea4"), (records[1], "final"), (records[2], None)]
        for record, as_id in chain:
            record = copy.deepcopy(record)
            if as_id and as_id != "final":  # the earlier revisions of the twice-edited record
                record.pop("meta/deprecatedID")
                if as_id.startswith("uuid:6a99"):
                    record["meta/deprecatedID"] = "uuid:94d0c3e4-94dd-47d5-bfec-95a7407f7b55"
                record["meta/instanceID"] = as_id
            xml = record_xml(record, S_UID).decode()
            for theirs, mine in ours.items():
                xml = xml.replace(theirs, mine)
            files = {"xml_submission_file": ("s.xml", xml.encode(), "text/xml")}
            if "water_point_photo" in record:
                files[record["water_point_photo"]] = (record["water_point_photo"], PHOTO, "image/jpeg")
            response = requests.post(f"{server.openrosa_url}/submission", headers=headers, files=files)
            assert response.status_code == 201, response.text
            sent[record["_id"]] = response
        page = requests.get(f"{server.api_url}/api/v2/assets/{uid}/data/", headers=headers).json()["results"]
        ids = {sample_id: ours_["_id"] for sample_id, ours_ in zip((40215001, 40215002, 40215009), page, strict=True)}
        for sample_id, status in ((40215001, "validation_status_approved"), (40215009, "validation_status_on_hold")):
            requests.patch(f"{server.api_url}/api/v2/assets/{uid}/data/{ids[sample_id]}/validation_status/",
                           headers=headers, json={"validation_status.uid": status}).raise_for_status()
        yield {"server": server, "uid": uid, "headers": headers, "ours": ours, "ids": ids, "tmp": tmp,
               "created": created, "task": task, "deployment": deployment, "sent": sent,
               "draft": draft_task["messages"]["created"][0]["uid"],
               "block": block_task["messages"]["created"][0]["uid"]}


def api(kobo, method, path, token=True, **kwargs):
    headers = kobo["headers"] if token else {}
    return requests.request(method, f"{kobo['server'].api_url}{path}", headers=headers, **kwargs)


def localised(kobo, value):
    """A sample value with the sample's ids and host replaced by this server's."""
    text = json.dumps(value)
    for theirs, mine in {**kobo["ours"], S_HOST: kobo["server"].api_url, "demo_owner": "demo",
                         "enumerator1": "demo"}.items():
        text = text.replace(theirs, mine)
    for theirs, mine in kobo["ids"].items():
        text = text.replace(str(theirs), str(mine))
    return json.loads(text)


# --- assets ----------------------------------------------------------------------------------

def test_assets_list__envelope_items_and_start_links_like_sample(kobo):
    response = api(kobo, "GET", "/api/v2/assets/?limit=2")
    body, expected = response.json(), sample("assets_list.json")
    assert response.status_code == 200 and body["count"] == 3
    assert body["next"] == f"{kobo['server'].api_url}/api/v2/assets/?limit=2&start=2"
    assert body["previous"] is None
    for item in body["results"]:
        assert list(item) == list(expected["results"][0])  # kpi's field order
        same_shape(expected["results"][0], item, "results[]", strict_keys=False)


def test_assets_list_page2__previous_drops_start_and_block_status_is_dash(kobo):
    body = api(kobo, "GET", "/api/v2/assets/?limit=2&start=2").json()
    expected = sample("assets_list_page2.json")
    assert body["next"] is None and body["previous"] == f"{kobo['server'].api_url}/api/v2/assets/?limit=2"
    statuses = {a["uid"]: a["deployment_status"] for a in api(kobo, "GET", "/api/v2/assets/").json()["results"]}
    assert statuses == {kobo["uid"]: "deployed", kobo["draft"]: "draft", kobo["block"]: "-"}
    block = next(a for a in api(kobo, "GET", "/api/v2/assets/").json()["results"] if a["uid"] == kobo["block"])
    same_shape(expected["results"][0], block, strict_keys=True)
    assert block["asset_type"] == "block"


def test_asset_detail__fields_and_content_equal_to_sample(kobo):
    body = api(kobo, "GET", f"/api/v2/assets/{kobo['uid']}/").json()
    expected = sample("asset_detail.json")
    assert list(body) == list(expected)
    same_shape({k: v for k, v in expected.items() if k != "content"}, {k: v for k, v in body.items() if k != "content"},
               strict_keys=False)
    content, want = body["content"], expected["content"]
    assert set(content) == set(want)
    for key in ("schema", "translated", "translations"):
        assert content[key] == want[key], key
    assert content["settings"]["default_language"] == want["settings"]["default_language"]
    for sheet in ("survey", "choices"):
        assert len(content[sheet]) == len(want[sheet])
        for got, row in zip(content[sheet], want[sheet], strict=True):
            assert len(got["$kuid"]) == 9
            assert {**got, "$kuid": row["$kuid"]} == row


def test_asset_versions__paged_and_undeployed_version_has_date_deployed_false(kobo, tmp_path):
    _, replaced = import_form(kobo["server"].api_url, kobo["server"].token, write_sample_form(tmp_path / "wash.xlsx"),
                              destination=kobo["uid"])
    same_shape(without_name_quality(sample("imports/status_complete_replaced.json")), without_name_quality(replaced))
    assert replaced["messages"]["updated"][0]["uid"] == kobo["uid"]
    body = api(kobo, "GET", f"/api/v2/assets/{kobo['uid']}/versions/").json()
    expected = sample("asset_versions.json")
    same_shape({**expected, "results": expected["results"][-1:]}, {**body, "results": body["results"][:1]})
    same_shape({**expected, "results": expected["results"][:1]}, {**body, "results": body["results"][1:]})
    assert body["results"][0]["date_deployed"] is False and isinstance(body["results"][1]["date_deployed"], str)
    assert api(kobo, "GET", f"/api/v2/assets/{kobo['uid']}/").json()["deployed_version_id"] == body["results"][1]["uid"]


# --- imports and deployment ------------------------------------------------------------------

def test_import__201_task_then_complete_like_sample(kobo):
    assert kobo["created"].status_code == 201
    same_shape(sample("imports/create_201.json"), kobo["created"].json())
    assert kobo["created"].json()["status"] == "processing"
    same_shape(without_name_quality(sample("imports/status_complete_created.json")), without_name_quality(kobo["task"]))
    summary = kobo["task"]["messages"]["created"][0]["summary"]
    assert summary["languages"] == ["English (en)", "Français (fr)"] and summary["geo"] is True


def test_import_status_processing__body_like_sample_while_the_task_waits(tmp_path):
    with LocalServer(tmp_path / "server", faults="import_delay=2") as server:
        headers = {"Authorization": f"Token {server.token}"}
        with write_form(tmp_path / "f.xlsx").open("rb") as handle:
            created = requests.post(f"{server.api_url}/api/v2/imports/", headers=headers,
                                    data={"name": "f", "library": "false"}, files={"file": ("f.xlsx", handle)})
        processing = requests.get(created.json()["url"], headers=headers).json()
        expected = sample("imports/status_processing.json")
        assert list(processing) == list(expected)
        same_shape(expected, processing)
        assert processing["status"] == "processing" and processing["messages"] == {}
        assert processing["uid"] == created.json()["uid"]
        deadline = time.monotonic() + 30
        while (task := requests.get(created.json()["url"], headers=headers).json())["status"] == "processing":
            assert time.monotonic() < deadline, task
            time.sleep(0.1)
        assert task["status"] == "complete" and task["messages"]["created"]


def test_import_detail__anonymous_gets_404_as_kpis_empty_queryset_gives(kobo):
    url = kobo["created"].json()["url"]
    anonymous = requests.get(url)  # ImportTaskViewSet: no permission class, queryset none()
    assert anonymous.status_code == 404 and anonymous.json() == sample("errors/404_not_found.json")
    assert requests.get(url, headers=kobo["headers"]).status_code == 200


def test_import__unreadable_file_ends_in_error_like_sample(kobo):
    bad = kobo["tmp"] / "bad.xlsx"
    bad.write_bytes(b"not a workbook")
    _, task = import_form(kobo["server"].api_url, kobo["server"].token, bad)
    same_shape(sample("imports/status_error.json"), task)
    assert task["status"] == "error"


def test_deployment__200_body_like_sample_and_kpis_status_codes(kobo):
    uid, expected = kobo["uid"], sample("deployment.json")
    assert kobo["deployment"].status_code == 200
    for body in (kobo["deployment"].json(), api(kobo, "GET", f"/api/v2/assets/{uid}/deployment/").json()):
        assert list(body) == list(expected) and list(body["asset"]) == list(expected["asset"])
        same_shape(expected, body, strict_keys=False)
        assert body["backend"] == "openrosa" and body["active"] is True
    again = api(kobo, "POST", f"/api/v2/assets/{uid}/deployment/", json={"active": True})
    assert again.status_code == 405 and again.json() == sample("errors/405_deployment_exists.json")
    draft = kobo["draft"]
    missing = api(kobo, "PATCH", f"/api/v2/assets/{draft}/deployment/", json={"active": True, "version_id": "v"})
    assert missing.status_code == 405 and missing.json() == sample("errors/405_deployment_missing.json")
    assert api(kobo, "GET", f"/api/v2/assets/{draft}/deployment/").status_code == 404
    not_deployed = api(kobo, "GET", f"/api/v2/assets/{draft}/data/")
    assert not_deployed.status_code == 400 and not_deployed.json() == sample("errors/400_asset_not_deployed.json")


def test_deployment_archived__patch_active_false_only_archives(kobo, tmp_path):
    _, task = import_form(kobo["server"].api_url, kobo["server"].token, write_form(tmp_path / "f.xlsx"))
    uid = task["messages"]["created"][0]["uid"]
    first = api(kobo, "POST", f"/api/v2/assets/{uid}/deployment/", json={"active": True}).json()
    archived = api(kobo, "PATCH", f"/api/v2/assets/{uid}/deployment/", json={"active": False})
    expected = sample("deployment_archived.json")
    assert archived.status_code == 200 and list(archived.json()) == list(expected)
    assert archived.json()["active"] is False and archived.json()["version_id"] == first["version_id"]
    assert archived.json()["asset"]["deployment_status"] == "archived"
    redeploy = api(kobo, "PATCH", f"/api/v2/assets/{uid}/deployment/",
                   json={"active": True, "version_id": first["asset"]["version_id"]})
    assert redeploy.status_code == 200 and redeploy.json()["active"] is True
    assert redeploy.json()["asset"]["deployment_status"] == "deployed"


def test_deploying_an_invalid_form__400_with_pyxforms_message(kobo, tmp_path):
    _, task = import_form(kobo["server"].api_url, kobo["server"].token, write_form(tmp_path / "b.xlsx", broken=True))
    uid = task["messages"]["created"][0]["uid"]  # the import itself does not run pyxform
    response = api(kobo, "POST", f"/api/v2/assets/{uid}/deployment/", json={"active": True})
    assert response.status_code == 400
    same_shape(sample("errors/400_deploy_invalid_xlsform.json"), response.json())
    assert response.json()["error"] == "The survey element named 'village' has no label or hint."


def test_deploying_a_block__refused_with_kpis_500_and_says_why(kobo):
    response = api(kobo, "POST", f"/api/v2/assets/{kobo['block']}/deployment/", json={"active": True})
    assert response.status_code == 500  # kpi raises BadAssetTypeException, not an API error
    assert response.json() == {"detail": "Only surveys may be deployed, but this asset is a block"}
    assert api(kobo, "GET", f"/api/v2/assets/{kobo['block']}/deployment/").status_code == 404


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/api/v2/assets/{draft}/deployment/"),
    ("PATCH", "/api/v2/assets/{uid}/deployment/"),
    ("DELETE", "/api/v2/assets/{uid}/data/bulk/"),
    ("PATCH", "/api/v2/assets/{uid}/data/{id}/validation_status/"),
    ("PATCH", "/api/v2/assets/{uid}/data/validation_statuses/"),
])
def test_bad_json_body__400_with_drfs_parse_error_not_500(kobo, method, path):
    url = kobo["server"].api_url + path.format(uid=kobo["uid"], draft=kobo["draft"], id=kobo["ids"][40215001])
    headers = {**kobo["headers"], "Content-Type": "application/json"}

    def records() -> tuple[int, list[tuple[int, object]]]:
        page = api(kobo, "GET", f"/api/v2/assets/{kobo['uid']}/data/?format=json&limit=1000").json()
        return page["count"], [(r["_id"], r["_validation_status"]) for r in page["results"]]

    before = records()
    assert before[0] > 0
    response = requests.request(method, url, headers=headers, data="{bad")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "JSON parse error - Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"}
    listed = requests.request(method, url, headers=headers, data="[1]")
    assert listed.status_code == 400
    assert listed.json() == {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}
    assert api(kobo, "GET", f"/api/v2/assets/{kobo['draft']}/deployment/").status_code == 404  # nothing done
    assert records() == before  # no record deleted, no validation status changed


# --- data ------------------------------------------------------------------------------------

def test_data_page__records_equal_to_sample(kobo):
    uid, server = kobo["uid"], kobo["server"]
    body = api(kobo, "GET", f"/api/v2/assets/{uid}/data/?format=json&limit=2").json()
    assert list(body) == list(sample("data_page.json"))
    assert body["next"] == f"{server.api_url}/api/v2/assets/{uid}/data/?format=json&limit=2&start=2"
    records = api(kobo, "GET", f"/api/v2/assets/{uid}/data/?format=json&limit=3").json()["results"]
    for got, want in zip(records, localised(kobo, sample("data_page.json")["results"]), strict=True):
        want["_submission_time"] = got["_submission_time"]
        want["_submitted_by"] = want["_submitted_by"] or "demo"  # no anonymous submissions here
        if got["_validation_status"]:
            want["_validation_status"]["timestamp"] = got["_validation_status"]["timestamp"]
        for ours, theirs in zip(got["_attachments"], want["_attachments"], strict=True):
            for key, value in theirs.items():
                theirs[key] = value.replace("attu7NFrCqs7L6kX6P2KFngh", ours["uid"]) if isinstance(value, str) else value
        assert list(got) == list(want)
        assert got == want


def test_data_page_legacy__tags_notes_and_numeric_attachments_like_sample(kobo):
    with LocalServer(kobo["tmp"] / "server", token=kobo["server"].token, legacy=True) as old:
        body = requests.get(f"{old.api_url}/api/v2/assets/{kobo['uid']}/data/?format=json&limit=3",
                            headers=kobo["headers"]).json()
    for got, want in zip(body["results"], sample("data_page_legacy.json")["results"], strict=True):
        assert list(got) == list(want)
        same_shape(want, got)
    attachment = body["results"][0]["_attachments"][0]
    assert attachment["download_url"].endswith(f"/attachments/{attachment['id']}/")
    assert attachment["instance"] == body["results"][0]["_id"]


def test_data_page_fields__adds_uuid_root_uuid_and_empty_validation_status(kobo):
    uid = kobo["uid"]
    response = api(kobo, "GET", f'/api/v2/assets/{uid}/data/?fields=["_id","hh_info/village"]&format=json&limit=2')
    assert response.json() == localised(kobo, sample("data_page_fields.json")) | {
        "count": 3, "next": response.json()["next"]}
    assert "start=2" in response.json()["next"] and "fields=%5B%22_id%22" in response.json()["next"]


def test_data_page_empty__query_matching_nothing(kobo):
    body = api(kobo, "GET", f'/api/v2/assets/{kobo["uid"]}/data/?query={{"_id":{{"$gt":999999999}}}}').json()
    assert body == sample("data_page_empty.json")


@pytest.mark.parametrize(("params", "name"), [
    ("limit=0", "errors/400_invalid_limit.json"), ("limit=abc", "errors/400_invalid_limit.json"),
    ("query={bad", "errors/400_invalid_query_json.json"),
    ('query={"_id":{"$where":1}}', "errors/400_unsupported_query.json"),
    ("count=1", "errors/400_count_param.json"),
])
def test_data_errors__400_bodies_like_sample(kobo, params, name):
    response = api(kobo, "GET", f"/api/v2/assets/{kobo['uid']}/data/?{params}")
    assert response.status_code == 400 and response.json() == sample(name)


# --- auth ------------------------------------------------------------------------------------

def test_auth__401_and_404_bodies_and_headers_like_kpi(kobo):
    server, uid = kobo["server"], kobo["uid"]
    bad = requests.get(f"{server.api_url}/api/v2/assets/", headers={"Authorization": "Token nope"})
    assert bad.status_code == 401 and bad.json() == sample("errors/401_invalid_token.json")
    assert bad.headers["WWW-Authenticate"] == "Session"
    empty = requests.get(f"{server.api_url}/api/v2/assets/", headers={"Authorization": "Token"})
    assert empty.status_code == 401 and empty.json() == sample("errors/401_malformed_token_header.json")
    for method, path in (("POST", "/api/v2/imports/"), ("GET", "/token/")):
        anonymous = requests.request(method, f"{server.api_url}{path}")
        assert anonymous.status_code == 401 and anonymous.json() == sample("errors/401_not_authenticated.json")
    for path in (f"/api/v2/assets/{uid}/", f"/api/v2/assets/{uid}/data/"):
        hidden = requests.get(f"{server.api_url}{path}")
        assert hidden.status_code == 404 and hidden.json() == sample("errors/404_not_found.json")
    listing = requests.get(f"{server.api_url}/api/v2/assets/")
    assert listing.status_code == 200 and listing.json()["count"] == 0  # anonymous: public assets only
    token = requests.get(f"{server.api_url}/token/?format=json", auth=(server.username, server.password))
    assert token.json() == {"token": server.token}
    same_shape(sample("auth/token_get_200.json"), token.json())


# --- validation status -----------------------------------------------------------------------

def test_validation_status__single_get_patch_and_invalid_like_sample(kobo):
    url = f"/api/v2/assets/{kobo['uid']}/data/{kobo['ids'][40215002]}/validation_status/"
    assert api(kobo, "GET", url).json() == sample("validation/status_get_unset.json")
    patched = api(kobo, "PATCH", url, json=sample("validation/status_patch_request.json"))
    expected = localised(kobo, sample("validation/status_patch_response.json"))
    assert patched.status_code == 200 and patched.json() | {"timestamp": 0} == expected | {"timestamp": 0}
    assert api(kobo, "GET", url).json() == patched.json()
    wrong = api(kobo, "PATCH", url, json={"validation_status.uid": "validation_status_maybe"})
    assert wrong.status_code == 400 and wrong.json() == sample("validation/status_patch_invalid_400.json")
    assert api(kobo, "DELETE", url).status_code == 204 and api(kobo, "GET", url).json() == {}


def test_validation_statuses__bulk_patch_like_sample(kobo):
    body = localised(kobo, sample("validation/statuses_bulk_request.json"))
    response = api(kobo, "PATCH", f"/api/v2/assets/{kobo['uid']}/data/validation_statuses/", json=body)
    assert response.status_code == 200 and response.json() == sample("validation/statuses_bulk_response.json")
    query = '{"_validation_status.uid":"validation_status_not_approved"}'
    found = api(kobo, "GET", f"/api/v2/assets/{kobo['uid']}/data/?query={query}").json()["results"]
    assert sorted(r["_id"] for r in found) == sorted(body["payload"]["submission_ids"])
    bad = api(kobo, "PATCH", f"/api/v2/assets/{kobo['uid']}/data/validation_statuses/",
              json={"payload": {"submission_ids": [999999999], "validation_status.uid": "validation_status_approved"}})
    assert bad.status_code == 400 and bad.json() == {"detail": "One or more submission ids are invalid"}


# --- OpenRosa --------------------------------------------------------------------------------

def _tags_and_attributes(xml: bytes) -> set[tuple[str, tuple[str, ...]]]:
    return {(el.tag.split("}")[-1], tuple(sorted(el.attrib))) for el in ET.fromstring(xml).iter()}


def test_form_list__xml_and_headers_like_sample(kobo):
    server = kobo["server"]
    response = requests.get(f"{server.openrosa_url}/formList", auth=(server.username, server.password))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert response.headers["X-OpenRosa-Version"] == "1.0"
    assert _tags_and_attributes(response.content) == _tags_and_attributes((CONTRACT / "openrosa/formList.xml").read_bytes())
    entries = [{el.tag.split("}")[-1]: el.text for el in entry} for entry in ET.fromstring(response.content)]
    fields = next(entry for entry in entries if entry["formID"] == kobo["uid"])
    assert fields["hash"].startswith("md5:") and fields["name"] == "Household WASH indicators"
    assert re.fullmatch(r"\d+ \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)", fields["version"])
    form = requests.get(fields["downloadUrl"], auth=(server.username, server.password))
    assert form.status_code == 200 and f'id="{kobo["uid"]}"' in form.text
    manifest = requests.get(fields["manifestUrl"], auth=(server.username, server.password))
    assert manifest.status_code == 200 and "xformsManifest" in manifest.text


def test_submission_201__response_and_headers_like_sample(kobo):
    response = next(iter(kobo["sent"].values()))
    assert _tags_and_attributes(response.content) == _tags_and_attributes(
        (CONTRACT / "openrosa/submission_201.xml").read_bytes())
    assert response.headers["X-OpenRosa-Version"] == "1.0"
    assert response.headers["X-OpenRosa-Accept-Content-Length"] == "10000000"
    assert "Date" in response.headers and "Location" in response.headers


def test_submission_json__201_and_202_bodies_like_sample(kobo):
    server, uid = kobo["server"], kobo["uid"]
    body = {"id": uid, "submission": {"formhub": {"uuid": kobo["ours"][S_FH]},
                                      "hh_info": {"village": "Json", "hh_size": "1"},
                                      "meta": {"instanceID": "uuid:0b8f2b4e-json-4d7b-9c51-000000000001"}}}
    first = requests.post(f"{server.openrosa_url}/submission", headers=kobo["headers"], json=body)
    assert first.status_code == 201
    same_shape(sample("openrosa/submission_201.json"), first.json())
    assert first.json()["formid"] == uid
    again = requests.post(f"{server.openrosa_url}/submission", headers=kobo["headers"], json=body)
    assert again.status_code == 202 and again.json() == sample("openrosa/submission_202_duplicate.json")
    api(kobo, "DELETE", f"/api/v2/assets/{uid}/data/uuid:0b8f2b4e-json-4d7b-9c51-000000000001/")


@pytest.mark.parametrize(("case", "status", "name"), [
    ("duplicate", 202, "openrosa/submission_202_duplicate.xml"),
    ("no_instance_id", 400, "openrosa/submission_400_no_instance_id.xml"),
    ("unknown_form", 404, "openrosa/submission_404_unknown_form.xml"),
    ("archived", 405, "openrosa/submission_405_form_inactive.xml"),
    ("conflict", 409, "openrosa/submission_409_conflict.xml"),
])
def test_submission_errors__status_and_body_like_sample(kobo, case, status, name):
    uid, server = kobo["uid"], kobo["server"]
    xml = (CONTRACT / "openrosa/submission_request_example.xml").read_text()
    for theirs, mine in kobo["ours"].items():
        xml = xml.replace(theirs, mine)
    xml = xml.replace("17095aab-465b-447c-a2d5-6fbc3cbb4e8b", f"0000{status}ab-465b-447c-a2d5-6fbc3cbb4e8b")
    if case == "no_instance_id":
        xml = re.sub(r"<meta>.*</meta>", "", xml)
    elif case == "unknown_form":
        xml = xml.replace(uid, "aNoSuchForm0000000000000")
    url = f"{server.api_url}/api/v2/assets/{uid}/deployment/"

    def post(text: str) -> requests.Response:
        return requests.post(f"{server.openrosa_url}/submission", headers=kobo["headers"],
                             files={"xml_submission_file": ("s.xml", text.encode(), "text/xml"),
                                    "1772443871220.jpg": ("1772443871220.jpg", PHOTO, "image/jpeg")})

    if case in ("duplicate", "conflict"):
        assert post(xml).status_code == 201
    if case == "conflict":
        xml = xml.replace("Kalaban Coro", "Somewhere else")
    if case == "archived":
        requests.patch(url, headers=kobo["headers"], json={"active": False})
    try:
        response = post(xml)
    finally:
        requests.patch(url, headers=kobo["headers"], json={"active": True})
    assert response.status_code == status
    assert response.text == (CONTRACT / name).read_text()
    assert response.headers["X-OpenRosa-Version"] == "1.0"


def test_submission_head_and_anonymous_post__204_and_digest_challenge(kobo):
    server = kobo["server"]
    head = requests.head(f"{server.openrosa_url}/submission", headers=kobo["headers"])
    assert head.status_code == 204 and head.headers["X-OpenRosa-Accept-Content-Length"] == "10000000"
    anonymous = requests.post(f"{server.openrosa_url}/submission")
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Digest ")
