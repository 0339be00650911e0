"""The ``sync`` flow: every deployed form (or one) from the server into the warehouse."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from etl.sync import FormSyncResult, check_scope, deployed_assets, raise_for_refusals, sync_form
from flows.common import client_for, retry_on_io, settings_with, terminal_progress
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


@flow(name="aimak-sync", log_prints=True)
def sync_flow(form: str | None = None, warehouse: str | None = None,
              progress: bool | None = None, full_refresh: bool = False,
              confirm_deletions: bool = False) -> list[FormSyncResult]:
    """Pull new, edited and deleted submissions of every deployed form into the warehouse;
    fails (DeletionsRefusedError) after syncing them all when a form's deletions were refused."""
    check_scope(form, full_refresh, confirm_deletions)
    settings = settings_with(warehouse=Path(warehouse) if warehouse else None)
    assets = list_forms(form)
    results = [sync_one(asset, settings.warehouse, progress, full_refresh, confirm_deletions)
               for asset in assets]
    for result in results:
        print(result.summary())
    raise_for_refusals(results)
    return results
