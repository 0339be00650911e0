"""The ``aimak-deploy-forms`` Prefect flow: :func:`flows.stages.deploy` as a flow run.

Settings are resolved inside the run (the token never becomes a flow parameter, which Prefect
stores). No Prefect retries: the HTTP layer is the one retry layer, bounded in time, and a
deploy run that failed is simply run again (each form is recorded as soon as it is done).
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger

from flows import stages
from flows.common import flow_settings


@flow(name="aimak-deploy-forms")
def deploy_forms_flow(forms_dir: str = "forms/xlsform", warehouse: str | None = None) -> stages.DeployRun:
    """Upload and deploy every form in ``forms_dir``; record deployed versions in the warehouse."""
    settings = flow_settings(warehouse)
    result = stages.deploy(settings, Path(forms_dir))
    get_run_logger().info(result.summary())
    return result
