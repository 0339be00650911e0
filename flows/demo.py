"""``aimak demo``: the embedded default, end to end, in one folder.

The local KoboToolbox-compatible server is started on loopback with its data in ``OUT/server``;
the bundled study definition is built into ``OUT/forms`` and deployed to it; a simulated field
team (JavaRosa, OpenRosa) fills and sends the forms; the submissions are synced into
``OUT/warehouse.duckdb``. Each stage is the same flow or function the real pipeline uses.

OUT is a new or empty folder, or one an earlier demo wrote (it holds the marker file
``.aimak-demo``): then only the demo's own files and folders in it are replaced. A folder holding
anything else is refused, and nothing in it is touched: aimak never deletes what it did not create.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from aimak.errors import ConfigError
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


MARKER = ".aimak-demo"
# what a demo writes into OUT (the warehouse's landing folder sits beside it); nothing else is
# ever removed from OUT
OWN_PATHS = ("forms", "server", "simulation", "landing", "attachments", "warehouse.duckdb",
             "warehouse.duckdb.wal", "warehouse.duckdb.tmp")


def prepare_folder(folder: Path) -> None:
    """Make ``folder`` ready for a new demo: created (with the marker) when missing or empty;
    an earlier demo's folder loses only :data:`OWN_PATHS`; any other folder is refused with
    :class:`ConfigError` and left as it is."""
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"--out {folder}: this is a file, not a folder; nothing was changed. "
                          "Fix: give a new or empty folder.")
    entries = sorted(p.name for p in folder.iterdir()) if folder.exists() else []
    if entries and MARKER not in entries:
        shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
        raise ConfigError(f"--out {folder}: the folder holds files the demo did not write "
                          f"({shown}); nothing was deleted. Fix: give a new or empty folder, or "
                          "the folder of an earlier demo.")
    for name in OWN_PATHS:
        path = folder / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text("Written by 'aimak demo': a later demo may replace its own files "
                                 f"here ({', '.join(OWN_PATHS)}); nothing else.\n", encoding="utf-8")


@task(cache_policy=NO_CACHE)
def simulate_fieldwork(api_url: str, token: str, out: Path, respondents: int | None, seed: int) -> str:
    from fieldsim.simulate import simulate

    return simulate(api_url, token, respondents=respondents, seed=seed, out_dir=out).summary()


@flow(name="aimak-demo", log_prints=True)
def demo_flow(out: str = "out/demo", respondents: int | None = None, seed: int = 2026) -> DemoResult:
    from fieldsim.server import LocalServer

    folder = Path(out)
    prepare_folder(folder)  # a new demo; never deletes what the demo did not write
    built = build_forms(BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY, folder / "forms", validate=True)
    warehouse = str(folder / "warehouse.duckdb")
    with LocalServer(folder / "server") as server:
        # the flows below read KOBO_URL/KOBO_TOKEN like any run: point them at the local server
        os.environ["KOBO_URL"], os.environ["KOBO_TOKEN"] = server.api_url, server.token
        deployed = deploy_forms_flow(str(folder / "forms"), warehouse)
        simulated = simulate_fieldwork(server.api_url, server.token, folder / "simulation",
                                       respondents, seed)
        synced = sync_flow(None, warehouse, attachments=True)
    return DemoResult(folder, built, deployed, simulated, synced)
