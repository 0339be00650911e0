"""``aimak run``: the data manager's pipeline as one Prefect flow run — build the forms, deploy
what changed, sync every form, score, write the round's workbooks, publish the marts when
``AIMAK_PUBLISH_URL`` is set, then leave the run's artifacts (summary, gap matrix, links).

The settings are resolved once, at the start of the run, and handed to each stage as an object:
the token never becomes a flow or task parameter (the Prefect API records those) and never enters
the process environment. Each stage is a task around a plain function of ``flows.stages`` or
``flows.reporting``; a stage that fails fails the run with its own message and stops every stage
after it, while what earlier runs wrote stays as it was (the scores are rebuilt in one
transaction, each workbook is written beside its old self and moved over it when complete). No
task retries: the HTTP client already retries network faults within a bounded time, and a
retried score or report would only fail the same way again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from aimak.settings import Settings
from flows import reporting, stages
from flows.artifacts import leave_run_artifacts
from flows.common import flow_settings
from flows.run_summary import snapshot
from forms.build import BuildResult, build_forms


@dataclass
class RunResult:
    build: BuildResult
    deployed: stages.DeployRun
    synced: stages.SyncRun
    scored: stages.ScoreRun
    reported: reporting.ReportRun | None = None
    extra: list[str] = field(default_factory=list)  # later stages' lines (publishing)

    def summary(self) -> str:
        lines = [self.build.summary()]
        lines += [f"{d.form_id}: {d.action} (server version {d.version_id})"
                  for d in self.deployed.deployed]
        lines += [*self.synced.lines(), *self.scored.lines()]
        if self.reported:
            lines += self.reported.lines()
        lines += [*self.extra, self.deployed.warehouse.summary()]
        return "\n".join(lines)


@task(name="build forms", cache_policy=NO_CACHE)
def build(definition: Path, geography: Path, forms_dir: Path) -> BuildResult:
    return build_forms(definition, geography, forms_dir, validate=True)


@task(name="deploy forms", cache_policy=NO_CACHE)
def deploy(settings: Settings, forms_dir: Path) -> stages.DeployRun:
    return stages.deploy(settings, forms_dir)


@task(name="sync submissions", cache_policy=NO_CACHE)
def sync(settings: Settings, progress: bool | None) -> stages.SyncRun:
    return stages.sync(settings, progress=progress)


@task(name="score", cache_policy=NO_CACHE)
def score(settings: Settings, definition: Path, geography: Path,
          round_code: str | None = None) -> stages.ScoreRun:
    return stages.score(settings, definition, geography, round_code)


@task(name="write reports", cache_policy=NO_CACHE)  # the workbooks and the Word study report
def report(settings: Settings, definition: Path, geography: Path) -> reporting.ReportRun:
    return reporting.report(settings, definition, geography, docx=True)


@task(name="publish", cache_policy=NO_CACHE)
def publish(settings: Settings, definition: Path) -> stages.PublishRun:
    return stages.publish(settings, definition)


@flow(name="aimak-run")
def run_flow(definition: str, geography: str, forms_dir: str, warehouse: str | None = None,
             progress: bool | None = None, out: str | None = None,
             lang: str | None = None) -> RunResult:
    """Build → deploy → sync → score → reports (→ publish when AIMAK_PUBLISH_URL is set), then
    the run's artifacts."""
    settings = flow_settings(warehouse, out, lang)
    return run_stages(settings, Path(definition), Path(geography), Path(forms_dir), progress)


def run_stages(settings: Settings, definition: Path, geography: Path, forms_dir: Path,
               progress: bool | None = None, round_code: str | None = None) -> RunResult:
    """The run's stages in a flow run, with ``settings`` resolved by the caller (the demo passes
    its local server's); ``round_code`` limits the scores' printed table to that round."""
    logger = get_run_logger()
    built = build(definition, geography, forms_dir)
    deployed = deploy(settings, forms_dir)
    logger.info("forms: " + ", ".join(f"{d.form_id} {d.action}" for d in deployed.deployed))
    synced = sync(settings, progress)
    for line in synced.lines():
        logger.info(line)
    before = snapshot(settings.warehouse)
    scored = score(settings, definition, geography, round_code)
    if scored.scores.rounds:
        reported = report(settings, definition, geography)
        files, round_code, extra = reported.paths, reported.round, []
    else:  # before the first interview: nothing to report yet, and that is no failure
        reported, files, round_code = None, [], None
        extra = ["no round has data yet: no workbook written (the first synced interview or "
                 "LSG assessment starts one)"]
    if settings.publish_url and scored.scores.rounds:  # AIMAK_PUBLISH_URL: for dashboards
        extra += publish(settings, definition).lines()
    result = RunResult(built, deployed, synced, scored, reported, extra)
    leave_run_artifacts(settings.warehouse, synced.forms, before, files, round_code)
    logger.info(result.summary())
    synced.raise_for_refusals()  # refused deletions fail the run once everything else is done
    return result
