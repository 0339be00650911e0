"""``aimak demo``: the embedded default, end to end, in one folder.

The local KoboToolbox-compatible server is started on loopback with its data in ``OUT/server``;
the bundled study definition is built into ``OUT/forms`` and deployed to it; a simulated field
team (JavaRosa, OpenRosa) fills and sends the forms; the submissions are synced into
``OUT/warehouse.duckdb``. Each stage is the same flow or function the real pipeline uses.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from etl.deploy import Deployed
from etl.sync import FormSyncResult
from flows.deploy import deploy_forms_flow
from flows.sync import sync_flow
from forms import BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY
from forms.build import BuildResult, build_forms


@dataclass
class DemoResult:
    out: Path
    build: BuildResult
    deployed: list[Deployed]
    simulation_summary: str
    synced: list[FormSyncResult]

    def summary(self) -> str:
        lines = [self.build.summary()]
        lines += [f"{d.form_id}: {d.action} on the local server (server version {d.version_id})"
                  for d in self.deployed]
        lines += [self.simulation_summary]
        lines += [s.summary() for s in self.synced]
        lines += [f"demo outputs in {self.out}: forms/, simulation/truth.json, warehouse.duckdb "
                  "(open it with duckdb; tables submissions_*, repeat_*, answers, labels, quarantine)"]
        return "\n".join(lines)


@task(cache_policy=NO_CACHE)
def simulate_fieldwork(api_url: str, token: str, out: Path, respondents: int | None, seed: int) -> str:
    from fieldsim.simulate import simulate

    return simulate(api_url, token, respondents=respondents, seed=seed, out_dir=out).summary()


@flow(name="aimak-demo", log_prints=True)
def demo_flow(out: str = "out/demo", respondents: int | None = None, seed: int = 2026) -> DemoResult:
    from fieldsim.server import LocalServer

    folder = Path(out)
    shutil.rmtree(folder, ignore_errors=True)  # the demo always starts from nothing
    folder.mkdir(parents=True)
    built = build_forms(BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY, folder / "forms", validate=True)
    warehouse = str(folder / "warehouse.duckdb")
    with LocalServer(folder / "server") as server:
        # the flows below read KOBO_URL/KOBO_TOKEN like any run: point them at the local server
        os.environ["KOBO_URL"], os.environ["KOBO_TOKEN"] = server.api_url, server.token
        deployed = deploy_forms_flow(str(folder / "forms"), warehouse)
        simulated = simulate_fieldwork(server.api_url, server.token, folder / "simulation",
                                       respondents, seed)
        synced = sync_flow(None, warehouse)
    return DemoResult(folder, built, deployed, simulated, synced)
