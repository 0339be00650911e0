"""The ``aimak-sync`` Prefect flow: :func:`flows.stages.sync` as a flow run, one task per form.

Settings are resolved inside the run (the token never becomes a flow parameter). No Prefect
retries: the HTTP layer is the one retry layer, bounded in time, and a run that failed resumes
where it stopped when it is run again.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from etl.settings import load_settings
from etl.sync import FormSyncResult
from flows import stages
from flows.common import WarehouseInUse, client_for


@task(cache_policy=NO_CACHE)
def list_forms(form: str | None) -> list[dict]:
    with client_for(load_settings()) as client:
        return stages.forms_to_sync(client, form)


@task(cache_policy=NO_CACHE, task_run_name="sync-{asset[uid]}")
def sync_one(asset: dict, warehouse: Path, progress: bool | None) -> FormSyncResult:
    with client_for(load_settings()) as client:
        return stages.sync_asset(client, warehouse, asset, progress)


@flow(name="aimak-sync")
def sync_flow(form: str | None = None, warehouse: str | None = None,
              progress: bool | None = None) -> stages.SyncRun:
    """Pull new, edited and deleted submissions of every deployed form into the warehouse."""
    settings = load_settings(warehouse=Path(warehouse) if warehouse else None)
    where = WarehouseInUse.at(settings.warehouse)
    assets = list_forms(form)
    result = stages.SyncRun(where, [sync_one(asset, settings.warehouse, progress) for asset in assets])
    get_run_logger().info(result.summary())
    return result
