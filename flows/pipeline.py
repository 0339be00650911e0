"""``aimak run``: the whole pipeline as one Prefect flow run — build the forms, deploy what
changed, sync the submissions, rebuild the scores. Reports join here as they are built."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.deploy import deploy_forms_flow
from flows.score import score_flow
from flows.stages import DeployRun, ScoreRun, SyncRun
from flows.sync import sync_flow
from forms.build import BuildResult, build_forms


@dataclass
class RunResult:
    build: BuildResult
    deployed: DeployRun
    synced: SyncRun
    scored: ScoreRun

    def summary(self) -> str:
        lines = [self.build.summary()]
        lines += [f"{d.form_id}: {d.action} (server version {d.version_id})"
                  for d in self.deployed.deployed]
        lines += [*self.synced.lines(), *self.scored.lines(), self.deployed.warehouse.summary()]
        return "\n".join(lines)


@task(cache_policy=NO_CACHE)
def build(definition: Path, geography: Path, forms_dir: Path) -> BuildResult:
    return build_forms(definition, geography, forms_dir, validate=True)


@flow(name="aimak-run")
def run_flow(definition: str, geography: str, forms_dir: str, warehouse: str | None = None,
             progress: bool | None = None) -> RunResult:
    """Build → deploy → sync → score, each stage a plain function wired here."""
    built = build(Path(definition), Path(geography), Path(forms_dir))
    deployed = deploy_forms_flow(forms_dir, warehouse)
    synced = sync_flow(None, warehouse, progress)
    scored = score_flow(definition, geography, warehouse)
    result = RunResult(built, deployed, synced, scored)
    get_run_logger().info(result.summary())
    return result
