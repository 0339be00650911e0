"""``aimak demo``: the embedded default end to end, as one Prefect flow run.

In OUT (``flows.demo_folder`` decides what may be replaced or reused): the fieldwork plan written
from the bundled study; the local KoboToolbox-compatible server started on a free loopback port;
the forms built and deployed to it; a simulated field team's fieldwork sent (citizen interviews,
an LSG assessment and the focus groups of every municipality); then the ``run`` flow's stages
(``flows.pipeline.run_stages``: deploy what changed, sync, score, the workbooks, the marts
published to ``marts.db`` (SQLite) beside the warehouse, the run's artifacts); the server stopped. ``rounds=2`` adds a follow-up round (``flows.follow_up``) and
runs the stages again, so round changes show. A second demo with the same parameters reuses the
finished fieldwork and runs the pipeline again on it: nothing is sent or stored twice.

The stages talk to the demo's own server, whose token is passed to them inside a Settings
object: it never becomes a flow parameter and never enters the process environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from prefect import flow, get_run_logger

from aimak.errors import ConfigError
from aimak.settings import load_settings
from flows import reporting, stages
from flows.demo_folder import MARTS, mark_finished, prepare_folder
from flows.follow_up import run_follow_up
from flows.pipeline import RunResult, run_stages
from flows.run_summary import gap_matrix
from forms import BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY

FOLLOW_UP_ROUND = "r2027_followup"


@dataclass
class DemoResult:
    out: Path
    plan: reporting.PlanRun
    fieldwork: dict[int, str]  # what the simulated field team did, by run (none when reused)
    runs: list[RunResult]
    gaps: list[dict] = field(default_factory=list)
    reused: bool = False

    @property
    def files(self) -> list[Path]:
        reported = self.runs[-1].reported
        return [self.plan.path, *(reported.paths if reported else [])]

    def summary(self) -> str:
        lines = [*self.plan.lines()]
        if self.reused:
            lines.append(f"fieldwork: reused the finished fieldwork of the earlier demo in "
                         f"{self.out} (nothing sent again)")
        for number, run in enumerate(self.runs):
            if number in self.fieldwork:
                lines.append(self.fieldwork[number])
            lines += [*run.synced.lines(), *run.scored.lines(), *run.extra]
        lines += ["", "gaps G = S - E of the latest round, by service and municipality:", *_table(self.gaps),
                  "", f"files in {self.out}:"]
        lines += [f"  {p.name}" for p in self.files]
        lines += ["  warehouse.duckdb (open it with duckdb: gap_scores, municipality_scores, "
                  "gap_changes, quality_flags, fieldwork_progress, fg_themes, submissions_*, ...)",
                  f"  {MARTS} (the marts published for dashboards, as 'aimak publish' does)",
                  self.runs[-1].deployed.warehouse.summary()]
        return "\n".join(lines)


@flow(name="aimak-demo")
def demo_flow(out: str = "out/demo", respondents: int | None = None, seed: int = 2026,
              rounds: int = 1, lang: str | None = None) -> DemoResult:
    """Plan, local server, forms, simulated fieldwork, then the run's stages; outputs in OUT."""
    from fieldsim.server import LocalServer
    from fieldsim.simulate import simulate
    from forms.build import build_forms

    if rounds not in (1, 2):
        raise ConfigError(f"--rounds {rounds}: the demo simulates 1 round (the baseline) or 2 "
                          "(and a follow-up). Fix: pass --rounds 1 or --rounds 2.")
    folder = Path(out)
    parameters = {"respondents": respondents, "seed": seed, "rounds": rounds}
    reused = prepare_folder(folder, parameters)  # never deletes what the demo did not write
    logger = get_run_logger()
    settings = load_settings(warehouse=folder / "warehouse.duckdb", out=folder, lang=lang)
    plan = reporting.plan(settings, BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY)
    logger.info(plan.summary())
    fieldwork: dict[int, str] = {}
    runs: list[RunResult] = []
    with LocalServer(folder / "server") as server:
        settings = settings.with_overrides(kobo_url=server.api_url, kobo_token=server.token,
                                           publish_url=f"sqlite:///{(folder / MARTS).absolute()}")
        if not reused:
            build_forms(BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY, folder / "forms", validate=False)
            stages.deploy(settings, folder / "forms")
            simulated = simulate(server.api_url, server.token, respondents=respondents, seed=seed,
                                 out_dir=folder / "simulation")
            fieldwork[0] = simulated.summary()
            logger.info(simulated.summary())
        if not (reused and rounds == 2):  # a reused follow-up's forms stay deployed as they are
            runs.append(run_stages(settings, BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY,
                                   folder / "forms"))
        if rounds == 2:
            follow = folder / "followup"
            if not reused:
                follow_up = run_follow_up(
                    follow, FOLLOW_UP_ROUND, lambda forms: stages.deploy(settings, forms).deployed,
                    server.api_url, server.token, respondents=respondents, seed=seed)
                fieldwork[len(runs)] = follow_up.summary()
                logger.info(follow_up.summary())
            runs.append(run_stages(settings, follow / "indicators.yaml", BUNDLED_GEOGRAPHY,
                                   follow / "forms", round_code=FOLLOW_UP_ROUND))
        mark_finished(folder, parameters)
    return DemoResult(folder, plan, fieldwork, runs, gap_matrix(settings.warehouse), reused)


SYMBOLS = {"perception_exceeds": "▲", "performance_underrecognised": "▼", "aligned": "●",
           "insufficient_data": "·"}


def _table(rows: list[dict]) -> list[str]:
    """The gap matrix as aligned text: a line per service, a column per municipality."""
    if not rows:
        return ["  (no gap scored)"]
    places = [row["municipality"] for row in rows]
    services = sorted({key for row in rows for key in row} - {"municipality"})

    def cell(row: dict, service: str) -> str:
        value = row.get(service)
        if value is None or value == "*":
            return value or ""
        gap, status = value.split(" ", 1)
        return f"{gap} {SYMBOLS.get(status, status)}"

    lines = ["  service " + "".join(p.rjust(10) for p in places)]
    lines += ["  " + service.ljust(8) + "".join(cell(row, service).rjust(10) for row in rows)
              for service in services]
    lines.append("  ▲ perception exceeds performance  ▼ performance under-recognised  ● aligned  "
                 "· insufficient data  * suppressed (few answers)  blank: not scored there")
    return lines
