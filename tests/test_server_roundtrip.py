"""Round trip through the local server: a generated XLSForm is imported and deployed, ODK Collect
style submissions (Digest auth, multipart) go in over OpenRosa, and /data/ gives them back in
exactly KoboToolbox's JSON shape — a group, a repeat with a nested repeat, select_one,
select_multiple, geopoint, an image attachment and an edit."""

from __future__ import annotations

import re

import pytest
import requests
import xlsxwriter
from fixtures.server.training import (
    FORM_ID,
    JPEG,
    LANGS,
    SURVEY,
    deployed_world,
    deployed_xform,
    finish_form,
    import_form,
    instance,
    new_instance_id,
    submit,
    write_form,
)
from requests.auth import HTTPDigestAuth

from fieldsim.server import LocalServer


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with deployed_world(tmp_path_factory.mktemp("roundtrip")) as w:
        yield w.server, w.uid, w.auth, w.headers, w.xform


def records(server, uid, headers, **query):
    params = {"query": requests.compat.json.dumps(query)} if query else {}
    return requests.get(f"{server.api_url}/api/v2/assets/{uid}/data/", headers=headers, params=params).json()


def test_import__content_shaped_like_kpi(world):
    server, uid, _auth, headers, _xform = world
    asset = requests.get(f"{server.api_url}/api/v2/assets/{uid}/", headers=headers).json()
    content = asset["content"]
    assert asset["name"] == "Training household" and asset["asset_type"] == "survey"
    assert content["translations"] == ["English (en)", "Русский (ru)"]
    assert content["translated"] == ["hint", "label"]
    assert content["settings"]["id_string"] == FORM_ID
    rows = {row.get("$autoname", row["type"]): row for row in content["survey"]}
    assert content["survey"][0]["type"] == "start"  # meta questions first, as formpack does
    assert rows["village"]["label"] == ["Village", "Село"] and rows["village"]["required"] is True
    assert rows["village"]["hint"] == ["Ask the head of household", None]
    assert rows["village"]["$xpath"] == "hh/village"
    assert rows["has_water"]["type"] == "select_one" and rows["has_water"]["select_from_list_name"] == "yn"
    assert rows["water"]["type"] == "select_multiple" and rows["water"]["select_from_list_name"] == "src"
    assert rows["job"]["$xpath"] == "members/jobs/job"
    assert all(len(row["$kuid"]) == 9 for row in content["survey"] + content["choices"])
    ends = [row for row in content["survey"] if row["type"].startswith("end_")]
    assert len(ends) == 3 and all("$xpath" not in row for row in ends)
    assert content["choices"][0] | {"$kuid": "x"} == {"name": "yes", "$kuid": "x", "label": ["Yes", "Да"],
                                                       "list_name": "yn", "$autovalue": "yes"}


def test_deployed_xform__id_is_the_asset_uid_with_version_and_formhub_uuid(world):
    server, uid, _auth, headers, xform = world
    asset = requests.get(f"{server.api_url}/api/v2/assets/{uid}/", headers=headers).json()
    assert f'id="{uid}"' in xform and f"<{uid} " in xform
    assert f"'{asset['deployed_version_id']}'" in xform  # __version__ holds the version uid
    assert f"'{asset['deployment__uuid']}'" in xform  # formhub/uuid holds the deployment uuid


