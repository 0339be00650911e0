"""The pipeline's tools on a bad network: the local server with injected gateway errors and dropped
connections (15% each, a fixed seed). ``deploy_forms`` ends with every form deployed exactly once,
although import POSTs are lost both before and after the server started the import."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter

from kobo_world import T, household_form

from aimak.errors import KoboUnavailableError
from etl.deploy import CREATED, REDEPLOYED, deploy_forms
from etl.http import HttpClient, RetryPolicy
from etl.kobo import KoboClient
from fieldsim.server import LocalServer
from fieldsim.server.store import Store
from forms.xlsform import write_xlsform

# import_delay 0.3 s < the 0.5 s between polls of an import: every import is seen running once,
# so the number of requests, and with the seed the faults each one meets, are the same every run
FAULTS = "error_rate=0.15,drop_rate=0.15,import_delay=0.3,seed=3"
FAST = RetryPolicy(attempts=7, base=0.005, cap=0.02)
FORM_IDS = [f"household_{i}" for i in range(4)]


def write_forms(folder, version: int) -> None:
    spec = household_form(version)
    for i, form_id in enumerate(FORM_IDS):
        write_xlsform(dataclasses.replace(spec, form_id=form_id, title=T(f"Household {i}")),
                      folder / f"{form_id}.xlsx")


def assets_by_form_id(folder) -> Counter:
    store = Store(folder)
    try:
        rows = store.all("SELECT content, deployed_version_id, version_id, deployment_active "
                         "FROM assets")
    finally:
        store.close()
    deployed = [r for r in rows if r["deployed_version_id"] == r["version_id"]
                and r["deployment_active"]]
    assert len(deployed) == len(rows)  # every asset's current version is deployed and active
    return Counter(json.loads(r["content"])["settings"]["id_string"] for r in rows)


def test_deploy_under_injected_faults__every_form_deployed_exactly_once(tmp_path):
    forms = tmp_path / "forms"
    write_forms(forms, 1)
    lost: list[str] = []
    with LocalServer(tmp_path / "server", faults=FAULTS) as server:
        client = KoboClient(HttpClient(server.api_url, server.token, policy=FAST))
        store, post = server.state.store, client.import_xlsform

        def watched(*args, **kwargs):  # tells apart the two ways an import's answer is lost
            before = store.one("SELECT count(*) AS n FROM imports")["n"]
            try:
                return post(*args, **kwargs)
            except KoboUnavailableError:
                started = store.one("SELECT count(*) AS n FROM imports")["n"] > before
                lost.append("after the import started" if started else "before the server saw it")
                raise

        client.import_xlsform = watched
        first = deploy_forms(client, forms)
        write_forms(forms, 2)  # every form changed: imported over its asset and redeployed
        second = deploy_forms(client, forms)
        retried = client.http.retries
    assert [r.action for r in first] == [CREATED] * len(FORM_IDS)
    assert [r.action for r in second] == [REDEPLOYED] * len(FORM_IDS)
    assert [r.asset_uid for r in first] == [r.asset_uid for r in second]
    assert assets_by_form_id(tmp_path / "server") == Counter({f: 1 for f in FORM_IDS})
    assert set(lost) == {"after the import started", "before the server saw it"}, lost
    assert retried > 10  # the other requests met the faults too
