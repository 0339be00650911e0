"""The deliverables' stages as plain functions: the fieldwork plan (before any data) and the
round's workbooks (after scoring). ``aimak plan``, ``aimak report``, the ``run`` flow and the demo
call these; ``flows/report.py`` wraps them as Prefect flows. No Prefect import here.

The writers live in ``reports/`` and read the warehouse and the study definition only; this module
opens the warehouse, picks the round once for every workbook, and names what was written. A
writer never replaces a file Aimak did not write (``reports.workbook.Book``), so an output folder
that holds other files is safe.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from aimak.errors import ConfigError
from aimak.settings import Settings
from flows.common import WarehouseInUse

NO_WAREHOUSE_FIX = ("run 'aimak sync' and 'aimak score' first, or point AIMAK_WAREHOUSE (or "
                    "--warehouse) at the warehouse they fill.")

# --- the fieldwork plan -----------------------------------------------------------------------


@dataclass
class PlanRun:
    path: Path
    start: dt.date
    last_day: dt.date
    problems: tuple[str, ...]

    def lines(self) -> list[str]:
        lines = [f"fieldwork plan: {self.path} (from {self.start.isoformat()} to "
                 f"{self.last_day.isoformat()})"]
        lines += [f"warning: {problem}" for problem in self.problems]
        return lines

    def summary(self) -> str:
        return "\n".join(self.lines())


def plan(settings: Settings, definition: Path, geography: Path, start: dt.date | None = None,
         days_off: Iterable[dt.date] = ()) -> PlanRun:
    """Lay out the round's fieldwork from the study definition alone and write
    ``fieldwork_plan.xlsx`` into the output folder in the settings' language. Work that does not
    fit the window is written all the same (the plan shows it) and comes back as
    :attr:`PlanRun.problems`."""
    from forms.build import load_study
    from forms.schedule import schedule_fieldwork
    from reports.plan import write_fieldwork_plan

    study, places = load_study(definition, geography)
    schedule = schedule_fieldwork(study, places, start=start, days_off=days_off)
    path = write_fieldwork_plan(schedule, study, places, _out_dir(settings.out), settings.lang)
    return PlanRun(path, schedule.start, schedule.last_day, schedule.problems)


# --- the round's workbooks --------------------------------------------------------------------


@dataclass
class ReportRun:
    warehouse: WarehouseInUse
    round: str
    out: Path
    gap_report: Path
    scorecards: list[Path]
    fieldwork: Path
    data: list[Path]
    documents: list[Path] = field(default_factory=list)  # the Word study report, when asked

    @property
    def paths(self) -> list[Path]:
        return [self.gap_report, *self.scorecards, self.fieldwork, *self.data, *self.documents]

    def lines(self) -> list[str]:
        lines = [f"round {self.round}: {len(self.paths)} file(s) in {self.out}",
                 f"  gap report:  {self.gap_report.name}",
                 f"  scorecards:  {', '.join(p.name for p in self.scorecards) or 'none'}",
                 f"  fieldwork:   {self.fieldwork.name}",
                 f"  clean data:  {', '.join(p.name for p in self.data) or 'none synced'}"]
        if self.documents:
            lines.append(f"  study report: {', '.join(p.name for p in self.documents)}")
        return lines

    def summary(self) -> str:
        return "\n".join([*self.lines(), self.warehouse.summary()])


def report(settings: Settings, definition: Path, geography: Path, round_code: str | None = None,
           *, include_personal: bool = False, docx: bool = False) -> ReportRun:
    """Write the round's workbooks (``round_code``, default the latest scored) into the output
    folder (AIMAK_OUT or --out) in the settings' language (AIMAK_LANG or --lang): the gap report,
    a scorecard per municipality, the fieldwork workbook, the clean data of each study form
    (personal data only with ``include_personal``) and, with ``docx``, the Word study report."""
    from forms.build import load_study
    from reports.data_export import write_data_workbooks
    from reports.fieldwork import write_fieldwork_workbook
    from reports.gap_report import write_gap_report
    from reports.marts import Marts
    from reports.scorecard import write_scorecards
    from warehouse.db import connect

    where = WarehouseInUse.existing(settings.warehouse, "report", NO_WAREHOUSE_FIX)
    folder, lang = _out_dir(settings.out), settings.lang
    study, places = load_study(definition, geography)
    with connect(settings.warehouse, read_only=True) as conn:
        chosen = Marts(conn, lang, study).round(round_code).code
        gap = write_gap_report(conn, study, folder, chosen, lang)
        cards = write_scorecards(conn, study, folder, chosen, lang)
        fieldwork = write_fieldwork_workbook(conn, study, folder, lang=lang, study_round=chosen)
        data = write_data_workbooks(conn, study, folder, lang, include_personal=include_personal)
        documents = []
        if docx:
            from reports.study_report import write_study_report

            documents.append(write_study_report(conn, study, places, folder, round_code=chosen,
                                                lang=lang,
                                                workbooks=[gap, *cards, fieldwork, *data]))
    return ReportRun(where, chosen, folder, gap, cards, fieldwork, data, documents)


def fieldwork(settings: Settings, definition: Path, geography: Path,
              round_code: str | None = None) -> Path:
    """Write the supervisors' ``fieldwork_<day>.xlsx`` of ``round_code`` (default: the study
    definition's round) into the output folder; return its path."""
    from forms.build import load_study
    from reports.fieldwork import write_fieldwork_workbook
    from warehouse.db import connect

    WarehouseInUse.existing(settings.warehouse, "report", NO_WAREHOUSE_FIX)
    study, _places = load_study(definition, geography)
    with connect(settings.warehouse, read_only=True) as conn:
        return write_fieldwork_workbook(conn, study, _out_dir(settings.out), lang=settings.lang,
                                        study_round=round_code)


def _out_dir(out: Path) -> Path:
    """The output folder, created when missing; a file at that path is refused."""
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"--out {folder}: this is a file, not a folder; nothing was written. "
                          "Fix: give a folder (it is created when missing).")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"--out {folder}: cannot create the folder ({err.strerror}). Fix: give "
                          "a folder you can write to (or set AIMAK_OUT).") from err
    return folder