def test_submission__reads_back_in_kobotoolbox_json_shape(world):
    server, uid, auth, headers, xform = world
    instance_id = new_instance_id()
    posted = submit(server.openrosa_url, auth, instance(uid, xform, instance_id=instance_id),
                    {"door.jpg": JPEG})
    assert posted.status_code == 201 and posted.headers["X-OpenRosa-Version"] == "1.0"
    [record] = records(server, uid, headers, _uuid=instance_id[5:])["results"]
    asset = requests.get(f"{server.api_url}/api/v2/assets/{uid}/", headers=headers).json()
    [attachment] = record["_attachments"]
    base = f"{server.api_url}/api/v2/assets/{uid}/data/{record['_id']}/attachments/{attachment['uid']}/"
    expected = {
        "_id": record["_id"],
        "formhub/uuid": asset["deployment__uuid"],
        "start": "2026-03-02T10:12:44.512+06:00",
        "hh/village": "Ак-Жар",
        "hh/has_water": "yes",
        "hh/location": "41.43 75.99 2050 5",
        "water": "piped river",
        "members": [
            {"members/member_name": "Айгүл",
             "members/jobs": [{"members/jobs/job": "teacher"}, {"members/jobs/job": "farmer"}]},
            {"members/member_name": "Бакыт"},
        ],
        "photo": "door.jpg",
        "n_members": "2",
        "__version__": asset["deployed_version_id"],
        "meta/instanceID": instance_id,
        "_xform_id_string": uid,
        "_uuid": instance_id[5:],
        "meta/rootUuid": instance_id,
        "_attachments": [{
            "download_url": base,
            "mimetype": "image/jpeg",
            "filename": f"enum1/attachments/{asset['deployment__uuid']}/{instance_id[5:]}/door.jpg",
            "media_file_basename": "door.jpg",
            "uid": attachment["uid"],
            "is_deleted": False,
            "download_large_url": f"{base}large/",
            "download_medium_url": f"{base}medium/",
            "download_small_url": f"{base}small/",
            "question_xpath": "photo",
        }],
        "_status": "submitted_via_web",
        "_geolocation": [41.43, 75.99],
        "_submission_time": record["_submission_time"],
        "_validation_status": {},
        "_submitted_by": "enum1",
    }
    assert record == expected
    assert list(record) == list(expected)  # kpi's key order
    assert len(record["_submission_time"]) == 19 and "+" not in record["_submission_time"]  # UTC, no offset
    assert attachment["uid"].startswith("att") and len(attachment["uid"]) == 24


def test_attachment__served_to_the_owner_only(world):
    server, uid, auth, headers, xform = world
    instance_id = new_instance_id()
    submit(server.openrosa_url, auth, instance(uid, xform, instance_id=instance_id, photo="pump.jpg"),
           {"pump.jpg": JPEG + b"2"})
    [record] = records(server, uid, headers, _uuid=instance_id[5:])["results"]
    url = record["_attachments"][0]["download_url"]
    got = requests.get(url, headers=headers)
    assert got.status_code == 200 and got.content == JPEG + b"2"
    assert got.headers["content-type"] == "image/jpeg"
    assert requests.get(record["_attachments"][0]["download_small_url"], headers=headers).status_code == 200
    assert requests.get(url).status_code == 404  # anonymous: existence hidden


def test_resent_submission__202_duplicate_and_same_id_other_content_409(world):
    server, uid, auth, headers, xform = world
    instance_id = new_instance_id()
    xml = instance(uid, xform, instance_id=instance_id, photo=None)
    assert submit(server.openrosa_url, auth, xml).status_code == 201
    again = submit(server.openrosa_url, auth, xml)
    assert again.status_code == 202 and "Duplicate Instance" in again.text
    changed = submit(server.openrosa_url, auth, instance(uid, xform, instance_id=instance_id, village="Other",
                                                         photo=None))
    assert changed.status_code == 409 and "already exists" in changed.text
    assert records(server, uid, headers, _uuid=instance_id[5:])["count"] == 1


def test_split_upload__a_duplicate_bringing_the_missing_file_adds_it(world):
    server, uid, auth, headers, xform = world
    instance_id = new_instance_id()
    xml = instance(uid, xform, instance_id=instance_id, photo="late.jpg")
    assert submit(server.openrosa_url, auth, xml).status_code == 201  # file not sent yet
    assert records(server, uid, headers, _uuid=instance_id[5:])["results"][0]["_attachments"] == []
    assert submit(server.openrosa_url, auth, xml, {"late.jpg": JPEG}).status_code == 201
    [record] = records(server, uid, headers, _uuid=instance_id[5:])["results"]
    assert [a["media_file_basename"] for a in record["_attachments"]] == ["late.jpg"]


