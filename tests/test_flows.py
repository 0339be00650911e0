"""The Prefect flows wire the plain functions: deploy records versions in the warehouse (each form
as soon as it is done), sync fills it, the whole run builds, deploys and syncs, and the token never
shows in the command line's output, a Prefect log record or an error — under one Prefect test
harness per session."""

from __future__ import annotations

import dataclasses
import logging
import traceback

import pytest
from kobo_world import FORM_ID, Field, household_form

from forms import BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY
from forms.xlsform import write_xlsform


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
    assert [d.action for d in first.deployed] == ["created"]
    assert [d.action for d in again.deployed] == ["unchanged"]
    assert first.warehouse.new and not again.warehouse.new
    with FormEngine() as engine:
        Field(local_kobo, engine, tmp_path).send(6, seed=8)
    synced = sync_flow(None, str(warehouse), False)
    assert [(s.form_id, s.new) for s in synced.forms] == [(FORM_ID, 6)]
    assert synced.summary().endswith(f"warehouse: {warehouse}")
    conn = connect(warehouse)
    assert conn.execute("SELECT count(*) FROM form_deployments").fetchone() == (1,)
    assert conn.execute(f"SELECT count(*) FROM submissions_{FORM_ID}").fetchone() == (6,)
    conn.close()


@pytest.mark.java
def test_run_flow__builds_deploys_and_syncs_the_bundled_study(prefect_harness, local_kobo, tmp_path):
    from flows.pipeline import run_flow

    result = run_flow(str(BUNDLED_DEFINITION), str(BUNDLED_GEOGRAPHY), str(tmp_path / "forms"),
                      str(tmp_path / "w.duckdb"), False)
    assert [d.action for d in result.deployed.deployed] == ["created"] * 3
    assert sorted(s.form_id for s in result.synced.forms) == ["citizen_survey", "focus_group", "lsg_assessment"]
    assert "citizen_survey" in result.summary()
    assert result.summary().count("warehouse: ") == 1 and "(new: created by this command" in result.summary()


def test_sync_flow__missing_token_is_a_clear_error(prefect_harness, monkeypatch, tmp_path):
    from aimak.errors import KoboError
    from flows.sync import sync_flow

    monkeypatch.delenv("KOBO_TOKEN", raising=False)
    monkeypatch.setenv("KOBO_URL", "http://127.0.0.1:9")
    with pytest.raises(KoboError, match="KOBO_TOKEN is not set"):
        sync_flow(None, str(tmp_path / "w.duckdb"), False)


def test_deploy_flow__failure_on_a_later_form_keeps_the_records_of_the_earlier_ones(
        prefect_harness, local_kobo, tmp_path, monkeypatch):
    import etl.deploy
    from aimak.errors import KoboError
    from flows.deploy import deploy_forms_flow
    from warehouse.db import connect

    forms_dir = tmp_path / "forms"
    for form_id in ("form_a", "form_b", "form_c"):
        write_xlsform(dataclasses.replace(household_form(1), form_id=form_id), forms_dir / f"{form_id}.xlsx")
    real = etl.deploy.deploy_form

    def third_fails(client, form, recorded):
        if form.form_id == "form_c":
            raise KoboError("form_c: the server answered HTTP 400")  # a 4xx: no Prefect retry
        return real(client, form, recorded)

    monkeypatch.setattr(etl.deploy, "deploy_form", third_fails)
    warehouse = tmp_path / "w.duckdb"
    with pytest.raises(KoboError, match="form_c"):
        deploy_forms_flow(str(forms_dir), str(warehouse))
    conn = connect(warehouse)
    kept = conn.execute("SELECT form_id, action FROM form_deployments ORDER BY form_id").fetchall()
    conn.close()
    assert kept == [("form_a", "created"), ("form_b", "created")]
    monkeypatch.setattr(etl.deploy, "deploy_form", real)
    again = deploy_forms_flow(str(forms_dir), str(warehouse))
    assert [(d.form_id, d.action) for d in again.deployed] == [
        ("form_a", "unchanged"), ("form_b", "unchanged"), ("form_c", "created")]


