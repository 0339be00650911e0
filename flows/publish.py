"""The ``aimak-publish`` Prefect flow: :func:`flows.stages.publish` (the marts, dimensions and
typed form tables copied to a SQLAlchemy database, each round in one transaction) as one flow run.

The URL may hold a password, so it travels as a pydantic ``SecretStr``: Prefect stores and shows
such a parameter as ``**********``. Without it the flow publishes to AIMAK_PUBLISH_URL."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger
from pydantic import SecretStr

from flows import stages
from flows.common import flow_settings


@flow(name="aimak-publish")
def publish_flow(to: SecretStr | None = None, round_code: str | None = None,
                 warehouse: str | None = None,
                 definition: str = "forms/indicators.yaml") -> stages.PublishRun:
    """Publish every scored round (or ``round_code``) to ``to`` or AIMAK_PUBLISH_URL."""
    settings = flow_settings(warehouse)
    result = stages.publish(settings, Path(definition), to.get_secret_value() if to else None,
                            round_code)
    get_run_logger().info(result.summary())
    return result
