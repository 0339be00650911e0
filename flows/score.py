"""The ``aimak-score`` Prefect flow: :func:`flows.stages.score` (every mart rebuilt in one
transaction from the warehouse and the study definition) as one flow run."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger

from flows import stages
from flows.common import flow_settings


@flow(name="aimak-score")
def score_flow(definition: str = "forms/indicators.yaml", geography: str = "forms/geography.csv",
               warehouse: str | None = None, round_code: str | None = None) -> stages.ScoreRun:
    """Rebuild gap scores, round changes, fieldwork progress, quality flags and focus-group marts."""
    settings = flow_settings(warehouse)
    result = stages.score(settings, Path(definition), Path(geography), round_code)
    get_run_logger().info(result.summary())
    return result
