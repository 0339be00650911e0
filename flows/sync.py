"""The ``aimak-sync`` Prefect flow: :func:`flows.stages.sync` as a flow run, one task per form.

Settings are resolved inside the run (the token never becomes a flow parameter). No Prefect
retries: the HTTP layer is the one retry layer, bounded in time, and a run that failed resumes
where it stopped when it is run again.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from aimak.settings import load_settings
from etl.attachments import AttachmentResult
from etl.sync import FormSyncResult, check_scope
from flows import stages
from flows.common import WarehouseInUse, client_for


@task(cache_policy=NO_CACHE)
def list_forms(form: str | None) -> list[dict]:
    with client_for(load_settings()) as client:
        return stages.forms_to_sync(client, form)


@task(cache_policy=NO_CACHE, task_run_name="sync-{asset[uid]}")
def sync_one(asset: dict, warehouse: Path, progress: bool | None, full_refresh: bool = False,
             confirm_deletions: bool = False) -> FormSyncResult:
    with client_for(load_settings()) as client:
        return stages.sync_asset(client, warehouse, asset, progress, full_refresh,
                                 confirm_deletions)


@task(cache_policy=NO_CACHE, task_run_name="attachments-{asset[uid]}")
def fetch_files(asset: dict, warehouse: Path) -> AttachmentResult:
    with client_for(load_settings()) as client:
        return stages.fetch_files(client, warehouse, asset)


@flow(name="aimak-sync")
def sync_flow(form: str | None = None, warehouse: str | None = None,
              progress: bool | None = None, full_refresh: bool = False,
              confirm_deletions: bool = False, attachments: bool | None = None) -> stages.SyncRun:
    """Pull new, edited and deleted submissions of every deployed form into the warehouse; with
    ``attachments`` (default: the AIMAK_ATTACHMENTS setting) also their files. The run fails
    (DeletionsRefusedError) after every form was synced when a form's deletions were refused."""
    check_scope(form, full_refresh, confirm_deletions)
    settings = load_settings(warehouse=Path(warehouse) if warehouse else None)
    where = WarehouseInUse.at(settings.warehouse)
    assets = list_forms(form)
    synced = [sync_one(asset, settings.warehouse, progress, full_refresh, confirm_deletions)
              for asset in assets]
    files = settings.attachments if attachments is None else attachments
    fetched = [fetch_files(asset, settings.warehouse) for asset in assets] if files else []
    result = stages.SyncRun(where, synced, fetched)
    get_run_logger().info(result.summary())
    result.raise_for_refusals()
    return result
