"""The flows a data manager schedules besides ``aimak run`` (``aimak serve`` serves them):

* ``aimak-evening``: rebuild the scores and write every workbook of the latest round, leaving the
  same artifacts as a run (summary, gap matrix, links) — what MEL staff open the next morning;
* ``aimak-morning``: the supervisors' fieldwork workbook from what the marts hold.

Both resolve the settings once (the serving process's environment and ``aimak.toml``) and call
the same plain stages as the commands.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger

from flows import reporting
from flows.artifacts import leave_run_artifacts, link_files
from flows.common import flow_settings
from flows.pipeline import report, score
from flows.run_summary import snapshot


@flow(name="aimak-evening")
def evening_flow(definition: str = "forms/indicators.yaml", geography: str = "forms/geography.csv",
                 warehouse: str | None = None, out: str | None = None,
                 lang: str | None = None) -> reporting.ReportRun:
    """Score, then write the gap report, scorecards, fieldwork and clean-data workbooks."""
    settings = flow_settings(warehouse, out, lang)
    before = snapshot(settings.warehouse)
    scored = score(settings, Path(definition), Path(geography))
    reported = report(settings, Path(definition), Path(geography))
    leave_run_artifacts(settings.warehouse, [], before, reported.paths, reported.round)
    get_run_logger().info("\n".join([*scored.lines(), reported.summary()]))
    return reported


@flow(name="aimak-morning")
def morning_flow(definition: str = "forms/indicators.yaml", geography: str = "forms/geography.csv",
                 warehouse: str | None = None, out: str | None = None,
                 lang: str | None = None) -> Path:
    """Write the supervisors' fieldwork workbook (progress, quotas, enumerators, flags)."""
    settings = flow_settings(warehouse, out, lang)
    path = reporting.fieldwork(settings, Path(definition), Path(geography))
    link_files([path], "fieldwork")
    get_run_logger().info(f"fieldwork workbook: {path}")
    return path
