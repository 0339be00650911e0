"""``fieldwork_plan.xlsx``: the fieldwork schedule the programme agrees before fieldwork starts,
written from the study definition alone (no data exists yet).

Sheets: a summary per municipality (with the window, the days off and whether the plan fits),
villages with their interviews and quotas by sex × age group (totals add up to the sample plan),
the day-by-day schedule of every enumerator, the same per team and day, the LSG assessments and
focus groups, and a sheet to sign off. Every label is in the chosen language; rows that fall past
the window are highlighted. The schedule itself is :func:`forms.schedule.schedule_fieldwork`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from aimak.errors import ConfigError
from forms.calendar import public_holidays
from forms.definition import Definition, Geography
from forms.schedule import FieldworkSchedule, Session
from reports.plan_texts import PLAN, WEEKDAYS
from reports.texts import LANGUAGES, label, tr
from reports.workbook import Book, Column, print_wide

FILE_NAME = "fieldwork_plan.xlsx"
PAST_WINDOW = "#F8CBAD"  # the fill of a row past the window
SIGN_OFF_WIDTHS = (32, 24, 24, 24, 24)  # role, name, position, signature, date
SPAN_CHARACTERS = sum(SIGN_OFF_WIDTHS) - 10  # about what a wrapped line across them holds


def write_fieldwork_plan(schedule: FieldworkSchedule, definition: Definition,
                         geography: Geography, out_dir: Path, lang: str = "ru") -> Path:
    """Write ``out_dir/fieldwork_plan.xlsx`` in ``lang`` and return its path."""
    if lang not in LANGUAGES:
        raise ConfigError(f"the language {lang!r} is not one of {', '.join(LANGUAGES)}: "
                          "give --lang ru, ky or en")
    plan = _Plan(schedule, definition, geography, lang)
    with Book(Path(out_dir) / FILE_NAME) as book:
        plan.summary(book)
        plan.villages(book)
        plan.schedule_sheet(book)
        plan.team_days(book)
        plan.sessions(book)
        plan.sign_off(book)
    return book.path


class _Plan:
    """The names and texts of one plan in one language, and a method per sheet."""

    def __init__(self, schedule: FieldworkSchedule, definition: Definition, geography: Geography,
                 lang: str):
        self.s, self.d, self.g, self.lang = schedule, definition, geography, lang
        self.villages_by_code = geography.villages
        self.supervisors = {t.code: t.supervisor for t in definition.sample_plan.teams}
        scale = definition.scales.get("fg_group_type")
        self.group_names = {c.code: label(c.label, lang) for c in scale.choices} if scale else {}

    # --- words -------------------------------------------------------------------------------

    def t(self, key: str, **values: object) -> str:
        return tr(key, self.lang, PLAN, **values)

    def yes_no(self, value: bool) -> str:
        return self.t("yes" if value else "no")

    def weekday(self, day: dt.date) -> str:
        return WEEKDAYS[day.weekday()].get(self.lang)

    def municipality(self, code: str) -> str:
        return label(self.g.municipalities[code].name, self.lang)

    def rayon(self, code: str) -> str:
        return label(self.g.rayons[self.g.municipalities[code].rayon].name, self.lang)

    def oblast(self, code: str) -> str:
        rayon = self.g.rayons[self.g.municipalities[code].rayon]
        return label(self.g.oblasts[rayon.oblast].name, self.lang)

    def village(self, code: str) -> str:
        return label(self.villages_by_code[code].name, self.lang)

    def session_name(self, session: Session) -> str:
        name = self.t(f"kind.{session.kind}")
        group = self.group_names.get(session.group_type or "", session.group_type)
        return f"{name}: {group}" if group else name

    # --- the lines above a table -------------------------------------------------------------

    def heading(self, book: Book, ws: Worksheet, title: str, span: int = 0) -> int:
        """The title, the study, the window and whether the plan fits; returns the next row.
        With ``span`` each line is wrapped within the first ``span`` + 1 columns (a printed page)
        instead of running on to the right."""
        s, study = self.s, self.d.study
        ws.write_string(0, 0, title, book.title)
        lines = [self.t("study", title=label(study.title, self.lang), round=study.round),
                 self.t("window", first=s.window[0].isoformat(), last=s.window[-1].isoformat(),
                        days=len(s.window))]
        lines.append(self.t("fits") if s.fits else self.t("overflow"))
        if not s.fits:
            lines += [self.t("overflow_team", team=o.team, days=len(o.days),
                             last=o.days[-1].isoformat(), interviews=o.interviews,
                             sessions=o.sessions) for o in s.overflow]
            lines.append(self.t("overflow_fix"))
        wrap = {"text_wrap": True} if span else {}
        warn = book.fmt("text", bold=True, font_color="#C00000", **wrap)
        note = book.fmt("text", italic=True, font_color="#595959", **wrap) if span else book.note
        for row, line in enumerate(lines, start=1):
            fmt = warn if not s.fits and row >= 3 else note
            if span:
                ws.merge_range(row, 0, row, span, line, fmt)
                ws.set_row(row, 15 * math.ceil(len(line) / SPAN_CHARACTERS))
            else:
                ws.write_string(row, 0, line, fmt)
        return len(lines) + 2

    def table(self, book: Book, ws: Worksheet, top: int, columns: Sequence[Column],
              rows: list[Sequence[Any]], window_column: int | None = None) -> int:
        """A table whose rows past the window (``window_column`` says no) are highlighted,
        printed landscape on A4, as wide as a page, its header repeated on every page."""
        end = book.table(ws, top, columns, rows)
        print_wide(ws, top)
        if window_column is not None and rows:
            cell = f"${xl_col_to_name(window_column)}{top + 2}"
            ws.conditional_format(top + 1, 0, end - 1, len(columns) - 1, {
                "type": "formula", "criteria": f'={cell}="{self.yes_no(False)}"',
                "format": book.fmt("text", bg_color=PAST_WINDOW)})
        return end

    def total_row(self, book: Book, ws: Worksheet, row: int, values: Sequence[Any]) -> None:
        bold = book.fmt("int", bold=True, top=1)
        for col, value in enumerate(values):
            if isinstance(value, int):
                ws.write_number(row, col, value, bold)
            elif value:
                ws.write_string(row, col, str(value), book.fmt("text", bold=True, top=1))

    # --- sheets ------------------------------------------------------------------------------

    def summary(self, book: Book) -> None:
        s, settings = self.s, self.d.sample_plan
        ws = book.sheet(self.t("sheet.summary"))
        top = self.heading(book, ws, self.t("title"))
        ws.write_string(top - 1, 0, self.t("how_scheduled"), book.note)
        holidays = public_holidays(self.lang)
        off = [f"{d.isoformat()} ({holidays.get(d) or self.t('day_off')})" for d in s.days_off]
        notes = [self.t("basis", moe=f"{100 * settings.margin_of_error:g}",
                        conf=f"{100 * settings.confidence_level:g}",
                        deff=f"{settings.design_effect:g}", low=settings.min_interviews,
                        high=settings.max_interviews, n=s.plan.interviews),
                 self.t("days_off", days="; ".join(off)) if off else self.t("no_days_off")]
        for i, note in enumerate(notes):
            ws.write_string(top + i, 0, note, book.note)
        top += len(notes) + 1
        sessions = defaultdict(list)
        for session in s.sessions:
            sessions[session.municipality].append(session)
        rows = []
        for stay in s.stays:
            code, mplan = stay.municipality, s.plan.municipalities[stay.municipality]
            assessment = next(x.day for x in sessions[code] if x.kind == "lsg_assessment")
            groups = sum(1 for x in sessions[code] if x.kind == "focus_group")
            rows.append((self.oblast(code), self.rayon(code), code, self.municipality(code),
                         stay.team, self.supervisors[stay.team], len(mplan.villages),
                         mplan.adults, mplan.interviews, round(mplan.margin_of_error, 1),
                         len(mplan.enumerators), stay.interviews_per_enumerator_day,
                         stay.days[0], stay.days[-1], len(stay.days), assessment, groups,
                         self.yes_no(all(s.in_window(d) for d in stay.days))))
        columns = [Column(tr("oblast", self.lang)), Column(tr("rayon", self.lang)),
                   Column(tr("municipality_code", self.lang)), Column(tr("municipality", self.lang)),
                   Column(self.t("team")), Column(self.t("supervisor")),
                   Column(self.t("village_count"), "int"), Column(self.t("adults"), "int"),
                   Column(self.t("interviews"), "int"), Column(self.t("margin"), "dec1"),
                   Column(self.t("enumerators"), "int"), Column(self.t("per_day"), "int"),
                   Column(self.t("first_day"), "date"), Column(self.t("last_day"), "date"),
                   Column(self.t("days"), "int"), Column(self.t("lsg_assessment_day"), "date"),
                   Column(self.t("focus_groups"), "int"), Column(self.t("in_window"))]
        end = self.table(book, ws, top, columns, rows, window_column=len(columns) - 1)
        self.total_row(book, ws, end, [self.t("total"), "", "", "", "", "",
                                       sum(r[6] for r in rows), sum(r[7] for r in rows),
                                       sum(r[8] for r in rows), "", "", "", "", "", "", "",
                                       sum(r[16] for r in rows), ""])

    def villages(self, book: Book) -> None:
        s = self.s
        cells = [(sex, group) for sex in self.d.sexes for group in self.d.age_groups]
        days = defaultdict(list)
        for a in s.assignments:
            days[a.village].append(a.day)
        rows = []
        for stay in s.stays:
            for vq in s.plan.municipalities[stay.municipality].villages:
                when = days.get(vq.village) or [None]
                rows.append((self.rayon(stay.municipality), stay.municipality,
                             self.municipality(stay.municipality), vq.village,
                             self.village(vq.village), stay.team, vq.adults, vq.interviews,
                             *(vq.quotas.get((sex.code, group.code), 0) for sex, group in cells),
                             min(when, default=None), max(when, default=None)))
        columns = [Column(tr("rayon", self.lang)), Column(tr("municipality_code", self.lang)),
                   Column(tr("municipality", self.lang)), Column(self.t("village_code")),
                   Column(tr("village", self.lang)), Column(self.t("team")),
                   Column(self.t("adults"), "int"), Column(self.t("interviews"), "int"),
                   *(Column(f"{label(sex.label, self.lang)}, {label(group.label, self.lang)}",
                            "int", width=12) for sex, group in cells),
                   Column(self.t("first_day"), "date"), Column(self.t("last_day"), "date")]
        ws = book.sheet(self.t("sheet.villages"))
        end = self.table(book, ws, 0, columns, rows)
        ws.set_row(0, 45)  # the sex × age group headers wrap in their narrow columns
        counted = range(6, 8 + len(cells))
        self.total_row(book, ws, end, [self.t("total"), *[""] * 5,
                                       *(sum(r[j] for r in rows) for j in counted), "", ""])

    def schedule_sheet(self, book: Book) -> None:
        s = self.s
        rows = [(a.day, self.weekday(a.day), a.team, a.enumerator, self.rayon(a.municipality),
                 self.municipality(a.municipality), a.village, self.village(a.village),
                 a.interviews, self.yes_no(s.in_window(a.day)))
                for a in sorted(s.assignments, key=lambda a: (a.day, a.team, a.enumerator))]
        columns = [Column(self.t("date"), "date"), Column(self.t("weekday")),
                   Column(self.t("team")), Column(self.t("enumerator")),
                   Column(tr("rayon", self.lang)), Column(tr("municipality", self.lang)),
                   Column(self.t("village_code")), Column(tr("village", self.lang)),
                   Column(self.t("interviews_planned"), "int"), Column(self.t("in_window"))]
        ws = book.sheet(self.t("sheet.schedule"))
        end = self.table(book, ws, 0, columns, rows, window_column=len(columns) - 1)
        self.total_row(book, ws, end, [self.t("total"), *[""] * 7, sum(r[8] for r in rows), ""])

    def team_days(self, book: Book) -> None:
        s = self.s
        work: dict[tuple[dt.date, str], dict[str, Any]] = {}
        for stay in s.stays:
            for day in stay.days:
                work[(day, stay.team)] = {"m": stay.municipality, "v": {}, "e": set(), "s": []}
        for a in s.assignments:
            entry = work[(a.day, a.team)]
            entry["v"][a.village] = entry["v"].get(a.village, 0) + a.interviews
            entry["e"].add(a.enumerator)
        for x in sorted(s.sessions, key=lambda x: x.start):
            work[(x.day, x.team)]["s"].append(f"{x.start:%H:%M} {self.session_name(x)}")
        rows = [(day, self.weekday(day), team, self.supervisors[team], self.rayon(e["m"]),
                 self.municipality(e["m"]),
                 ", ".join(f"{self.village(v)} ({n})" for v, n in e["v"].items()),
                 len(e["e"]), sum(e["v"].values()), "; ".join(e["s"]),
                 self.yes_no(s.in_window(day)))
                for (day, team), e in sorted(work.items())]
        columns = [Column(self.t("date"), "date"), Column(self.t("weekday")),
                   Column(self.t("team")), Column(self.t("supervisor")),
                   Column(tr("rayon", self.lang)), Column(tr("municipality", self.lang)),
                   Column(self.t("villages")), Column(self.t("enumerators"), "int"),
                   Column(self.t("interviews_planned"), "int"), Column(self.t("sessions")),
                   Column(self.t("in_window"))]
        ws = book.sheet(self.t("sheet.team_days"))
        self.table(book, ws, 0, columns, rows, window_column=len(columns) - 1)

    def sessions(self, book: Book) -> None:
        s = self.s
        rows = [(x.day, self.weekday(x.day), x.start, x.end, x.team, self.rayon(x.municipality),
                 self.municipality(x.municipality), self.t(f"kind.{x.kind}"),
                 self.group_names.get(x.group_type or "", x.group_type or ""), x.person,
                 self.yes_no(s.in_window(x.day)))
                for x in sorted(s.sessions, key=lambda x: (x.day, x.start, x.team))]
        columns = [Column(self.t("date"), "date"), Column(self.t("weekday")),
                   Column(self.t("start"), "time"), Column(self.t("end"), "time"),
                   Column(self.t("team")), Column(tr("rayon", self.lang)),
                   Column(tr("municipality", self.lang)), Column(self.t("session")),
                   Column(self.t("group_type")), Column(self.t("held_by")),
                   Column(self.t("in_window"))]
        ws = book.sheet(self.t("sheet.sessions"))
        self.table(book, ws, 0, columns, rows, window_column=len(columns) - 1)

    def sign_off(self, book: Book) -> None:
        s = self.s
        ws = book.sheet(self.t("sheet.sign_off"))
        top = self.heading(book, ws, self.t("sign_off_title"), span=len(SIGN_OFF_WIDTHS) - 1)
        scope = self.t("sign_off_scope", municipalities=len(s.plan.municipalities),
                       villages=sum(len(m.villages) for m in s.plan.municipalities.values()),
                       interviews=s.plan.interviews,
                       assessments=sum(1 for x in s.sessions if x.kind == "lsg_assessment"),
                       groups=sum(1 for x in s.sessions if x.kind == "focus_group"),
                       teams=len({stay.team for stay in s.stays}))
        ws.write_string(top - 1, 0, scope, book.note)
        headers = [self.t(k) for k in ("role", "name", "position", "signature", "date")]
        box = book.fmt("text", border=1)
        for col, header in enumerate(headers):
            ws.write_string(top + 1, col, header, book.header)
        for row, role in enumerate(("prepared_by", "agreed_by"), start=top + 2):
            ws.set_row(row, 36)
            ws.write_string(row, 0, self.t(role), box)
            for col in range(1, len(headers)):
                ws.write_blank(row, col, None, box)  # filled in by hand
        comments = top + 5
        ws.write_string(comments, 0, self.t("comments"), book.header)
        ws.merge_range(comments + 1, 0, comments + 6, len(headers) - 1, "", box)
        ws.write_string(comments + 8, 0, tr("generated", self.lang,
                                            when=dt.date.today().isoformat()), book.note)
        for col, width in enumerate(SIGN_OFF_WIDTHS):
            ws.set_column(col, col, width)
        ws.set_paper(9)
        ws.set_landscape()
        ws.fit_to_pages(1, 1)
