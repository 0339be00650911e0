"""The pipeline's stages as plain functions: what every command calls, directly or inside a
Prefect flow (``flows/deploy.py``, ``flows/sync.py``, ``flows/pipeline.py``, ``flows/demo.py``
wrap these and add nothing but tasks, names and logs).

Each stage takes a resolved :class:`~etl.settings.Settings` (so the token is passed as an object,
never read again from the environment nor written into it) and returns a result whose
``summary()`` is what the command prints, naming the warehouse it used. No Prefect import here.
"""

from __future__ import annotations

import difflib
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aimak.errors import AimakError, NotDeployedError
from etl.kobo import ASSETS, KoboClient, form_id_of
from etl.settings import Settings, load_settings
from etl.sync import FormSyncResult, deployed_assets, sync_form
from flows.common import WarehouseInUse, client_for, terminal_progress
from warehouse.db import connect, landing_dir
from warehouse.store import WarehouseStore, record_deployment, recorded_deployments

if TYPE_CHECKING:
    from etl.deploy import Deployed  # imported when deploying: openpyxl is slow to import

# --- checking the server ----------------------------------------------------------------------


def check_server(settings: Settings) -> None:
    """One cheap authenticated request: a wrong URL or token fails here, in about a second,
    before a long stage (or Prefect's start-up) begins."""
    settings.require_token()
    with client_for(settings) as client:
        _ping(client)


def _ping(client: KoboClient) -> None:
    client.http.request("GET", ASSETS, params={"limit": 1})


# --- deploy -----------------------------------------------------------------------------------


@dataclass
class DeployRun:
    warehouse: WarehouseInUse
    deployed: list[Deployed]

    def lines(self) -> list[str]:
        return [f"{d.form_id}: {d.action} (asset {d.asset_uid}, form version {d.form_version}, "
                f"server version {d.version_id})" for d in self.deployed]

    def summary(self) -> str:
        return "\n".join([*self.lines(), self.warehouse.summary()])


def deploy(settings: Settings, forms_dir: Path) -> DeployRun:
    """Upload and deploy every form in ``forms_dir``; record each deployment in the warehouse as
    soon as that form is done (a failure on a later form keeps the earlier records)."""
    from etl.deploy import deploy_forms

    where = WarehouseInUse.at(settings.warehouse)
    recorded = _recorded(settings.warehouse)
    with client_for(settings) as client:
        _ping(client)  # a wrong URL or token fails before the forms are converted (seconds)
        deployed = deploy_forms(client, Path(forms_dir), recorded,
                                on_form=_recorder(settings.warehouse, recorded))
    return DeployRun(where, deployed)


def _recorded(warehouse: Path) -> dict[str, Deployed]:
    from etl.deploy import Deployed

    with connect(warehouse) as conn:
        return {form_id: Deployed(form_id, *values, "recorded")
                for form_id, values in recorded_deployments(conn).items()}


def _recorder(warehouse: Path, recorded: dict[str, Deployed]) -> Callable[[Deployed], None]:
    from etl.deploy import UNCHANGED

    def record(result: Deployed) -> None:
        if result.action == UNCHANGED and result.form_id in recorded:
            return  # nothing new to keep
        with connect(warehouse) as conn:  # opened per form: the file stays free between forms
            record_deployment(conn, result.form_id, result.asset_uid, result.form_version,
                              result.version_id, result.action)
    return record


# --- sync -------------------------------------------------------------------------------------


@dataclass
class SyncRun:
    warehouse: WarehouseInUse
    forms: list[FormSyncResult]

    def lines(self) -> list[str]:
        lines = [result.summary() for result in self.forms]
        quarantined = sum(result.quarantined for result in self.forms)
        if quarantined:
            lines.append(f"{quarantined} record(s) quarantined: see the 'quarantine' table for "
                         "the reasons.")
        return lines

    def summary(self) -> str:
        return "\n".join([*self.lines(), self.warehouse.summary()])