def test_edit__keeps_id_and_time_changes_uuid_and_sets_root_uuid(world):
    server, uid, auth, headers, xform = world
    original = new_instance_id()
    submit(server.openrosa_url, auth, instance(uid, xform, instance_id=original), {"door.jpg": JPEG})
    [before] = records(server, uid, headers, _uuid=original[5:])["results"]
    edited = new_instance_id()
    xml = instance(uid, xform, instance_id=edited, deprecated_id=original, village="Жерге-Тал",
                   members=[("Айгүл", ["teacher"])])
    assert submit(server.openrosa_url, auth, xml).status_code == 201  # the photo is not sent again
    [after] = records(server, uid, headers, _id=before["_id"])["results"]
    assert after["_id"] == before["_id"] and after["_submission_time"] == before["_submission_time"]
    assert after["_uuid"] == edited[5:] and after["meta/instanceID"] == edited
    assert after["meta/deprecatedID"] == original and after["meta/rootUuid"] == original
    assert after["hh/village"] == "Жерге-Тал" and after["n_members"] == "1"
    assert [a["media_file_basename"] for a in after["_attachments"]] == ["door.jpg"]
    keys = list(after)
    assert keys.index("meta/deprecatedID") + 1 == keys.index("meta/rootUuid") < keys.index("_xform_id_string")
    second = new_instance_id()
    xml = instance(uid, xform, instance_id=second, deprecated_id=edited, village="Третье")
    assert submit(server.openrosa_url, auth, xml).status_code == 201
    [again] = records(server, uid, headers, _id=before["_id"])["results"]
    assert again["meta/rootUuid"] == original and again["meta/deprecatedID"] == edited
    stale = submit(server.openrosa_url, auth, instance(uid, xform, instance_id=new_instance_id(),
                                                       deprecated_id=original))
    assert stale.status_code == 410  # the deprecatedID is an older revision
    unknown = submit(server.openrosa_url, auth, instance(uid, xform, instance_id=new_instance_id(),
                                                         deprecated_id=new_instance_id()))
    assert unknown.status_code == 404 and "deprecatedID not found" in unknown.text


def test_unanswered_questions__absent_repeat_absent_and_geolocation_null(world):
    server, uid, auth, headers, xform = world
    instance_id = new_instance_id()
    xml = instance(uid, xform, instance_id=instance_id, location=None, members=[], photo=None)
    assert submit(server.openrosa_url, auth, xml).status_code == 201
    [record] = records(server, uid, headers, _uuid=instance_id[5:])["results"]
    assert "hh/location" not in record and "members" not in record and "photo" not in record
    assert record["_geolocation"] == [None, None] and record["n_members"] == "0"
    assert record["_attachments"] == []


def test_archived_form__405_and_unarchived_accepts_again(world):
    server, uid, auth, headers, xform = world
    url = f"{server.api_url}/api/v2/assets/{uid}/deployment/"
    assert requests.patch(url, headers=headers, json={"active": False}).json()["active"] is False
    refused = submit(server.openrosa_url, auth, instance(uid, xform, instance_id=new_instance_id(), photo=None))
    assert refused.status_code == 405 and "Form is not active" in refused.text
    assert uid not in requests.get(f"{server.openrosa_url}/formList", auth=auth).text
    assert requests.patch(url, headers=headers, json={"active": True}).json()["active"] is True
    accepted = submit(server.openrosa_url, auth, instance(uid, xform, instance_id=new_instance_id(), photo=None))
    assert accepted.status_code == 201


