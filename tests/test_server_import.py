"""The local server imports what KoboToolbox imports: a legacy .xls told apart from an .xlsx by its
first bytes (as kpi's ``_get_xls_format``), a form without ``form_id`` named as kpi names it (the
import's ``name``, slugged; without one the form id is the asset uid), type aliases normalised on
save (``begin lgroup`` / ``begin looped group`` are repeats, so a submission keeps every entry),
and XForms that ODK Validate accepts (``formhub/uuid`` added as KoboCAT adds it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import requests
from fixtures.server.training import (
    FORM_ID,
    LANGS,
    PASSWORD,
    TITLE,
    USERNAME,
    calculated,
    deployed_xform,
    import_form,
    instance,
    new_instance_id,
    submit,
    training_sheets,
    write_book,
    write_form,
)
from requests.auth import HTTPDigestAuth

from etl.kobo import form_id_of
from fieldsim.server import LocalServer

AUTH = HTTPDigestAuth(USERNAME, PASSWORD)


@pytest.fixture()
def server(tmp_path):
    with LocalServer(tmp_path / "server", username=USERNAME, password=PASSWORD) as running:
        yield running


def api(server, path: str, method: str = "GET", **kwargs) -> requests.Response:
    return requests.request(method, f"{server.api_url}{path}",
                            headers={"Authorization": f"Token {server.token}"}, **kwargs)


def imported(server, path: Path, **kwargs) -> dict:
    """Import ``path`` (as a survey) and return the created asset's detail."""
    _, task = import_form(server.api_url, server.token, path, **kwargs)
    assert task["status"] == "complete", task
    return api(server, f"/api/v2/assets/{task['messages']['created'][0]['uid']}/").json()


def deployed(server, uid: str) -> str:
    """Deploy the asset and return the XForm ODK Collect downloads for it."""
    response = api(server, f"/api/v2/assets/{uid}/deployment/", "POST", json={"active": True})
    assert response.status_code == 200, response.text
    return deployed_xform(server.api_url, AUTH, uid)


def records(server, uid: str) -> list[dict]:
    return api(server, f"/api/v2/assets/{uid}/data/?format=json").json()["results"]


def rows_without_kuids(content: dict) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "$kuid"} for row in content["survey"]]


# --- .xls and .xlsx ----------------------------------------------------------------------------


