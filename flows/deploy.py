"""The ``deploy_forms`` flow: build checks, upload, deploy or redeploy, record in the warehouse."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from etl.deploy import Deployed, deploy_forms
from flows.common import client_for, retry_on_io, settings_with
from warehouse.db import connect
from warehouse.store import record_deployment, recorded_deployments


@task(retries=2, retry_delay_seconds=[5, 30], retry_condition_fn=retry_on_io, cache_policy=NO_CACHE)
def deploy_all(forms_dir: Path, recorded: dict[str, Deployed]) -> list[Deployed]:
    with client_for(settings_with()) as client:
        return deploy_forms(client, forms_dir, recorded)


@flow(name="aimak-deploy-forms", log_prints=True)
def deploy_forms_flow(forms_dir: str = "forms/xlsform", warehouse: str | None = None) -> list[Deployed]:
    """Upload and deploy every form in ``forms_dir``; record deployed versions in the warehouse."""
    settings = settings_with(warehouse=Path(warehouse) if warehouse else None)
    with connect(settings.warehouse) as conn:
        recorded = {form_id: Deployed(form_id, *values, "recorded")
                    for form_id, values in recorded_deployments(conn).items()}
    results = deploy_all(Path(forms_dir), recorded)
    with connect(settings.warehouse) as conn:
        for r in results:
            if r.action != "unchanged" or r.form_id not in recorded:
                record_deployment(conn, r.form_id, r.asset_uid, r.form_version, r.version_id, r.action)
    return results