def test_odk_collect_auth__digest_challenge_then_digest_basic_or_token(world):
    server, uid, _auth, _headers, xform = world
    challenge = requests.head(f"{server.openrosa_url}/submission")
    assert challenge.status_code == 401 and challenge.headers["WWW-Authenticate"].startswith("Digest ")
    assert requests.head(f"{server.openrosa_url}/submission",
                         auth=HTTPDigestAuth("enum1", "s3cret")).status_code == 204
    assert requests.get(f"{server.openrosa_url}/formList", auth=HTTPDigestAuth("enum1", "wrong")).status_code == 401
    assert requests.get(f"{server.openrosa_url}/formList", auth=("enum1", "s3cret")).status_code == 200
    by_token = requests.post(f"{server.openrosa_url}/submission", headers={"Authorization": f"Token {server.token}"},
                             files={"xml_submission_file": ("s.xml", instance(uid, xform, instance_id=new_instance_id(),
                                                                               photo=None))})
    assert by_token.status_code == 201
    in_user_path = submit(server.openrosa_url, HTTPDigestAuth("enum1", "s3cret"),
                          instance(uid, xform, instance_id=new_instance_id(), photo=None), path="/enum1/submission")
    assert in_user_path.status_code == 201


def write_flat_form(path):
    """The training form with the repeats turned into groups and the photo into text: what a
    designer's next draft might look like."""
    kinds = {"begin_repeat": "begin_group", "end_repeat": "end_group", "image": "text"}
    book = xlsxwriter.Workbook(str(path))
    survey = book.add_worksheet("survey")
    survey.write_row(0, 0, ["type", "name", f"label::{LANGS[0]}", f"label::{LANGS[1]}", "required"])
    for i, (kind, name, en, ru, required, _extra) in enumerate(SURVEY, start=1):
        if kind != "calculate":
            survey.write_row(i, 0, [kinds.get(kind, kind), name, en, ru, required])
    return finish_form(book, path)


def test_submission__parsed_against_the_version_it_names_not_the_draft(tmp_path):
    with LocalServer(tmp_path / "server", username="enum1", password="s3cret") as server:
        headers, auth = {"Authorization": f"Token {server.token}"}, HTTPDigestAuth("enum1", "s3cret")
        _, task = import_form(server.api_url, server.token, write_form(tmp_path / "form.xlsx"))
        uid = task["messages"]["created"][0]["uid"]
        deployment = f"{server.api_url}/api/v2/assets/{uid}/deployment/"
        requests.post(deployment, headers=headers, json={"active": True}).raise_for_status()
        old_xform = deployed_xform(server.api_url, auth, uid)
        _, replaced = import_form(server.api_url, server.token, write_flat_form(tmp_path / "flat.xlsx"),
                                  destination=uid)
        assert replaced["status"] == "complete"
        asset = requests.get(f"{server.api_url}/api/v2/assets/{uid}/", headers=headers).json()
        assert asset["version_id"] != asset["deployed_version_id"]  # replaced, not redeployed

        def sent(xform, unversioned=False, **kwargs):
            instance_id = new_instance_id()
            xml = instance(uid, xform, instance_id=instance_id, **kwargs)
            if unversioned:
                xml = re.sub(rb"<__version__>[^<]*</__version__>", b"", xml)
            assert submit(server.openrosa_url, auth, xml, {"door.jpg": JPEG}).status_code == 201
            return records(server, uid, headers, _uuid=instance_id[5:])["results"][0]

        def shaped_by_the_deployed_form(record):
            assert [m["members/member_name"] for m in record["members"]] == ["Айгүл", "Бакыт"]
            assert [a["question_xpath"] for a in record["_attachments"]] == ["photo"]

        shaped_by_the_deployed_form(sent(old_xform))  # a phone on the deployed form
        shaped_by_the_deployed_form(sent(old_xform, unversioned=True))  # the deployed version
        requests.patch(deployment, headers=headers,
                       json={"active": True, "version_id": asset["version_id"]}).raise_for_status()
        shaped_by_the_deployed_form(sent(old_xform))  # a phone that has not fetched the new form
        new = sent(deployed_xform(server.api_url, auth, uid), members=[("Айгүл", [])])
        assert new["members/member_name"] == "Айгүл" and "members" not in new
        assert new["photo"] == "door.jpg" and new["_attachments"] == []
