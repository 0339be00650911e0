"""The pipeline's stages as plain functions: what every command calls, directly or inside a
Prefect flow (``flows/deploy.py``, ``flows/sync.py``, ``flows/pipeline.py``, ``flows/demo.py``
wrap these and add nothing but tasks, names and logs). The deliverables' stages are in
``flows/reporting.py``.

Each stage takes a resolved :class:`~aimak.settings.Settings` (so the token is passed as an object,
never read again from the environment nor written into it) and returns a result whose
``summary()`` is what the command prints, naming the warehouse it used. No Prefect import here.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aimak.errors import ConfigError, NotDeployedError
from aimak.settings import Settings
from etl.attachments import AttachmentResult, fetch_attachments
from etl.kobo import ASSETS, KoboClient, form_id_of
from etl.sync import FormSyncResult, check_scope, deployed_assets, raise_for_refusals, sync_form
from flows.common import WarehouseInUse, client_for, terminal_progress
from warehouse.attachments import AttachmentStore
from warehouse.db import connect, landing_dir
from warehouse.store import WarehouseStore, record_deployment, recorded_deployments

if TYPE_CHECKING:
    from etl.deploy import Deployed  # imported when deploying: openpyxl is slow to import
    from warehouse.publish import PublishResult
    from warehouse.scoring import ScoreResult

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
    files: list[AttachmentResult] = field(default_factory=list)

    def lines(self) -> list[str]:
        lines = [result.summary() for result in [*self.forms, *self.files]]
        quarantined = sum(result.quarantined for result in self.forms)
        if quarantined:
            lines.append(f"{quarantined} record(s) quarantined: see the 'quarantine' table for "
                         "the reasons.")
        return lines

    def summary(self) -> str:
        return "\n".join([*self.lines(), self.warehouse.summary()])

    def raise_for_refusals(self) -> None:
        """Fail (non-zero exit) when a form's deletions were refused; called once every form
        is synced and the summary shown."""
        raise_for_refusals(self.forms)


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
               progress: bool | None = None, full_refresh: bool = False,
               confirm_deletions: bool = False) -> FormSyncResult:
    """Bring one form's tables up to date (the warehouse is opened for this form only)."""
    with connect(warehouse) as conn, terminal_progress(progress) as on_progress:
        return sync_form(client, WarehouseStore(conn, landing_dir(warehouse)), asset, on_progress,
                         full_refresh=full_refresh, confirm_deletions=confirm_deletions)


def fetch_files(client: KoboClient, warehouse: Path, asset: dict[str, Any]) -> AttachmentResult:
    """Download the form's photos, audio and other files not kept yet (``attachments/``)."""
    with connect(warehouse) as conn:
        return fetch_attachments(client, AttachmentStore(conn, Path(warehouse).parent), asset)


def sync(settings: Settings, form: str | None = None, progress: bool | None = None, *,
         full_refresh: bool = False, confirm_deletions: bool = False,
         attachments: bool | None = None) -> SyncRun:
    """Pull new, edited and deleted submissions of every deployed form (or ``form``); with
    ``attachments`` (default: the AIMAK_ATTACHMENTS setting) their files too. Deletions a form's
    listing would wrongly cause are refused (see :func:`etl.sync.sync_form`): the run goes on
    and :meth:`SyncRun.raise_for_refusals` reports them at the end."""
    check_scope(form, full_refresh, confirm_deletions)
    where = WarehouseInUse.at(settings.warehouse)
    files = settings.attachments if attachments is None else attachments
    with client_for(settings) as client:
        assets = forms_to_sync(client, form)
        synced = [sync_asset(client, settings.warehouse, asset, progress, full_refresh,
                             confirm_deletions) for asset in assets]
        fetched = [fetch_files(client, settings.warehouse, asset) for asset in assets] if files else []
    return SyncRun(where, synced, fetched)


# --- scores -----------------------------------------------------------------------------------


@dataclass
class ScoreRun:
    warehouse: WarehouseInUse
    scores: ScoreResult
    round: str | None = None

    def lines(self) -> list[str]:
        return self.scores.summary(self.round).splitlines()

    def summary(self) -> str:
        return "\n".join([*self.lines(), self.warehouse.summary()])


def score(settings: Settings, definition: Path, geography: Path,
          round_code: str | None = None) -> ScoreRun:
    """Rebuild the marts (gap scores, fieldwork, quality, focus groups, round changes) from the
    warehouse and the study definition, in one transaction (``warehouse.scoring``)."""
    from forms.build import load_study
    from warehouse.scoring import score as score_warehouse

    where = WarehouseInUse.existing(
        settings.warehouse, "score", "run 'aimak sync' first, or point AIMAK_WAREHOUSE (or "
        "--warehouse) at the warehouse the sync fills.")
    study, places = load_study(definition, geography)
    with connect(settings.warehouse) as conn:
        result = score_warehouse(conn, study, places)
    if round_code and round_code not in result.rounds:
        scored = ", ".join(result.rounds) or "none yet"
        raise ConfigError(f"--round {round_code!r} has no scores (rounds scored: {scored}); the "
                          "marts were rebuilt all the same. Fix: pass one of those rounds.")
    return ScoreRun(where, result, round_code)


# --- publish ----------------------------------------------------------------------------------


@dataclass
class PublishRun:
    warehouse: WarehouseInUse
    published: PublishResult

    def lines(self) -> list[str]:
        return self.published.summary().splitlines()

    def summary(self) -> str:
        return "\n".join([*self.lines(), self.warehouse.summary()])


def publish(settings: Settings, definition: Path, to: str | None = None,
            round_code: str | None = None) -> PublishRun:
    """Copy the marts, dimensions and typed form tables (no personal data) to the database at
    ``to`` (default: AIMAK_PUBLISH_URL), each round replaced in one transaction
    (``warehouse.publish``)."""
    from forms.loader import load_definition
    from reports.gap_columns import meanings
    from reports.marts import Marts, ReportError
    from warehouse.publish import publish as publish_marts

    url = to or settings.publish_url
    if not url:
        raise ConfigError("no database to publish to. Fix: pass --to URL or set AIMAK_PUBLISH_URL "
                          "(e.g. postgresql://user:password@host:5432/database, or "
                          "sqlite:///out/marts.db).")
    where = WarehouseInUse.existing(
        settings.warehouse, "publish", "point AIMAK_WAREHOUSE (or --warehouse) at a scored "
        "warehouse.")
    study = load_definition(definition)
    with connect(settings.warehouse, read_only=True) as conn:
        try:  # the data dictionary's English texts become the column comments
            texts = meanings(Marts(conn, "en").method())
        except ReportError:
            texts = {}  # not scored: publish_marts says so
        result = publish_marts(conn, url, study, round_code, meanings=texts)
    return PublishRun(where, result)
