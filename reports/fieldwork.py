"""``fieldwork_<date>.xlsx``: what a supervisor opens every evening of fieldwork.

One round's progress against the sample plan by municipality (with the LSG assessment and focus
groups), by village, by sex × age group and by day; the enumerators with what the quality rules
found in their interviews; every flagged interview with the rule in words and the instance name
and id to find it on the server; the interviews left out of the scores and why. Everything comes
from the fieldwork and quality marts (``reports/fieldwork_marts.py``), in the chosen language;
behind-quota villages and flagged enumerators are coloured by conditional formats, and no cell is
a formula. A round without interviews shows its plan with zeros.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
from xlsxwriter.utility import xl_rowcol_to_cell
from xlsxwriter.worksheet import Worksheet

from forms.definition import QUALITY_RULES, Definition
from reports.fieldwork_marts import Fieldwork, read_fieldwork
from reports.fieldwork_texts import FIELDWORK
from reports.texts import label, tr
from reports.workbook import Book, Column

# why an interview is left out, in the order fct_interviews picks the first that applies
REASONS = ("not_approved", "no_consent", "outside_geography", "no_profile", *QUALITY_RULES)
RED, BLUE = "#F4CCCC", "#CFE2F3"
GREEN_BAR = "#63BE7B"
# the sheets in their order: each a method of _Sheets and a text "sheet.<name>"
SHEETS = ("summary", "villages", "quota", "days", "sessions", "enumerators", "flagged", "reasons",
          "excluded")
TABLE_TOP = 2  # a note on the first row, the table's header on the third
SUMMARY_TOP = 6  # the summary's five cover lines first
NUMBER_WIDTH = 11  # characters: "200,000" fits, a long header wraps
LINE_HEIGHT = 15  # points per line of a wrapped header


def write_fieldwork_workbook(conn: duckdb.DuckDBPyConnection, definition: Definition,
                             out_dir: Path, day: dt.date | None = None, lang: str = "ru", *,
                             study_round: str | None = None) -> Path:
    """Write ``fieldwork_<day>.xlsx`` into ``out_dir`` and return its path.

    Args:
        conn: a scored warehouse (``aimak score`` built its marts).
        definition: the study definition (title, round, sexes, age groups, group types).
        out_dir: the output folder (created when missing).
        day: the date in the file's name; by default the day the data runs to (the latest
            interview of the round), or today before the first interview.
        lang: ``ru``, ``ky`` or ``en``.
        study_round: the round to report; by default the definition's.

    Raises:
        WarehouseError: the warehouse was never scored.
        ConfigError: the language or the round is not one the warehouse holds.
    """
    work = read_fieldwork(conn, study_round or definition.study.round, lang)
    day = day or work.data_day or dt.date.today()
    with Book(Path(out_dir) / f"fieldwork_{day.isoformat()}.xlsx", constant_memory=True) as book:
        sheets = _Sheets(book, lang, definition, work)
        for name in SHEETS:
            getattr(sheets, name)()
    return book.path


class _Sheets:
    """The workbook's sheets, one method each, in one language."""

    def __init__(self, book: Book, lang: str, definition: Definition, work: Fieldwork):
        self.book, self.lang, self.work, self.places = book, lang, work, work.places
        self.sexes = {c.code: c.label for c in definition.sexes}
        self.ages = {g.code: g.label for g in definition.age_groups}
        group_types = definition.scales.get("fg_group_type")
        self.group_types = {c.code: c.label for c in group_types.choices} if group_types else {}
        self.study = label(definition.study.title, lang)
        self.red = book.workbook.add_format({"bg_color": RED})
        self.blue = book.workbook.add_format({"bg_color": BLUE})
        self.alarm = book.workbook.add_format({"bold": True, "font_color": "#C00000",
                                               "bg_color": RED})

    # --- words -------------------------------------------------------------------------------

    def t(self, key: str, **values: object) -> str:
        return tr(key, self.lang, FIELDWORK, **values)

    def col(self, key: str, kind: str = "int") -> Column:
        return _narrow(self.t(key), kind)

    def yes_no(self, value: bool | None) -> str | None:
        return None if value is None else self.t("yes" if value else "no")

    def reason(self, code: str | None) -> str | None:
        return self.t(f"reason.{code}") if code else None

    def detail(self, rule: str, measure: float | None, threshold: float | None) -> str:
        start, end = (when or self.t("open") for when in self.work.window)
        return self.t(f"detail.{rule}", value=measure, limit=threshold, start=start, end=end)

    # --- layout ------------------------------------------------------------------------------

    def sheet(self, key: str, lines: Sequence[tuple[str, Any]], columns: Sequence[Column],
              rows: list[Sequence[Any]], *, freeze_columns: int = 0) -> Worksheet:
        """A sheet: ``lines`` of text (each with its format) from the top, a blank row, then
        the table. Written row by row (the workbook keeps memory flat), so a caller adds only
        rows below the table and conditional formats."""
        ws = self.book.sheet(self.t(f"sheet.{key}"))
        for row, (text, fmt) in enumerate(lines):
            ws.write_string(row, 0, text, fmt)
        top = len(lines) + 1
        wrapped = max(_lines(c.header, c.width) for c in columns)
        if wrapped > 1:
            ws.set_row(top, LINE_HEIGHT * wrapped)
        self.book.table(ws, top, columns, rows)
        if freeze_columns:
            ws.freeze_panes(top + 1, freeze_columns)
        ws.set_landscape()  # printed: one page wide, the header on every page
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(top)
        return ws

    def noted(self, key: str, note: str, columns: Sequence[Column], rows: list[Sequence[Any]],
              *, freeze_columns: int = 0) -> Worksheet:
        """A sheet with a one-line note over its table (the table's header on ``TABLE_TOP``)."""
        return self.sheet(key, [(note, self.book.note)], columns, rows,
                          freeze_columns=freeze_columns)

    def mark(self, ws: Worksheet, top: int, n: int, first: int, last: int | None = None,
             **rule: Any) -> None:
        """A conditional format over the table's rows ``top + 1 .. top + n``, columns
        ``first .. last``; nothing on an empty table."""
        if n:
            ws.conditional_format(top + 1, first, top + n, first if last is None else last, rule)

    def over_zero(self, ws: Worksheet, top: int, n: int, col: int, fmt: Any) -> None:
        self.mark(ws, top, n, col, type="cell", criteria=">", value=0, format=fmt)

    def share_bar(self, ws: Worksheet, top: int, n: int, col: int) -> None:
        self.mark(ws, top, n, col, type="data_bar", bar_color=GREEN_BAR, data_bar_2010=False,
                  min_type="num", min_value=0, max_type="num", max_value=100)

    def below(self, ws: Worksheet, top: int, n: int, col: int, plan_col: int) -> None:
        """Red where the cell is below the one at ``plan_col`` of the same row."""
        self.mark(ws, top, n, col, type="formula", format=self.red,
                  criteria="=" + xl_rowcol_to_cell(top + 1, col, col_abs=True) + "<"
                  + xl_rowcol_to_cell(top + 1, plan_col, col_abs=True))

    def totals(self, ws: Worksheet, row: int, columns: Sequence[Column],
               values: Sequence[Any]) -> None:
        for j, (c, value) in enumerate(zip(columns, values, strict=True)):
            kind = "int" if c.kind == "text" else c.kind
            self.book.cell(ws, row, j, value, kind, fmt=self.book.fmt(kind, bold=True))

    # --- sheets ------------------------------------------------------------------------------

    def summary(self) -> None:
        work, t = self.work, self.t
        columns = [Column(tr("oblast", self.lang)), Column(tr("rayon", self.lang)),
                   Column(tr("municipality", self.lang)), Column(t("code")),
                   *(self.col(k) for k in ("quota", "interviews", "refusals", "rejected",
                                           "completed")),
                   self.col("completed_share", "pct"),
                   *(self.col(k) for k in ("remaining", "used", "left_out", "flagged",
                                           "enumerators", "days_worked")),
                   self.col("first_day", "date"), self.col("last_day", "date"),
                   *(self.col(k) for k in ("lsg_done", "lsg_planned", "fg_done", "fg_planned"))]
        rows = []
        for s in work.summary:
            place = self.places.municipalities.get(s["municipality_code"], {})
            rows.append([place.get("oblast"), place.get("rayon"),
                         self.places.municipality(s["municipality_code"]), s["municipality_code"],
                         s["quota"], s["interviews"], s["refusals"], s["rejected"], s["completed"],
                         _pct(s["completed_share_of_quota"]), max(s["quota"] - s["completed"], 0),
                         s["used"], s["excluded"], s["flagged"], s["enumerators"],
                         s["days_worked"], s["first_day"], s["last_day"],
                         s["assessments_done"], s["assessments_planned"],
                         s["focus_groups_done"], s["focus_groups_planned"]])
        top = SUMMARY_TOP
        pulled = (t("pulled", when=f"{work.pulled:%Y-%m-%d %H:%M}") if work.pulled
                  else t("pulled_unknown"))
        ws = self.sheet("summary", [
            (t("title", study=self.study, round=work.round), self.book.title),
            (t("data_to", day=work.data_day.isoformat()) if work.data_day else t("no_data"), None),
            (pulled, None),
            (tr("generated", self.lang, when=f"{dt.datetime.now():%Y-%m-%d %H:%M}"), None),
            (t("terms"), self.book.note)], columns, rows, freeze_columns=3)
        n = len(rows)
        sums = [sum(r[j] for r in rows) for j in range(4, 9)]
        quota, completed = sums[0], sums[4]
        self.totals(ws, top + n + 1, columns, [
            t("total"), None, None, None, *sums, _pct(completed / quota if quota else None),
            sum(r[10] for r in rows), *(sum(r[j] for r in rows) for j in range(11, 14)),
            None, None, min((r[16] for r in rows if r[16]), default=None),
            max((r[17] for r in rows if r[17]), default=None),
            *(sum(r[j] for r in rows) for j in range(18, 22))])
        self.share_bar(ws, top, n, 9)
        self.over_zero(ws, top, n, 10, self.red)
        self.below(ws, top, n, 18, 19)
        self.below(ws, top, n, 20, 21)

    def villages(self) -> None:
        columns = [Column(tr("municipality", self.lang)), Column(tr("village", self.lang)),
                   Column(self.t("village_code")),
                   *(self.col(k) for k in ("quota", "interviews", "refusals", "rejected",
                                           "completed")),
                   self.col("completed_share", "pct"),
                   *(self.col(k) for k in ("remaining", "over", "used", "days_worked")),
                   self.col("first_day", "date"), self.col("last_day", "date"),
                   Column(self.t("village_status"))]
        rows = [[self.places.municipality(v["municipality_code"]),
                 self.places.village(v["village_code"]), v["village_code"], v["quota"],
                 v["interviews"], v["refusals"], v["rejected"], v["completed"],
                 _pct(v["completed"] / v["quota"] if v["quota"] else None),
                 max(v["quota"] - v["completed"], 0), max(v["completed"] - v["quota"], 0),
                 v["used"], v["days_worked"], v["first_day"], v["last_day"],
                 self.t(f"status.{_village_status(v['quota'], v['completed'])}")]
                for v in self.work.villages]
        ws = self.noted("villages", self.t("note.villages"), columns, rows, freeze_columns=3)
        n = len(rows)
        self.share_bar(ws, TABLE_TOP, n, 8)
        self.over_zero(ws, TABLE_TOP, n, 9, self.red)
        self.over_zero(ws, TABLE_TOP, n, 10, self.blue)

    def quota(self) -> None:
        sexes, ages = list(self.sexes), list(self.ages)
        cells = sorted(self.work.quota, key=lambda q: (
            self.places.order(q["municipality_code"]), q["village_code"] or "",
            _index(sexes, q["sex"]), _index(ages, q["age_group"])))
        columns = [Column(tr("municipality", self.lang)), Column(tr("village", self.lang)),
                   Column(self.t("village_code")), Column(self.t("sex")),
                   Column(self.t("age_group")),
                   *(self.col(k) for k in ("quota_cell", "completed", "used", "remaining", "over")),
                   self.col("completed_share", "pct")]
        rows = [[self.places.municipality(q["municipality_code"]),
                 self.places.village(q["village_code"]), q["village_code"],
                 label(self.sexes.get(q["sex"]), self.lang) or q["sex"],
                 label(self.ages.get(q["age_group"]), self.lang) or q["age_group"],
                 q["quota"], q["completed"], q["used"], q["remaining"], q["over"],
                 _pct(q["completed_share_of_quota"])] for q in cells]
        ws = self.noted("quota", self.t("note.quota"), columns, rows, freeze_columns=5)
        self.over_zero(ws, TABLE_TOP, len(rows), 8, self.red)
        self.over_zero(ws, TABLE_TOP, len(rows), 9, self.blue)
        self.share_bar(ws, TABLE_TOP, len(rows), 10)

    def days(self) -> None:
        work = self.work
        days = sorted({d for by_day in work.days.values() for d in by_day})
        columns = [Column(tr("municipality", self.lang)), Column(tr("village", self.lang)),
                   Column(self.t("village_code")), self.col("quota"),
                   *(_narrow(d.isoformat()) for d in days),
                   self.col("completed_to_date"), self.col("completed_share", "pct")]
        rows = []
        for v in work.villages:
            by_day = work.days.get((v["municipality_code"], v["village_code"]), {})
            rows.append([self.places.municipality(v["municipality_code"]),
                         self.places.village(v["village_code"]), v["village_code"], v["quota"],
                         *(by_day.get(d) for d in days), v["completed"],
                         _pct(v["completed"] / v["quota"] if v["quota"] else None)])
        note = self.t("note.days") + ("" if days else " " + self.t("no_data"))
        ws = self.noted("days", note, columns, rows, freeze_columns=3)
        n, last = len(rows), 4 + len(days)
        quota = sum(r[3] for r in rows)
        completed = sum(r[last] for r in rows)
        self.totals(ws, TABLE_TOP + n + 1, columns, [
            self.t("total"), None, None, quota,
            *(sum(by_day.get(d, 0) for by_day in work.days.values()) for d in days),
            completed, _pct(completed / quota if quota else None)])
        if days:
            self.mark(ws, TABLE_TOP, n, 4, last - 1, type="2_color_scale",
                      min_color="#FFFFFF", max_color=GREEN_BAR)
        self.share_bar(ws, TABLE_TOP, n, last + 1)

    def sessions(self) -> None:
        groups = list(self.group_types)
        found = sorted(self.work.sessions, key=lambda s: (
            self.places.order(s["municipality_code"]), s["activity"] != "lsg_assessment",
            _index(groups, s["group_type"])))
        columns = [Column(tr("municipality", self.lang)), Column(self.t("activity")),
                   Column(self.t("group_type")),
                   *(self.col(k) for k in ("planned", "submitted", "rejected", "done",
                                           "remaining")),
                   self.col("first_day", "date"), self.col("last_day", "date")]
        rows = [[self.places.municipality(s["municipality_code"]),
                 self.t(f"activity.{s['activity']}"),
                 label(self.group_types.get(s["group_type"]), self.lang) or s["group_type"],
                 s["planned"], s["submitted"], s["rejected"], s["done"], s["remaining"],
                 s["first_day"], s["last_day"]] for s in found]
        ws = self.noted("sessions", self.t("note.sessions"), columns, rows)
        self.over_zero(ws, TABLE_TOP, len(rows), 7, self.red)

    def enumerators(self) -> None:
        counts = self.work.rule_counts
        columns = [Column(self.t("enumerator")), Column(self.t("team")),
                   Column(self.t("supervisor")), Column(self.t("municipalities")),
                   *(self.col(k) for k in ("interviews", "completed", "used", "left_out",
                                           "flagged")),
                   self.col("flagged_share", "pct"),
                   *(_narrow(self.t(f"reason.{rule}")) for rule in QUALITY_RULES),
                   self.col("median_minutes", "dec1"), self.col("gps_share", "pct"),
                   self.col("days_worked"), self.col("first_day", "date"),
                   self.col("last_day", "date")]
        rows = [[e["enumerator_code"], e["team_code"], e["supervisor"],
                 ", ".join(self.places.municipality(m) for m in e["municipalities"] or []),
                 e["interviews"], e["completed"], e["used"], e["left_out"], e["flagged"],
                 e["flagged_share"],
                 *(counts.get((e["enumerator_code"], rule), 0) for rule in QUALITY_RULES),
                 e["median_minutes"], e["gps_share"], e["days_worked"], e["first_day"],
                 e["last_day"]] for e in self.work.enumerators]
        ws = self.noted("enumerators", self.t("note.enumerators"), columns, rows,
                        freeze_columns=1)
        n, first_rule = len(rows), 10
        self.mark(ws, TABLE_TOP, n, 9, type="2_color_scale", min_type="num", min_value=0,
                  max_type="num", max_value=100, min_color="#FFFFFF", max_color="#E06666")
        self.mark(ws, TABLE_TOP, n, first_rule, first_rule + len(QUALITY_RULES) - 1,
                  type="cell", criteria=">", value=0, format=self.red)
        outlier = first_rule + QUALITY_RULES.index("enumerator_outlier")
        self.mark(ws, TABLE_TOP, n, 0, type="formula", format=self.alarm,
                  criteria="=" + xl_rowcol_to_cell(TABLE_TOP + 1, outlier, col_abs=True) + ">0")

    def flagged(self) -> None:
        columns = [self.col("date", "date"), Column(tr("municipality", self.lang)),
                   Column(tr("village", self.lang)), Column(self.t("enumerator")),
                   Column(self.t("instance_name")), Column(self.t("instance_id")),
                   self.col("submission_id", "text"), Column(self.t("rule")),
                   Column(self.t("detail"), width=70), self.col("measure", "dec2"),
                   self.col("threshold", "dec2"), Column(self.t("rule_excludes")),
                   Column(self.t("left_out_of_scores")), Column(self.t("reason_left_out"))]
        rows = [[f["interview_date"], self.places.municipality(f["municipality_code"]),
                 self.places.village(f["village_code"]), f["enumerator_code"],
                 f["instance_name"], f["instance_id"], str(f["submission_id"]),
                 self.t(f"reason.{f['rule']}"),
                 self.detail(f["rule"], f["measure"], f["threshold"]),
                 f["measure"], f["threshold"], self.yes_no(f["excludes"]),
                 self.yes_no(f["left_out"]), self.reason(f["excluded_reason"])]
                for f in self.work.flagged]
        note = self.t("note.flagged") if rows else self.t("none.flagged")
        self.noted("flagged", note, columns, rows, freeze_columns=1)

    def reasons(self) -> None:
        found = sorted(self.work.reasons, key=lambda r: (
            self.places.order(r["municipality_code"]), _index(list(REASONS), r["reason"])))
        columns = [Column(tr("municipality", self.lang)), Column(self.t("reason")),
                   Column(self.t("rule_excludes")),
                   *(self.col(k) for k in ("left_out", "applies_to", "interviews")),
                   self.col("left_out_share", "pct")]
        rows = [[self.places.municipality(r["municipality_code"]), self.reason(r["reason"]),
                 self.yes_no(r["excludes"]), r["excluded"], r["flagged"], r["interviews"],
                 _pct(r["excluded"] / r["interviews"] if r["interviews"] else None)]
                for r in found]
        note = (self.t("note.reasons", left_out=self.t("left_out"),
                       applies_to=self.t("applies_to")) if rows else self.t("none.excluded"))
        self.noted("reasons", note, columns, rows)

    def excluded(self) -> None:
        columns = [self.col("date", "date"), Column(tr("municipality", self.lang)),
                   Column(tr("village", self.lang)), Column(self.t("enumerator")),
                   Column(self.t("instance_name")), Column(self.t("instance_id")),
                   self.col("submission_id", "text"), Column(self.t("reason")),
                   Column(self.t("other_flags"))]
        rows = [[x["interview_date"], self.places.municipality(x["municipality_code"]),
                 self.places.village(x["village_code"]), x["enumerator_code"],
                 x["instance_name"], x["instance_id"], str(x["submission_id"]),
                 self.reason(x["excluded_reason"]),
                 "; ".join(self.t(f"reason.{f}") for f in x["other_flags"] or [])]
                for x in self.work.excluded]
        note = self.t("note.excluded") if rows else self.t("none.excluded")
        self.noted("excluded", note, columns, rows, freeze_columns=1)


def _pct(share: float | None) -> float | None:
    """A 0–1 share of the marts as the 0–100 the workbooks show."""
    return None if share is None else 100 * share


def _narrow(header: str, kind: str = "int") -> Column:
    """A column of numbers (or dates) as narrow as its longest header word allows, so that
    the header wraps instead of widening the table."""
    return Column(header, kind, max(NUMBER_WIDTH, max(map(len, header.split())) + 2))


def _lines(header: str, width: float | None) -> int:
    """Lines a header takes when wrapped at word breaks in a column ``width`` wide."""
    if width is None:
        return 1  # the column is fitted to its header
    lines, used = 1, 0
    for word in header.split():
        if used and used + 1 + len(word) > width - 1:
            lines, used = lines + 1, len(word)
        else:
            used += (1 if used else 0) + len(word)
    return lines


def _index(order: list[str], code: str | None) -> int:
    """Where ``code`` stands in the definition's order; codes it does not know come last."""
    return order.index(code) if code in order else len(order)


def _village_status(quota: int, completed: int) -> str:
    if quota == 0 and completed > 0:
        return "unplanned"
    if completed == 0 and quota > 0:
        return "not_started"
    if completed < quota:
        return "in_progress"
    return "over" if completed > quota else "met"

