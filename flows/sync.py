"""The ``sync`` flow: every deployed form (or one) from the server into the warehouse."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from etl.attachments import AttachmentResult, fetch_attachments
from etl.sync import FormSyncResult, check_scope, deployed_assets, raise_for_refusals, sync_form
from flows.common import client_for, retry_on_io, settings_with, terminal_progress
from warehouse.attachments import AttachmentStore
from warehouse.db import connect, landing_dir
from warehouse.store import WarehouseStore


@task(retries=2, retry_delay_seconds=[10, 60], retry_condition_fn=retry_on_io, cache_policy=NO_CACHE)
def list_forms(form: str | None) -> list[dict]:
    with client_for(settings_with()) as client:
        return deployed_assets(client, form)


@task(retries=2, retry_delay_seconds=[10, 60], retry_condition_fn=retry_on_io, cache_policy=NO_CACHE,
      task_run_name="sync-{asset[uid]}")
def sync_one(asset: dict, warehouse: Path, progress: bool | None, full_refresh: bool = False,
             confirm_deletions: bool = False) -> FormSyncResult:
    settings = settings_with()
    with client_for(settings) as client, connect(warehouse) as conn, \
            terminal_progress(progress) as on_progress:
        return sync_form(client, WarehouseStore(conn, landing_dir(warehouse)), asset, on_progress,
                         full_refresh=full_refresh, confirm_deletions=confirm_deletions)


@task(retries=2, retry_delay_seconds=[10, 60], retry_condition_fn=retry_on_io, cache_policy=NO_CACHE,
      task_run_name="attachments-{asset[uid]}")
def fetch_files(asset: dict, warehouse: Path) -> AttachmentResult:
    with client_for(settings_with()) as client, connect(warehouse) as conn:
        return fetch_attachments(client, AttachmentStore(conn, Path(warehouse).parent), asset)


@flow(name="aimak-sync", log_prints=True)
def sync_flow(form: str | None = None, warehouse: str | None = None,
              progress: bool | None = None, full_refresh: bool = False,
              confirm_deletions: bool = False, attachments: bool | None = None
              ) -> list[FormSyncResult]:
    """Pull new, edited and deleted submissions of every deployed form into the warehouse; with
    ``attachments`` (default: the AIMAK_ATTACHMENTS setting) also their files. Fails
    (DeletionsRefusedError) after syncing them all when a form's deletions were refused."""
    check_scope(form, full_refresh, confirm_deletions)
    settings = settings_with(warehouse=Path(warehouse) if warehouse else None)
    assets = list_forms(form)
    results = [sync_one(asset, settings.warehouse, progress, full_refresh, confirm_deletions)
               for asset in assets]
    files = settings.attachments if attachments is None else attachments
    fetched = [fetch_files(asset, settings.warehouse) for asset in assets] if files else []
    for result in [*results, *fetched]:
        print(result.summary())
    raise_for_refusals(results)
    return results
