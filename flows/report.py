"""The ``aimak-report`` Prefect flow: :func:`flows.reporting.report` (the round's workbooks from
the scored warehouse) as one flow run, with a link artifact to each file written."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger

from flows import reporting
from flows.artifacts import link_files
from flows.common import flow_settings


@flow(name="aimak-report")
def report_flow(definition: str = "forms/indicators.yaml", geography: str = "forms/geography.csv",
                warehouse: str | None = None, round_code: str | None = None,
                out: str | None = None, lang: str | None = None, include_personal: bool = False,
                docx: bool = False) -> reporting.ReportRun:
    """Write the gap report, the scorecards, the fieldwork workbook and the clean data."""
    settings = flow_settings(warehouse, out, lang)
    result = reporting.report(settings, Path(definition), Path(geography), round_code,
                              include_personal=include_personal, docx=docx)
    link_files(result.paths, "report")
    get_run_logger().info(result.summary())
    return result
