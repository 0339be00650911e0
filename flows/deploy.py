"""The ``deploy_forms`` flow: build checks, upload, deploy or redeploy, record in the warehouse.

Each form's deployment is recorded as soon as that form is done, so a failure on a later form
keeps the records of the earlier ones (and the next run finds them unchanged).
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from etl.deploy import UNCHANGED, Deployed, deploy_forms
from flows.common import client_for, retry_on_io, settings_with
from warehouse.db import connect
from warehouse.store import record_deployment, recorded_deployments


def _recorded(warehouse: Path) -> dict[str, Deployed]:
    with connect(warehouse) as conn:
        return {form_id: Deployed(form_id, *values, "recorded")
                for form_id, values in recorded_deployments(conn).items()}


def _recorder(warehouse: Path, recorded: dict[str, Deployed]):
    def record(result: Deployed) -> None:
        if result.action == UNCHANGED and result.form_id in recorded:
            return  # nothing new to keep
        with connect(warehouse) as conn:  # opened per form: the file stays free between forms
            record_deployment(conn, result.form_id, result.asset_uid, result.form_version,
                              result.version_id, result.action)
    return record


@task(retries=2, retry_delay_seconds=[5, 30], retry_condition_fn=retry_on_io, cache_policy=NO_CACHE)
def deploy_all(forms_dir: Path, warehouse: Path) -> list[Deployed]:
    recorded = _recorded(warehouse)  # read again on a retry: it holds what the last try did
    with client_for(settings_with(warehouse=warehouse)) as client:
        return deploy_forms(client, forms_dir, recorded, on_form=_recorder(warehouse, recorded))


@flow(name="aimak-deploy-forms", log_prints=True)
def deploy_forms_flow(forms_dir: str = "forms/xlsform", warehouse: str | None = None) -> list[Deployed]:
    """Upload and deploy every form in ``forms_dir``; record deployed versions in the warehouse."""
    settings = settings_with(warehouse=Path(warehouse) if warehouse else None)
    return deploy_all(Path(forms_dir), settings.warehouse)