class _Records(logging.Handler):
    """Every log record, formatted with its traceback, from the root and the Prefect loggers."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def __enter__(self):
        for name in ("", "prefect"):
            logging.getLogger(name).addHandler(self)
        return self

    def __exit__(self, *exc):
        for name in ("", "prefect"):
            logging.getLogger(name).removeHandler(self)


def test_token__absent_from_cli_output_prefect_logs_and_errors(
        prefect_harness, local_kobo, tmp_path, monkeypatch, capfd):
    from typer.testing import CliRunner

    from aimak.errors import KoboAuthError, KoboUnavailableError
    from etl.http import HttpClient, RetryPolicy
    from etl.kobo import KoboClient
    from fieldsim.server import LocalServer
    from flows.cli import app
    from flows.deploy import deploy_forms_flow

    right, wrong = local_kobo.token, "f" * 40
    forms_dir = tmp_path / "forms"
    write_xlsform(household_form(1), forms_dir / f"{FORM_ID}.xlsx")
    warehouse = str(tmp_path / "w.duckdb")
    runner = CliRunner()
    outputs = []
    with _Records() as records:
        for token, code in ((wrong, 1), (right, 0)):
            monkeypatch.setenv("KOBO_TOKEN", token)
            for args in (["forms", "deploy", "--forms", str(forms_dir), "--warehouse", warehouse],
                         ["sync", "--warehouse", warehouse]):
                for mode in ([], ["--prefect"]):  # called directly, and as a Prefect flow run
                    result = runner.invoke(app, [*args, *mode])
                    assert result.exit_code == code, result.output
                    outputs.append(result.output)
        assert all("KOBO_TOKEN" in output for output in outputs[:4])  # told what to fix
        assert f"{FORM_ID}: created" in outputs[4]
        monkeypatch.setenv("KOBO_TOKEN", wrong)  # past the command line's check: fails in the run
        with pytest.raises(KoboAuthError):
            deploy_forms_flow(str(forms_dir), warehouse)
    assert any("prefect.flow_runs" in line for line in records.lines)  # the flows' records were seen
    assert any("Traceback" in line and "KoboAuthError" in line for line in records.lines)

    with LocalServer(tmp_path / "server", token=right, faults="error_rate=1,seed=1") as down:
        flaky = KoboClient(HttpClient(down.api_url, right, policy=RetryPolicy(attempts=3, base=0.01, cap=0.01)))
        with pytest.raises(KoboUnavailableError) as caught:
            flaky.list_assets()
    assert flaky.http.retries == 2
    error = "".join(traceback.format_exception(caught.value))

    captured = capfd.readouterr()
    seen = "\n".join([*outputs, *records.lines, error, repr(caught.value), captured.out, captured.err])
    assert right not in seen and wrong not in seen



def test_sync_flow__refused_deletions_fail_the_run_after_every_form_synced_then_confirmed(
        prefect_harness, requests_mock, monkeypatch, tmp_path):
    from fake_kobo import BASE, TOKEN, FakeKobo, empty_page

    from aimak.errors import ConfigError, DeletionsRefusedError
    from flows.sync import sync_flow
    from warehouse.db import connect

    kobo = FakeKobo(6).install(requests_mock)
    other = kobo.add_form("aOtherFormUid00000000000", "other_form")
    other.submit(6)
    monkeypatch.setenv("KOBO_URL", BASE)
    monkeypatch.setenv("KOBO_TOKEN", TOKEN)
    warehouse = str(tmp_path / "w.duckdb")

    def live() -> dict:
        conn = connect(warehouse)
        rows = dict(conn.execute("SELECT asset_uid, count(*) FROM raw_submissions WHERE deleted_at "
                                 "IS NULL AND superseded_at IS NULL GROUP BY ALL").fetchall())
        conn.close()
        return rows

    sync_flow(None, warehouse, False)
    kobo.main.proxy_listing(empty_page)  # the first form's listing comes back empty, once
    other.submit(3)  # the second form, synced after it, has news
    with pytest.raises(DeletionsRefusedError) as caught:
        sync_flow(None, warehouse, False)
    message = str(caught.value)
    assert "\n" not in message and "would delete 6 of its 6 live submissions" in message
    assert f"--form {kobo.main.uid} --confirm-deletions" in message
    assert live() == {kobo.main.uid: 6, other.uid: 9}  # the other form was synced all the same
    with pytest.raises(ConfigError, match="--confirm-deletions acts on one form"):
        sync_flow(None, warehouse, False, confirm_deletions=True)
    kobo.main.delete(*list(kobo.main.records))  # the deletions were real after all
    confirmed = sync_flow(kobo.main.uid, warehouse, False, confirm_deletions=True)
    assert [(r.form_id, r.deleted) for r in confirmed.forms] == [(kobo.main.uid, 6)]
    assert live() == {other.uid: 9}


def test_sync_flow__attachments_argument_or_setting_download_files_and_report_the_counts(
        prefect_harness, tmp_path, monkeypatch, capfd):
    from media_world import jpeg, media_world

    from flows.sync import sync_flow

    warehouse = str(tmp_path / "w.duckdb")

    def sync(attachments: bool | None = None) -> str:
        """Run the sync flow; return what it reported (its summary lines are log records,
        printed where Prefect's console logging points)."""
        capfd.readouterr()
        with _Records() as records:
            sync_flow(None, warehouse, False, attachments=attachments)
        return "\n".join([*capfd.readouterr(), *records.lines])

    with media_world(tmp_path / "server") as world:
        monkeypatch.setenv("KOBO_URL", world.server.api_url)
        monkeypatch.setenv("KOBO_TOKEN", world.server.token)
        monkeypatch.delenv("AIMAK_ATTACHMENTS", raising=False)
        world.submit(photo="a.jpg", voice="b.m4a", files={"a.jpg": jpeg(1), "b.m4a": jpeg(2)})
        plain = sync()
        assert "evidence: 1 new" in plain and "evidence: attachments" not in plain  # off by default
        assert "evidence: attachments 2 downloaded" in sync(True)
        assert (tmp_path / "attachments" / world.uid / "1" / "a.jpg").read_bytes() == jpeg(1)
        world.submit(photo="c.jpg")  # the file never arrives: awaited, not fatal
        monkeypatch.setenv("AIMAK_ATTACHMENTS", "1")
        assert "attachments 0 downloaded (0.0 MB), 0 already present, 0 failed, 1 awaited" in sync()
        assert "evidence: attachments" not in sync(False)


@pytest.mark.parametrize(("options", "passed"), [([], None), (["--attachments"], True),
                                                 (["--no-attachments"], False)])
def test_sync_command__attachments_option_reaches_the_stage(monkeypatch, options, passed):
    from types import SimpleNamespace

    from typer.testing import CliRunner

    import flows.stages
    from flows.cli import app

    calls = []
    ran = SimpleNamespace(summary=lambda: "synced", raise_for_refusals=lambda: None)
    monkeypatch.setattr(flows.stages, "sync", lambda *args, **kwargs: calls.append(kwargs) or ran)
    monkeypatch.setenv("KOBO_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("KOBO_TOKEN", "t0ken")
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    result = CliRunner().invoke(app, ["sync", *options])
    assert result.exit_code == 0, result.output
    assert [call["attachments"] for call in calls] == [passed]


def test_flow_run_from_the_terminal__console_quiet_but_prefect_gets_the_logs(
        prefect_harness, local_kobo, tmp_path, capfd):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogHandler

    from flows.runner import call_flow
    from flows.sync import sync_flow

    capfd.readouterr()
    state = call_flow(sync_flow, None, str(tmp_path / "w.duckdb"), False, return_state=True)
    assert state.is_failed()  # nothing is deployed on the fresh server: NotDeployedError
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""  # no "Created flow run", no traceback
    APILogHandler().flush()  # send what is queued and wait
    run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))
    text = "\n".join(log.message for log in logs)
    assert "no form is deployed on" in text  # our message reached Prefect's API, whole
