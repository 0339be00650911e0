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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from xlsxwriter.utility import xl_rowcol_to_cell
from xlsxwriter.worksheet import Worksheet

from forms.definition import QUALITY_RULES, Definition
from reports.fieldwork_marts import Fieldwork, Row, read_fieldwork
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
# Columns are named by their text key; a column not named here holds counts. Text columns fit
# their content (the detail wraps at 70 characters), the others wrap their header.
TEXT_COLUMNS = {"oblast", "rayon", "municipality", "code", "village", "village_code",
                "village_status", "sex", "age_group", "activity", "group_type", "enumerator",
                "team", "supervisor", "municipalities", "instance_name", "instance_id",
                "submission_id", "rule", "detail", "rule_excludes", "left_out_of_scores",
                "reason_left_out", "reason", "other_flags"}
KINDS = {"completed_share": "pct", "flagged_share": "pct", "gps_share": "pct",
         "left_out_share": "pct", "median_minutes": "dec1", "measure": "dec2",
         "threshold": "dec2", "interview_date": "date", "first_day": "date", "last_day": "date"}
WIDTHS = {"detail": 70}
Key = str | dt.date  # a column's text key, or the day of a column of the day grid


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


@dataclass(frozen=True)
class _Table:
    """A table as written: its sheet, header row, column keys and number of rows."""

    ws: Worksheet
    top: int
    keys: list[Key]
    n: int

    def col(self, key: Key) -> int:
        return self.keys.index(key)

    def first(self, key: Key) -> str:
        """The column's first data cell, column fixed (``$J4``): a rule for every row."""
        return xl_rowcol_to_cell(self.top + 1, self.col(key), col_abs=True)


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

    def yes_no(self, value: bool | None) -> str | None:
        return None if value is None else self.t("yes" if value else "no")

    def reason(self, code: str | None) -> str | None:
        return self.t(f"reason.{code}") if code else None

    def detail(self, rule: str, measure: float | None, threshold: float | None) -> str:
        start, end = (when or self.t("open") for when in self.work.window)
        return self.t(f"detail.{rule}", value=measure, limit=threshold, start=start, end=end)

    def where(self, row: Row) -> dict[str, str]:
        """A mart row's municipality and village by name."""
        return {"municipality": self.places.municipality(row["municipality_code"]),
                "village": self.places.village(row.get("village_code"))}

    def column(self, key: Key) -> Column:
        if isinstance(key, dt.date):
            return _narrow(key.isoformat())
        if key in TEXT_COLUMNS:
            return Column(self.t(key), "text", WIDTHS.get(key))
        return _narrow(self.t(key), KINDS.get(key, "int"))

    # --- layout ------------------------------------------------------------------------------

    def sheet(self, name: str, lines: Sequence[tuple[str, Any]], keys: Sequence[Key],
              rows: list[dict[Key, Any]], *, freeze_columns: int = 0) -> _Table:
        """A sheet: ``lines`` of text (each with its format) from the top, a blank row, then
        the table of ``rows`` by column key. Written row by row (the workbook keeps memory
        flat), so a caller adds only rows below the table and conditional formats."""
        ws = self.book.sheet(self.t(f"sheet.{name}"))
        for row, (text, fmt) in enumerate(lines):
            ws.write_string(row, 0, text, fmt)
        top, columns = len(lines) + 1, [self.column(k) for k in keys]
        wrapped = max(_lines(c.header, c.width) for c in columns)
        if wrapped > 1:
            ws.set_row(top, LINE_HEIGHT * wrapped)
        self.book.table(ws, top, columns, ([row.get(k) for k in keys] for row in rows))
        if freeze_columns:
            ws.freeze_panes(top + 1, freeze_columns)
        ws.set_landscape()  # printed: one page wide, the header on every page
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(top)
        return _Table(ws, top, list(keys), len(rows))

    def noted(self, name: str, note: str, keys: Sequence[Key], rows: list[dict[Key, Any]],
              *, freeze_columns: int = 0) -> _Table:
        """A sheet with a one-line note over its table (the table's header on ``TABLE_TOP``)."""
        return self.sheet(name, [(note, self.book.note)], keys, rows,
                          freeze_columns=freeze_columns)

    def mark(self, table: _Table, first: Key, last: Key | None = None, **rule: Any) -> None:
        """A conditional format over the table's rows, columns ``first`` to ``last``; nothing
        on an empty table."""
        if table.n:
            table.ws.conditional_format(table.top + 1, table.col(first), table.top + table.n,
                                        table.col(last if last is not None else first), rule)

    def over_zero(self, table: _Table, key: Key, fmt: Any, last: Key | None = None) -> None:
        self.mark(table, key, last, type="cell", criteria=">", value=0, format=fmt)

    def share_bar(self, table: _Table, key: Key = "completed_share") -> None:
        self.mark(table, key, type="data_bar", bar_color=GREEN_BAR, data_bar_2010=False,
                  min_type="num", min_value=0, max_type="num", max_value=100)

    def below(self, table: _Table, key: Key, plan: Key) -> None:
        """Red where the cell is below the plan's cell in the same row."""
        self.mark(table, key, type="formula", format=self.red,
                  criteria=f"={table.first(key)}<{table.first(plan)}")

    def totals(self, table: _Table, rows: list[dict[Key, Any]], sums: Sequence[Key]) -> None:
        """A bold row under the table: the sums of ``sums``, the share of plan done, and the
        first and last day of the whole."""
        total: dict[Key, Any] = {k: sum(row.get(k) or 0 for row in rows) for k in sums}
        total[table.keys[0]] = self.t("total")
        if "completed_share" in table.keys:
            total["completed_share"] = _share(total["completed"], total["quota"])
        total["first_day"] = min((r["first_day"] for r in rows if r.get("first_day")), default=None)
        total["last_day"] = max((r["last_day"] for r in rows if r.get("last_day")), default=None)
        for j, (key, c) in enumerate(zip(table.keys, map(self.column, table.keys), strict=True)):
            kind = "int" if c.kind == "text" else c.kind
            self.book.cell(table.ws, table.top + table.n + 1, j, total.get(key), kind,
                           fmt=self.book.fmt(kind, bold=True))

    # --- sheets ------------------------------------------------------------------------------

    def summary(self) -> None:
        work, t = self.work, self.t
        rows = [{**s, **self.places.municipalities.get(s["municipality_code"], {}),
                 **self.where(s), "code": s["municipality_code"],
                 "completed_share": _share(s["completed"], s["quota"]),
                 "remaining": max(s["quota"] - s["completed"], 0), "left_out": s["excluded"],
                 "lsg_done": s["assessments_done"], "lsg_planned": s["assessments_planned"],
                 "fg_done": s["focus_groups_done"], "fg_planned": s["focus_groups_planned"]}
                for s in work.summary]
        pulled = (t("pulled", when=f"{work.pulled:%Y-%m-%d %H:%M}") if work.pulled
                  else t("pulled_unknown"))
        table = self.sheet("summary", [
            (t("title", study=self.study, round=work.round), self.book.title),
            (t("data_to", day=work.data_day.isoformat()) if work.data_day else t("no_data"), None),
            (pulled, None),
            (tr("generated", self.lang, when=f"{dt.datetime.now():%Y-%m-%d %H:%M}"), None),
            (t("terms"), self.book.note)],
            ["oblast", "rayon", "municipality", "code", "quota", "interviews", "refusals",
             "rejected", "completed", "completed_share", "remaining", "used", "left_out",
             "flagged", "enumerators", "days_worked", "first_day", "last_day", "lsg_done",
             "lsg_planned", "fg_done", "fg_planned"], rows, freeze_columns=3)
        self.totals(table, rows, ["quota", "interviews", "refusals", "rejected", "completed",
                                  "remaining", "used", "left_out", "flagged", "lsg_done",
                                  "lsg_planned", "fg_done", "fg_planned"])
        self.share_bar(table)
        self.over_zero(table, "remaining", self.red)
        self.below(table, "lsg_done", "lsg_planned")
        self.below(table, "fg_done", "fg_planned")

    def villages(self) -> None:
        rows = [{**v, **self.where(v), "completed_share": _share(v["completed"], v["quota"]),
                 "remaining": max(v["quota"] - v["completed"], 0),
                 "over": max(v["completed"] - v["quota"], 0),
                 "village_status": self.t(f"status.{_village_status(v['quota'], v['completed'])}")}
                for v in self.work.villages]
        table = self.noted("villages", self.t("note.villages"), [
            "municipality", "village", "village_code", "quota", "interviews", "refusals",
            "rejected", "completed", "completed_share", "remaining", "over", "used",
            "days_worked", "first_day", "last_day", "village_status"], rows, freeze_columns=3)
        self.share_bar(table)
        self.over_zero(table, "remaining", self.red)
        self.over_zero(table, "over", self.blue)

    def quota(self) -> None:
        sexes, ages = list(self.sexes), list(self.ages)
        cells = sorted(self.work.quota, key=lambda q: (
            self.places.order(q["municipality_code"]), q["village_code"] or "",
            _index(sexes, q["sex"]), _index(ages, q["age_group"])))
        rows = [{**q, **self.where(q), "quota_cell": q["quota"],
                 "sex": label(self.sexes.get(q["sex"]), self.lang) or q["sex"],
                 "age_group": label(self.ages.get(q["age_group"]), self.lang) or q["age_group"],
                 "completed_share": _share(q["completed"], q["quota"])} for q in cells]
        table = self.noted("quota", self.t("note.quota"), [
            "municipality", "village", "village_code", "sex", "age_group", "quota_cell",
            "completed", "used", "remaining", "over", "completed_share"], rows, freeze_columns=5)
        self.over_zero(table, "remaining", self.red)
        self.over_zero(table, "over", self.blue)
        self.share_bar(table)

    def days(self) -> None:
        work = self.work
        days = sorted({d for by_day in work.days.values() for d in by_day})
        rows = [{**v, **self.where(v), "completed_to_date": v["completed"],
                 "completed_share": _share(v["completed"], v["quota"]),
                 **work.days.get((v["municipality_code"], v["village_code"]), {})}
                for v in work.villages]
        note = self.t("note.days") + ("" if days else " " + self.t("no_data"))
        table = self.noted("days", note, ["municipality", "village", "village_code", "quota",
                                          *days, "completed_to_date", "completed_share"],
                           rows, freeze_columns=3)
        self.totals(table, rows, ["quota", "completed", *days, "completed_to_date"])
        if days:
            self.mark(table, days[0], days[-1], type="2_color_scale", min_color="#FFFFFF",
                      max_color=GREEN_BAR)
        self.share_bar(table)

    def sessions(self) -> None:
        groups = list(self.group_types)
        found = sorted(self.work.sessions, key=lambda s: (
            self.places.order(s["municipality_code"]), s["activity"] != "lsg_assessment",
            _index(groups, s["group_type"])))
        rows = [{**s, **self.where(s), "activity": self.t(f"activity.{s['activity']}"),
                 "group_type": label(self.group_types.get(s["group_type"]), self.lang)
                 or s["group_type"]} for s in found]
        table = self.noted("sessions", self.t("note.sessions"), [
            "municipality", "activity", "group_type", "planned", "submitted", "rejected", "done",
            "remaining", "first_day", "last_day"], rows)
        self.over_zero(table, "remaining", self.red)

    def enumerators(self) -> None:
        rules = [f"reason.{rule}" for rule in QUALITY_RULES]
        rows = [{**e, "enumerator": e["enumerator_code"], "team": e["team_code"],
                 "municipalities": ", ".join(map(self.places.municipality,
                                                 e["municipalities"] or [])),
                 **{key: self.work.rule_counts.get((e["enumerator_code"], rule), 0)
                    for key, rule in zip(rules, QUALITY_RULES, strict=True)}}
                for e in self.work.enumerators]
        table = self.noted("enumerators", self.t("note.enumerators"), [
            "enumerator", "team", "supervisor", "municipalities", "interviews", "completed",
            "used", "left_out", "flagged", "flagged_share", *rules, "median_minutes",
            "gps_share", "days_worked", "first_day", "last_day"], rows, freeze_columns=1)
        self.mark(table, "flagged_share", type="2_color_scale", min_type="num", min_value=0,
                  max_type="num", max_value=100, min_color="#FFFFFF", max_color="#E06666")
        self.over_zero(table, rules[0], self.red, last=rules[-1])
        self.mark(table, "enumerator", type="formula", format=self.alarm,
                  criteria=f"={table.first('reason.enumerator_outlier')}>0")

    def flagged(self) -> None:
        rows = [{**f, **self.where(f), "enumerator": f["enumerator_code"],
                 "submission_id": str(f["submission_id"]), "rule": self.reason(f["rule"]),
                 "detail": self.detail(f["rule"], f["measure"], f["threshold"]),
                 "rule_excludes": self.yes_no(f["excludes"]),
                 "left_out_of_scores": self.yes_no(f["left_out"]),
                 "reason_left_out": self.reason(f["excluded_reason"])}
                for f in self.work.flagged]
        self.noted("flagged", self.t("note.flagged") if rows else self.t("none.flagged"), [
            "interview_date", "municipality", "village", "enumerator", "instance_name",
            "instance_id", "submission_id", "rule", "detail", "measure", "threshold",
            "rule_excludes", "left_out_of_scores", "reason_left_out"], rows, freeze_columns=1)

    def reasons(self) -> None:
        found = sorted(self.work.reasons, key=lambda r: (
            self.places.order(r["municipality_code"]), _index(list(REASONS), r["reason"])))
        rows = [{**r, **self.where(r), "reason": self.reason(r["reason"]),
                 "rule_excludes": self.yes_no(r["excludes"]), "left_out": r["excluded"],
                 "applies_to": r["flagged"],
                 "left_out_share": _share(r["excluded"], r["interviews"])} for r in found]
        note = (self.t("note.reasons", left_out=self.t("left_out"),
                       applies_to=self.t("applies_to")) if rows else self.t("none.excluded"))
        self.noted("reasons", note, ["municipality", "reason", "rule_excludes", "left_out",
                                     "applies_to", "interviews", "left_out_share"], rows)

    def excluded(self) -> None:
        rows = [{**x, **self.where(x), "enumerator": x["enumerator_code"],
                 "submission_id": str(x["submission_id"]),
                 "reason": self.reason(x["excluded_reason"]),
                 "other_flags": "; ".join(map(self.reason, x["other_flags"] or []))}
                for x in self.work.excluded]
        self.noted("excluded", self.t("note.excluded") if rows else self.t("none.excluded"), [
            "interview_date", "municipality", "village", "enumerator", "instance_name",
            "instance_id", "submission_id", "reason", "other_flags"], rows, freeze_columns=1)


def _share(part: int, whole: int) -> float | None:
    """``part`` of ``whole`` on the 0–100 the workbooks show; none of nothing planned."""
    return 100 * part / whole if whole else None


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

