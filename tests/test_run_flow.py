"""The data manager's ``run`` flow under Prefect's test harness, against the local server with a
simulated field team: it writes every workbook and leaves its artifacts (summary, gap matrix, a
link per file); a stage failed on purpose fails the run with the stage's own message and leaves
the earlier run's workbooks and scores as they were; the served deployments carry the schedules
the fieldwork window asks for."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
import yaml
from dateutil.rrule import rrulestr

from forms import BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY

pytestmark = pytest.mark.java


def _artifacts(flow_run_id) -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async def read():
        async with get_client() as client:
            return await client.read_artifacts(artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    return asyncio.run(read())


def _gaps(warehouse) -> list:
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute("SELECT * FROM gap_scores ORDER BY ALL").fetchall()


@pytest.fixture(scope="module")
def ran(prefect_harness, tmp_path_factory):
    """A run on 120 simulated interviews, then a run whose score stage fails on purpose."""
    from aimak.errors import ScoringError
    from aimak.settings import load_settings
    from fieldsim.server import LocalServer
    from fieldsim.simulate import simulate
    from flows import stages
    from flows.pipeline import run_flow
    from forms.build import build_forms

    root = tmp_path_factory.mktemp("run")
    warehouse, out, forms = root / "warehouse.duckdb", root / "out", root / "forms"
    (out / "notes").mkdir(parents=True)
    (out / "notes" / "mine.txt").write_text("a person's own file")
    with LocalServer(root / "server") as server, pytest.MonkeyPatch.context() as env:
        env.setenv("KOBO_URL", server.api_url)
        env.setenv("KOBO_TOKEN", server.token)
        build_forms(BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY, forms, validate=False)
        stages.deploy(load_settings(warehouse=warehouse), forms)
        simulate(server.api_url, server.token, respondents=120, out_dir=root / "simulation")
        state = run_flow(str(BUNDLED_DEFINITION), str(BUNDLED_GEOGRAPHY), str(forms),
                         str(warehouse), False, out=str(out), lang="en", return_state=True)
        files = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
        gaps = _gaps(warehouse)

        def broken(*args, **kwargs):
            raise ScoringError("the check checks/gap_in_range.sql failed on 2 rows (planted)")

        env.setattr(stages, "score", broken)
        failed = run_flow(str(BUNDLED_DEFINITION), str(BUNDLED_GEOGRAPHY), str(forms),
                          str(warehouse), False, out=str(out), lang="en", return_state=True)
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    return {"state": state, "result": state.result(), "files": files, "gaps": gaps,
            "failed": failed, "after": after, "gaps_after": _gaps(warehouse),
            "warehouse": warehouse, "out": out, "token": server.token}


def test_run_flow__writes_the_workbooks_of_the_round(ran):
    result = ran["result"]
    names = sorted(p.name for p in result.reported.paths)
    assert f"gap_report_{result.reported.round}.xlsx" in names
    assert {"data_citizen_survey.xlsx", "data_lsg_assessment.xlsx", "data_focus_group.xlsx"} <= set(names)
    assert len([n for n in names if n.startswith("scorecard_")]) == 4
    assert len([n for n in names if n.startswith("fieldwork_")]) == 1
    assert all(p.parent == ran["out"] and p.stat().st_size > 5000 for p in result.reported.paths)
    assert (ran["out"] / "notes" / "mine.txt").read_text() == "a person's own file"
    citizen = next(s for s in result.synced.forms if s.form_id == "citizen_survey")
    assert citizen.new >= 100 and "gap_report_" in result.summary()


def test_run_flow__leaves_a_summary_a_gap_matrix_and_a_link_per_file(ran):
    state, result = ran["state"], ran["result"]
    artifacts = {a.key: a for a in _artifacts(state.state_details.flow_run_id)}
    assert artifacts["aimak-gap-matrix"].type == "table"
    summary = artifacts.pop("aimak-run-summary").data
    assert ran["token"] not in summary
    for s in result.synced.forms:
        assert f"| {s.form_id} | {s.new} | {s.edited} | {s.deleted} | {s.quarantined} |" in summary
    assert "## Interviews left out of the scores" in summary and "no_consent" in summary
    assert "cell(s) scored for the first time" in summary  # nothing was scored before this run
    # a link artifact (Prefect stores it as markdown "[name](url)") per file, and nothing else
    links = {key: a.data for key, a in artifacts.items() if key.startswith("aimak-report-")}
    assert len(links) == len(result.reported.paths) == len(artifacts) - 1
    for path in result.reported.paths:
        assert any(f"[{path.name}]({path.absolute().as_uri()})" == link for link in links.values())
    artifacts = list(artifacts.values())
    table = next(a for a in artifacts if a.type == "table")
    assert "AKM" in table.data and "WAT" in table.data
    assert all(ran["token"] not in str(a.data) for a in artifacts)


def test_a_failed_stage__fails_the_run_with_its_message_and_keeps_the_earlier_outputs(ran):
    failed = ran["failed"]
    assert failed.is_failed()
    assert "checks/gap_in_range.sql failed on 2 rows (planted)" in failed.message
    assert ran["after"] == ran["files"]  # no workbook replaced, none half-written
    assert ran["gaps_after"] == ran["gaps"] and ran["gaps"]


def test_run_summary__names_the_gaps_whose_status_changed_since_the_previous_run(ran):
    from flows.run_summary import Snapshot, run_markdown, snapshot

    now = snapshot(ran["warehouse"])
    key, status = sorted(now.statuses.items())[0]
    other = "aligned" if status != "aligned" else "perception_exceeds"
    dropped = sorted(now.flags)[0]  # a flag the previous run did not have
    earlier = Snapshot({**now.statuses, key: other}, now.flags - {dropped})
    text = run_markdown(ran["warehouse"], [], earlier)
    round_code, place, service = key
    assert f"- {round_code} · {place} · {service}: {other} → {status} (G " in text
    assert "no sync in this run" in text
    assert f"- {dropped[1]}: 1\n" in text
    assert "none" in run_markdown(ran["warehouse"], [], now).split("changed since the previous run")[1]


# --- the served deployments --------------------------------------------------------------------


def test_served_deployments__schedules_follow_the_fieldwork_window(prefect_harness, tmp_path):
    from prefect.client.orchestration import get_client

    from aimak.settings import load_settings
    from flows.serve import deployments

    study = yaml.safe_load(BUNDLED_DEFINITION.read_text(encoding="utf-8"))
    study["study"]["fieldwork_start"], study["study"]["fieldwork_end"] = "2027-04-05", "2027-04-16"
    definition = tmp_path / "indicators.yaml"
    definition.write_text(yaml.safe_dump(study, allow_unicode=True), encoding="utf-8")
    settings = load_settings(kobo_token="secret-token-123", warehouse=tmp_path / "w.duckdb",
                             out=tmp_path / "out", lang="ky")
    served = deployments(settings, definition, BUNDLED_GEOGRAPHY, tmp_path / "forms")
    for deployment in served:
        asyncio.run(deployment.aapply())

    async def read(name):
        async with get_client() as client:
            return await client.read_deployment_by_name(name)

    found = {d.name: asyncio.run(read(f"{d.flow_name}/{d.name}")) for d in served}
    assert set(found) == {"sync", "evening", "morning", "run"}
    assert found["run"].schedules == []
    times = {}
    for name in ("sync", "evening", "morning"):
        (schedule,) = found[name].schedules
        assert schedule.active and schedule.schedule.timezone == "Asia/Bishkek"
        times[name] = list(rrulestr(schedule.schedule.rrule))
    sync = times["sync"]
    assert len(sync) == 12 * 28  # every day of the window (weekends too), 07:00 to 20:30
    assert sync[0] == dt.datetime(2027, 4, 5, 7, 0) and sync[-1] == dt.datetime(2027, 4, 16, 20, 30)
    assert all(b - a == dt.timedelta(minutes=30) for a, b in zip(sync, sync[1:], strict=False)
               if a.date() == b.date())
    assert times["evening"][0] == dt.datetime(2027, 4, 5, 21, 0)
    assert times["evening"][-1] == dt.datetime(2027, 4, 17, 21, 0)
    assert times["morning"][0] == dt.datetime(2027, 4, 6, 6, 30)
    assert found["evening"].parameters["lang"] == "ky"
    assert all(d.global_concurrency_limit.limit == 1 for d in found.values())  # one run at a time
    assert all("secret-token-123" not in str(d.parameters) for d in found.values())
