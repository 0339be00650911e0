"""Deployment: a lost response to the first-deploy POST (or the redeploy PATCH) is settled by
reading the deployment back, a lost answer to an import is settled by waiting for the account's
running imports and looking the form up before posting again, "unchanged" is decided by the
server's settings.version when it has one and by the recorded deployment when it has not, a
pyxform failure sends nothing, and each form is handed to ``on_form`` as soon as it is done.
Offline: requests-mock and the contract samples (tests/fixtures/kobo-contract, a copy of
../shared/kobo-contract)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import requests
from kobo_world import FORM_ID, T, household_form

from aimak.errors import FormBuildError, KoboError, KoboUnavailableError
from etl.deploy import IMPORT_ATTEMPTS, Deployed, FormFile, deploy_forms, import_form, is_unchanged
from etl.http import HttpClient, RetryPolicy
from etl.kobo import KoboClient
from forms.xlsform import FormSpec, Row, write_xlsform

CONTRACT = Path(__file__).resolve().parent / "fixtures" / "kobo-contract"
BASE = "https://kf.example.org"
UID = "a33fJoz2W6A6gUv4fUxJGN"
DEPLOYED = "vAL4cbH5VBLNfUybApRfBU"
DEPLOYMENT_URL = f"{BASE}/api/v2/assets/{UID}/deployment/"


def sample(name: str) -> dict:
    return json.loads((CONTRACT / name).read_text(encoding="utf-8"))


@pytest.fixture()
def kobo() -> KoboClient:
    return KoboClient(HttpClient(BASE, "t" * 40, policy=RetryPolicy(attempts=3, base=0.01, cap=0.01),
                                 sleep=lambda _s: None))


def methods(requests_mock) -> list[str]:
    return [r.method for r in requests_mock.request_history]


# --- a lost response to the deployment request ----------------------------------------------


def test_deploy__405_after_a_lost_response_is_success_read_back_from_the_deployment(kobo, requests_mock):
    requests_mock.post(DEPLOYMENT_URL, [{"status_code": 504, "text": "Gateway Time-out"},
                                        {"status_code": 405, "json": sample("errors/405_deployment_exists.json")}])
    requests_mock.get(DEPLOYMENT_URL, json=sample("deployment.json"))
    body = kobo.deploy(UID)
    assert body["version_id"] == DEPLOYED and body["active"] is True
    assert methods(requests_mock) == ["POST", "POST", "GET"]


def test_deploy__405_at_the_first_attempt_is_an_error_not_a_success(kobo, requests_mock):
    requests_mock.post(DEPLOYMENT_URL, status_code=405, json=sample("errors/405_deployment_exists.json"))
    with pytest.raises(KoboError, match="HTTP 405"):
        kobo.deploy(UID)
    assert methods(requests_mock) == ["POST"]  # nothing was lost, so nothing to read back


def test_deploy__failure_after_a_retry_with_no_deployment_keeps_the_servers_error(kobo, requests_mock):
    requests_mock.post(DEPLOYMENT_URL, [{"status_code": 502},
                                        {"status_code": 400, "json": sample("errors/400_deploy_invalid_xlsform.json")}])
    requests_mock.get(DEPLOYMENT_URL, status_code=404, json=sample("errors/404_not_found.json"))
    with pytest.raises(KoboError, match="has no label or hint"):
        kobo.deploy(UID)


def test_deploy__a_deployment_of_another_version_is_not_taken_for_ours(kobo, requests_mock):
    other = sample("deployment.json")
    other["version_id"] = "v48owzCpmvdqHZRSYZ2b6E"  # an older version is deployed, not the current one
    requests_mock.post(DEPLOYMENT_URL, [{"status_code": 503}, {"status_code": 405}])
    requests_mock.get(DEPLOYMENT_URL, json=other)
    with pytest.raises(KoboError, match="HTTP 405"):
        kobo.deploy(UID)


def test_redeploy__lost_response_is_success_when_the_version_is_deployed(kobo, requests_mock):
    requests_mock.patch(DEPLOYMENT_URL, [{"status_code": 502}, {"status_code": 502}, {"status_code": 502}])
    requests_mock.get(DEPLOYMENT_URL, json=sample("deployment.json"))
    assert kobo.redeploy(UID, DEPLOYED)["version_id"] == DEPLOYED
    assert requests_mock.request_history[0].json() == {"active": True, "version_id": DEPLOYED}


def test_redeploy__still_failing_and_not_deployed_raises(kobo, requests_mock):
    requests_mock.patch(DEPLOYMENT_URL, status_code=503)
    requests_mock.get(DEPLOYMENT_URL, json=sample("deployment.json"))
    with pytest.raises(KoboError, match="after 3 attempt"):
        kobo.redeploy(UID, "vRoMsA7oFDTajn8Gu77Y79")  # the new version never got deployed


# --- "unchanged" -----------------------------------------------------------------------------

FORM = FormFile(Path("wash.xlsx"), "wash", "20260220-hash", "WASH")


def asset(settings_version: str | None = None, version_id: str = DEPLOYED) -> dict:
    detail = copy.deepcopy(sample("asset_detail.json"))  # real kpi: no settings.version
    if settings_version is not None:
        detail["content"]["settings"]["version"] = settings_version
    detail["version_id"] = version_id
    return detail


def record(form_version: str = FORM.version, version_id: str = DEPLOYED, uid: str = UID) -> Deployed:
    return Deployed("wash", uid, form_version, version_id, "recorded")


def test_unchanged__server_without_settings_version_falls_back_to_the_recorded_deployment():
    assert is_unchanged(asset(), FORM, record())
    assert not is_unchanged(asset(), FORM, None)  # nothing to go by: deploy (once) and record
    assert not is_unchanged(asset(), FORM, record(form_version="older"))
    assert not is_unchanged(asset(), FORM, record(version_id="v48owzCpmvdqHZRSYZ2b6E"))  # redeployed since
    assert not is_unchanged(asset(), FORM, record(uid="aOtherAsset00000000000"))


def test_unchanged__servers_settings_version_wins_when_it_describes_the_deployed_content():
    assert is_unchanged(asset(FORM.version), FORM, None)
    assert not is_unchanged(asset("another-hash"), FORM, record())


def test_unchanged__kpi_stamp_or_a_newer_draft_is_not_taken_as_our_version():
    stamped = asset("7 (2026-02-20 14:05:33)")
    assert not is_unchanged(stamped, FORM, None) and is_unchanged(stamped, FORM, record())
    draft = asset(FORM.version, version_id="vRoMsA7oFDTajn8Gu77Y79")  # imported, never deployed
    assert not is_unchanged(draft, FORM, None)
    assert not is_unchanged(draft, FORM, record(form_version="older"))


def test_unchanged__an_archived_deployment_is_deployed_again():
    archived = asset(FORM.version)
    archived["deployment__active"] = False
    assert not is_unchanged(archived, FORM, record())


# --- before anything is sent -----------------------------------------------------------------


def test_pyxform_failure__stops_deploy_before_any_request(kobo, requests_mock, tmp_path):
    good = household_form(1)
    write_xlsform(good, tmp_path / f"{FORM_ID}.xlsx")
    broken = FormSpec("broken", T("Broken"), "en",
                      good.survey[:3] + [Row("select_one nolist", "q", label=T("Q"))] + good.survey[3:],
                      good.choices)
    write_xlsform(broken, tmp_path / "zz_broken.xlsx")  # sorted last: the good form must not go first
    with pytest.raises(FormBuildError, match="List name not in choices sheet"):
        deploy_forms(kobo, tmp_path)
    assert requests_mock.call_count == 0


def test_on_form__called_for_each_form_before_a_later_form_fails(kobo, tmp_path, monkeypatch):
    import etl.deploy

    for name in ("a_form", "b_form", "c_form"):
        write_xlsform(household_form(1), tmp_path / f"{name}.xlsx")
    done: list[str] = []

    def fake_deploy_form(client, form, recorded):
        if form.path.stem == "c_form":
            raise KoboError("the server refused c_form")
        return Deployed(form.form_id, f"uid-{form.path.stem}", form.version, "v1", "created")

    monkeypatch.setattr(etl.deploy, "deploy_form", fake_deploy_form)
    with pytest.raises(KoboError, match="c_form"):
        deploy_forms(kobo, tmp_path, convert=lambda _path: None,
                     on_form=lambda d: done.append(d.asset_uid))
    assert done == ["uid-a_form", "uid-b_form"]


# --- an import whose answer is lost ----------------------------------------------------------

IMPORTS_URL = f"{BASE}/api/v2/imports/"
ASSETS_URL = f"{BASE}/api/v2/assets/"


def import_task(uid: str, status: str) -> dict:
    return {"url": f"{IMPORTS_URL}{uid}/", "status": status, "messages": {}, "uid": uid,
            "date_created": "2026-02-09T15:58:11.203874Z"}


def import_list(*tasks: dict, count: int | None = None) -> dict:
    return {"count": len(tasks) if count is None else count, "next": None, "previous": None,
            "results": list(tasks)}


def serve_imports(requests_mock, older: int, *newer: list[dict]) -> None:
    """The account's import list: ``older`` tasks (one stuck in ``processing``) when counted
    before a POST; asked for the tasks after those, each call gives the next of ``newer``."""
    answers = list(newer) or [[]]

    def answer(request, context):
        if request.qs.get("limit") == ["1"]:
            return import_list(import_task("iStuckLongAgo", "processing"), count=older)
        assert request.qs["start"] == request.qs["offset"] == [str(older)]  # only newer ones
        return import_list(*(answers.pop(0) if len(answers) > 1 else answers[0]))

    requests_mock.get(IMPORTS_URL, json=answer)


def serve_assets(requests_mock, *details: dict) -> None:
    requests_mock.get(ASSETS_URL, json={"count": len(details), "next": None, "previous": None,
                                        "results": [{"uid": d["uid"], "asset_type": "survey"}
                                                    for d in details]})
    for d in details:
        requests_mock.get(f"{ASSETS_URL}{d['uid']}/", json=d)


@pytest.fixture()
def wash_form(tmp_path) -> FormFile:
    path = tmp_path / "wash.xlsx"
    path.write_bytes(b"PK not a real workbook: only uploaded here")
    return FormFile(path, "wash", "20260220-hash", "WASH")


def test_import__lost_answer_of_an_import_that_ran__waits_for_it_and_is_not_sent_again(
        kobo, requests_mock, wash_form):
    requests_mock.post(IMPORTS_URL, exc=requests.exceptions.ConnectionError("reset mid-body"))
    serve_imports(requests_mock, 3, [import_task("iOurs", "processing")],
                  [import_task("iOurs", "complete")])
    created = asset("20260220-hash")
    created["content"]["settings"]["id_string"] = "wash"
    serve_assets(requests_mock, created)
    assert import_form(kobo, wash_form) == UID
    assert [r.method for r in requests_mock.request_history].count("POST") == 1
    newer = [r for r in requests_mock.request_history if r.url.startswith(IMPORTS_URL)
             and r.method == "GET" and "start=3" in r.url]
    assert len(newer) == 2  # asked again while the import was still running: waited for it


def test_import__gateway_error_before_anything_ran__is_sent_again(kobo, requests_mock, wash_form):
    requests_mock.post(IMPORTS_URL, [{"status_code": 502, "text": "<html>Bad Gateway</html>"},
                                     {"status_code": 201, "json": sample("imports/create_201.json")}])
    serve_imports(requests_mock, 3)  # nothing newer than the tasks counted before the POST
    serve_assets(requests_mock)  # the account has no asset of this form
    requests_mock.get(f"{IMPORTS_URL}iUspwpwiQyaN6qgJcKMUyT/",
                      json=sample("imports/status_complete_created.json"))
    assert import_form(kobo, wash_form) == UID
    assert [r.method for r in requests_mock.request_history].count("POST") == 2


def test_import__lost_answer_over_an_asset_that_got_a_new_version__is_not_sent_again(
        kobo, requests_mock, wash_form):
    before = asset()
    requests_mock.post(IMPORTS_URL, status_code=504)
    serve_imports(requests_mock, 3, [import_task("iOurs", "complete")])
    requests_mock.get(f"{ASSETS_URL}{UID}/", json=asset(version_id="vRoMsA7oFDTajn8Gu77Y79"))
    assert import_form(kobo, wash_form, before) == UID
    assert [r.method for r in requests_mock.request_history].count("POST") == 1
    posted = next(r for r in requests_mock.request_history if r.method == "POST")
    assert f"{BASE}/api/v2/assets/{UID}/".encode() in posted.body  # over its asset


def test_import__never_answered_and_never_there__stops_after_the_attempts(kobo, requests_mock,
                                                                          wash_form):
    requests_mock.post(IMPORTS_URL, status_code=503)
    serve_imports(requests_mock, 3)
    serve_assets(requests_mock)
    with pytest.raises(KoboUnavailableError, match=r"not answered in 4 attempts.*HTTP 503"):
        import_form(kobo, wash_form)
    assert [r.method for r in requests_mock.request_history].count("POST") == IMPORT_ATTEMPTS == 4
