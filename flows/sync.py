"""The ``aimak-sync`` Prefect flow: :func:`flows.stages.sync` as a flow run, one task per form.

Settings are resolved once, inside the run, and handed to each task as an object (the token
never becomes a flow or task parameter). No Prefect
retries: the HTTP layer is the one retry layer, bounded in time, and a run that failed resumes
where it stopped when it is run again.
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from aimak.settings import Settings
from etl.attachments import AttachmentResult
from etl.sync import FormSyncResult, check_scope
from flows import stages
from flows.common import WarehouseInUse, client_for, flow_settings


@task(cache_policy=NO_CACHE)
def list_forms(settings: Settings, form: str | None) -> list[dict]:
    with client_for(settings) as client:
        return stages.forms_to_sync(client, form)


@task(cache_policy=NO_CACHE, task_run_name="sync-{asset[uid]}")
def sync_one(settings: Settings, asset: dict, progress: bool | None, full_refresh: bool = False,
             confirm_deletions: bool = False) -> FormSyncResult:
    with client_for(settings) as client:
        return stages.sync_asset(client, settings.warehouse, asset, progress, full_refresh,
                                 confirm_deletions)


@task(cache_policy=NO_CACHE, task_run_name="attachments-{asset[uid]}")
def fetch_files(settings: Settings, asset: dict) -> AttachmentResult:
    with client_for(settings) as client:
        return stages.fetch_files(client, settings.warehouse, asset)


@flow(name="aimak-sync")
def sync_flow(form: str | None = None, warehouse: str | None = None,
              progress: bool | None = None, full_refresh: bool = False,
              confirm_deletions: bool = False, attachments: bool | None = None) -> stages.SyncRun:
    """Pull new, edited and deleted submissions of every deployed form into the warehouse; with
    ``attachments`` (default: the AIMAK_ATTACHMENTS setting) also their files. The run fails
    (DeletionsRefusedError) after every form was synced when a form's deletions were refused."""
    check_scope(form, full_refresh, confirm_deletions)
    settings = flow_settings(warehouse)
    where = WarehouseInUse.at(settings.warehouse)
    assets = list_forms(settings, form)
    synced = [sync_one(settings, asset, progress, full_refresh, confirm_deletions)
              for asset in assets]
    files = settings.attachments if attachments is None else attachments
    fetched = [fetch_files(settings, asset) for asset in assets] if files else []
    result = stages.SyncRun(where, synced, fetched)
    get_run_logger().info(result.summary())
    result.raise_for_refusals()
    return result
