"""The Prefect flows wire the plain functions: deploy records versions in the warehouse, sync
fills it, the whole run builds, deploys and syncs — under one Prefect test harness per session."""

from __future__ import annotations

import pytest
from kobo_world import FORM_ID, Field, household_form

from forms import BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY
from forms.xlsform import write_xlsform


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory):
    import os

    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect"))
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness():
        yield


@pytest.fixture()
def local_kobo(tmp_path, monkeypatch):
    from fieldsim.server import LocalServer

    with LocalServer(tmp_path / "server") as server:
        monkeypatch.setenv("KOBO_URL", server.api_url)
        monkeypatch.setenv("KOBO_TOKEN", server.token)
        yield server


@pytest.mark.java
def test_deploy_then_sync_flows__warehouse_records_versions_and_submissions(
        prefect_harness, local_kobo, tmp_path):
    from fieldsim.engine import FormEngine
    from flows.deploy import deploy_forms_flow
    from flows.sync import sync_flow
    from warehouse.db import connect

    forms_dir = tmp_path / "forms"
    write_xlsform(household_form(1), forms_dir / f"{FORM_ID}.xlsx")
    warehouse = tmp_path / "w.duckdb"
    first = deploy_forms_flow(str(forms_dir), str(warehouse))
    again = deploy_forms_flow(str(forms_dir), str(warehouse))
    assert [d.action for d in first] == ["created"] and [d.action for d in again] == ["unchanged"]
    with FormEngine() as engine:
        Field(local_kobo, engine, tmp_path).send(6, seed=8)
    synced = sync_flow(None, str(warehouse), False)
    assert [(s.form_id, s.new) for s in synced] == [(FORM_ID, 6)]
    conn = connect(warehouse)
    assert conn.execute("SELECT count(*) FROM form_deployments").fetchone() == (1,)
    assert conn.execute(f"SELECT count(*) FROM submissions_{FORM_ID}").fetchone() == (6,)
    conn.close()


@pytest.mark.java
def test_run_flow__builds_deploys_and_syncs_the_bundled_study(prefect_harness, local_kobo, tmp_path):
    from flows.pipeline import run_flow

    result = run_flow(str(BUNDLED_DEFINITION), str(BUNDLED_GEOGRAPHY), str(tmp_path / "forms"),
                      str(tmp_path / "w.duckdb"), False)
    assert [d.action for d in result.deployed] == ["created"] * 3
    assert sorted(s.form_id for s in result.synced) == ["citizen_survey", "focus_group", "lsg_assessment"]
    assert "citizen_survey" in result.summary()


def test_sync_flow__missing_token_is_a_clear_error(prefect_harness, monkeypatch, tmp_path):
    from aimak.errors import KoboError
    from flows.sync import sync_flow

    monkeypatch.delenv("KOBO_TOKEN", raising=False)
    monkeypatch.setenv("KOBO_URL", "http://127.0.0.1:9")
    with pytest.raises(KoboError, match="KOBO_TOKEN is not set"):
        sync_flow(None, str(tmp_path / "w.duckdb"), False)