def test_xls_upload__is_read_as_xls_and_imports_the_same_form_as_the_xlsx(server, tmp_path):
    from_xlsx = imported(server, write_form(tmp_path / "training.xlsx"))
    legacy = write_form(tmp_path / "training.xls")
    assert legacy.read_bytes()[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # a real OLE2 .xls
    from_xls = imported(server, legacy)
    assert rows_without_kuids(from_xls["content"]) == rows_without_kuids(from_xlsx["content"])
    assert from_xls["content"]["settings"]["id_string"] == FORM_ID and from_xls["name"] == TITLE
    kept = sorted(p.name for p in (tmp_path / "server" / "imports").iterdir())
    assert [p.rsplit(".", 1)[1] for p in kept].count("xls") == 1  # saved under its own suffix
    # deployed and filled like any form
    xform = deployed(server, from_xls["uid"])
    answer = submit(server.api_url, AUTH, instance(from_xls["uid"], xform, instance_id=new_instance_id()))
    assert answer.status_code == 201, answer.text
    assert [m["members/member_name"] for m in records(server, from_xls["uid"])[0]["members"]] == [
        "Айгүл", "Бакыт"]


def test_upload_that_is_neither_xlsx_nor_xls__fails_the_import_as_kpi_does(server, tmp_path):
    path = tmp_path / "form.xlsx"
    path.write_text("type,name,label\ntext,village,Village\n", encoding="utf-8")  # a CSV renamed
    _, task = import_form(server.api_url, server.token, path)
    assert task["status"] == "error"
    assert task["messages"] == {"error_type": "XlsFormatException",
                                "error": "Unsupported format, or corrupt file"}


def test_unknown_type__fails_the_import_with_formpacks_message(server, tmp_path):
    sheets = training_sheets()
    sheets["survey"].append(["barcodez", "code", "Code", "Код", "", "", ""])
    _, task = import_form(server.api_url, server.token, write_book(tmp_path / "f.xlsx", sheets))
    assert task["status"] == "error"
    assert task["messages"] == {"error_type": "ValueError", "error": "unknown type ['barcodez']"}


# --- a form without form_id ------------------------------------------------------------------


def without_form_id(title: str | None = TITLE) -> dict[str, list[list[str]]]:
    sheets = training_sheets()
    sheets["settings"] = ([["form_title", "default_language"], [title, LANGS[0]]] if title
                          else [["default_language"], [LANGS[0]]])
    return sheets


def test_form_without_form_id__takes_its_id_string_from_the_import_name(server, tmp_path):
    named = imported(server, write_book(tmp_path / "upload.xlsx", without_form_id()),
                     name="Water points 2026.xlsx")
    assert named["content"]["settings"]["id_string"] == "Water_points_2026"  # kpi's sluggify_label
    assert named["name"] == TITLE  # the form_title names the asset; the name only stands in
    untitled = imported(server, write_book(tmp_path / "upload2.xlsx", without_form_id(None)),
                        name="Wells (round 2)")
    assert untitled["content"]["settings"]["id_string"] == "Wells_round_2"
    assert untitled["name"] == "Wells (round 2)"


def test_form_without_form_id_or_name__has_the_asset_uid_as_form_id_not_the_file_name(server,
                                                                                      tmp_path):
    asset = imported(server, write_book(tmp_path / "household_visits.xlsx", without_form_id()),
                     name=None)
    assert "id_string" not in asset["content"]["settings"]  # the upload's file name is not used
    assert form_id_of(asset) == asset["uid"]
    xform = deployed(server, asset["uid"])
    assert f'<{asset["uid"]} id="{asset["uid"]}"' in xform
    answer = submit(server.api_url, AUTH, instance(asset["uid"], xform, instance_id=new_instance_id()))
    assert answer.status_code == 201, answer.text
    assert records(server, asset["uid"])[0]["_xform_id_string"] == asset["uid"]


# --- type aliases ----------------------------------------------------------------------------

ALIASED = {
    "survey": [
        ["type", "name", "label", "required"],
        ["text", "village", "Village", "yes"],
        ["select one yn", "has_water", "Piped water at home?", "Yes"],
        ["gps", "location", "Location", ""],
        ["begin lgroup", "members", "Member", ""],
        ["string", "member_name", "Name", "TRUE"],
        ["integer", "member_age", "Age", ""],
        ["end lgroup", "", "", ""],
        ["begin looped group", "visits", "Visit", ""],
        ["text", "visit_note", "Note", ""],
        ["end looped group", "", "", ""],
    ],
    "choices": [["list_name", "name", "label"], ["yn", "yes", "Yes"], ["yn", "no", "No"]],
    "settings": [["form_id", "form_title"], ["aliases_hh", "Aliased household"]],
}
MEMBERS = [("Айгүл", "41"), ("Бакыт", "44"), ("Асель", "17"), ("Нурлан", "12"), ("Гүлзат", "70")]


def aliased_instance(uid: str, xform: str, instance_id: str) -> bytes:
    fh, version = calculated(xform, "uuid"), calculated(xform, "__version__")
    members = "".join(f"<members><member_name>{name}</member_name><member_age>{age}</member_age>"
                      "</members>" for name, age in MEMBERS)
    return (f'<?xml version="1.0" ?><{uid} id="{uid}"><formhub><uuid>{fh}</uuid></formhub>'
            f"<village>Ак-Жар</village><has_water>yes</has_water>"
            f"<location>41.43 75.99 2050 5</location>{members}"
            "<visits><visit_note>first</visit_note></visits><visits><visit_note>second</visit_note>"
            f"</visits><__version__>{version}</__version__><meta><instanceID>{instance_id}"
            f"</instanceID></meta></{uid}>").encode()


def test_aliased_repeat__is_stored_as_a_repeat_and_a_submission_keeps_all_five_entries(server,
                                                                                      tmp_path):
    asset = imported(server, write_book(tmp_path / "aliases.xlsx", ALIASED))
    rows = {row.get("name") or row["type"]: row for row in asset["content"]["survey"]}
    assert [r["type"] for r in asset["content"]["survey"]] == [
        "text", "select_one", "geopoint", "begin_repeat", "text", "integer", "end_repeat",
        "begin_repeat", "text", "end_repeat"]
    assert rows["has_water"]["select_from_list_name"] == "yn"
    assert rows["village"]["required"] is True and rows["member_name"]["required"] is True
    assert rows["member_name"]["$xpath"] == "members/member_name"
    xform = deployed(server, asset["uid"])
    answer = submit(server.api_url, AUTH, aliased_instance(asset["uid"], xform, new_instance_id()))
    assert answer.status_code == 201, answer.text
    record = records(server, asset["uid"])[0]
    assert record["members"] == [{"members/member_name": name, "members/member_age": age}
                                 for name, age in MEMBERS]
    assert [v["visits/visit_note"] for v in record["visits"]] == ["first", "second"]
    assert record["location"] == "41.43 75.99 2050 5" and record["_geolocation"] == [41.43, 75.99]


# --- what phones download --------------------------------------------------------------------


@pytest.mark.java
@pytest.mark.skipif(shutil.which("java") is None, reason="needs Java 17")
def test_served_xforms_pass_odk_validate_with_formhub_uuid_as_kobocat_adds_it(server, tmp_path):
    from pyxform.validators.odk_validate import check_xform

    for path in (write_form(tmp_path / "training.xlsx"), write_book(tmp_path / "aliases.xlsx", ALIASED)):
        uid = imported(server, path)["uid"]
        xform = deployed(server, uid)
        assert f"<{uid} " in xform and "<formhub><uuid/></formhub>" in xform
        assert f'<bind nodeset="/{uid}/formhub/uuid" type="string" calculate="\'' in xform
        assert 'ref="/' + uid + '/formhub"' not in xform  # no body group for it
        saved = tmp_path / f"{uid}.xml"
        saved.write_text(xform, encoding="utf-8")
        assert check_xform(str(saved)) == []  # raises ODKValidateError on an invalid form