def forms_to_sync(client: KoboClient, form: str | None = None) -> list[dict[str, Any]]:
    """Every deployed form, or the one whose form id (or asset uid) is ``form``; a form that is
    not deployed, or a server with none, is a :class:`NotDeployedError` naming what is."""
    assets = deployed_assets(client)
    names = sorted(form_id_of(asset) for asset in assets)
    server = client.http.base_url.rstrip("/")
    if not assets:
        raise NotDeployedError(f"no form is deployed on {server}. Fix: run 'aimak forms deploy' "
                               "(or deploy the forms in KoboToolbox), then sync again.")
    if form is None:
        return assets
    chosen = [asset for asset in assets if form in (form_id_of(asset), asset["uid"])]
    if not chosen:
        close = difflib.get_close_matches(form, names, n=1)
        guess = f"did you mean {close[0]!r}? " if close else ""
        raise NotDeployedError(
            f"--form {form!r} is not a form deployed on {server}: {guess}The deployed forms are "
            f"{', '.join(names)}. Fix: pass one of them, or deploy that form first with "
            "'aimak forms deploy'.")
    return chosen


def sync_asset(client: KoboClient, warehouse: Path, asset: dict[str, Any],
               progress: bool | None = None) -> FormSyncResult:
    """Bring one form's tables up to date (the warehouse is opened for this form only)."""
    with connect(warehouse) as conn, terminal_progress(progress) as on_progress:
        return sync_form(client, WarehouseStore(conn, landing_dir(warehouse)), asset, on_progress)


def sync(settings: Settings, form: str | None = None, progress: bool | None = None) -> SyncRun:
    """Pull new, edited and deleted submissions of every deployed form (or ``form``)."""
    where = WarehouseInUse.at(settings.warehouse)
    with client_for(settings) as client:
        assets = forms_to_sync(client, form)
        return SyncRun(where, [sync_asset(client, settings.warehouse, asset, progress)
                               for asset in assets])


# --- the demo ---------------------------------------------------------------------------------

DEMO_MARK = ".aimak-demo"  # left in the demo's folder: only such a folder is ever emptied
_DEMO_ENTRIES = {DEMO_MARK, "forms", "server", "simulation", "landing", "warehouse.duckdb",
                 "warehouse.duckdb.wal"}


@dataclass
class DemoResult:
    out: Path
    build: Any  # forms.build.BuildResult
    deployed: DeployRun
    simulation_summary: str
    synced: SyncRun = field(repr=False)

    def summary(self) -> str:
        lines = [self.build.summary()]
        lines += [f"{d.form_id}: {d.action} on the local server (server version {d.version_id})"
                  for d in self.deployed.deployed]
        lines += [self.simulation_summary, *self.synced.lines()]
        lines += [f"demo outputs in {self.out}: forms/, simulation/truth.json, warehouse.duckdb "
                  "(open it with duckdb; tables submissions_*, repeat_*, answers, labels, quarantine)",
                  self.deployed.warehouse.summary()]
        return "\n".join(lines)


def demo(out: Path, respondents: int | None = None, seed: int = 2026) -> DemoResult:
    """The embedded default end to end in ``out``: the bundled study built, the local server
    started on loopback, the forms deployed to it, a simulated field team's fieldwork sent, and
    everything synced into ``out/warehouse.duckdb``."""
    from fieldsim.server import LocalServer
    from fieldsim.simulate import simulate
    from forms import BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY
    from forms.build import build_forms

    folder = Path(out)
    empty_demo_folder(folder)
    built = build_forms(BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY, folder / "forms", validate=True)
    with LocalServer(folder / "server") as server:
        settings = load_settings(kobo_url=server.api_url, kobo_token=server.token,
                                 warehouse=folder / "warehouse.duckdb")
        deployed = deploy(settings, folder / "forms")
        simulated = simulate(server.api_url, server.token, respondents=respondents, seed=seed,
                             out_dir=folder / "simulation")
        synced = sync(settings)
    return DemoResult(folder, built, deployed, simulated.summary(), synced)


def empty_demo_folder(folder: Path) -> None:
    """Start the demo from nothing, but never delete what the demo did not write: a folder that
    holds anything else (a mistyped ``--out``) is refused."""
    if folder.exists():
        if not folder.is_dir():
            raise AimakError(f"--out {str(folder)!r} is a file. Fix: give a folder for the demo.")
        entries = {entry.name for entry in folder.iterdir()}
        others = sorted(entries - _DEMO_ENTRIES)
        if others and DEMO_MARK not in entries:
            shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
            raise AimakError(
                f"--out {str(folder)!r} holds files the demo did not write ({shown}); the demo "
                "empties its folder first. Fix: give a new or empty folder.")
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / DEMO_MARK).write_text("made by 'aimak demo': emptied at its next run\n")
