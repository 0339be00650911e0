"""``gap_report_<round>.xlsx``: the gap between satisfaction and effectiveness, for the programme.

Sheets, in order: a cover (study, round, fieldwork dates, when the data was pulled, submissions
used and left out and why, the sheets that follow), the method in plain words with the study's
settings, the summary matrix (municipality × service gap on a diverging colour scale, status
icons, established gaps in bold, then the bases and the municipalities' totals), one sheet per
municipality (S with its interval and base, importance, E with its coverage, gap, status,
quadrant, note and drafted recommendation, with a bar chart of S beside E and the quadrant
chart), then the annex sheets of :mod:`reports.gap_annex` (focus groups, round changes when there
is an earlier round, data quality, indicators) and the data dictionary of every column shown.

Every value comes from :class:`reports.marts.Marts`; suppressed values show ``*``, unreliable ones
are in brackets, each with its footnote; nothing is a formula.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import duckdb
from xlsxwriter.worksheet import Worksheet

from forms.definition import Definition
from reports import gap_annex
from reports.gap_charts import Point, bar_chart, quadrant_chart, write_chart_data
from reports.gap_columns import FIELDS, placeholders
from reports.gap_summary import write_summary
from reports.gap_texts import FORMS, SHEETS, WORDS
from reports.mart_rows import Cell, MunicipalityScore, Place, Round
from reports.marts import Marts
from reports.method_notes import explain_method, method_settings
from reports.recommendations import Recommendation, recommendations_for
from reports.texts import tr
from reports.workbook import Book, Column, Share, print_wide

SYMBOLS = {"perception_exceeds": "▲", "performance_underrecognised": "▼", "aligned": "●",
           "insufficient_data": "—"}


def safe_name(code: str) -> str:
    """A code as part of a file name: letters, digits, '-' and '_' only."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", code).strip("_") or "round"


def write_gap_report(conn: duckdb.DuckDBPyConnection, definition: Definition, out_dir: Path,
                     round_code: str | None = None, lang: str = "ru",
                     now: dt.datetime | None = None) -> Path:
    """Write ``gap_report_<round>.xlsx`` into ``out_dir`` for ``round_code`` (None: the latest
    scored round) in ``lang`` (ru, ky, en) and return its path. ``now`` is the time printed as
    when the workbook was prepared (default: now). Raises :class:`reports.marts.ReportError`
    when the warehouse holds no scores or not that round."""
    marts = Marts(conn, lang, definition)
    rnd = marts.round(round_code)
    path = Path(out_dir) / f"gap_report_{safe_name(rnd.code)}.xlsx"
    with Book(path) as book:
        GapReport(book, marts, definition, rnd, now or dt.datetime.now()).write()
    return path


class GapReport:
    """Writes the gap report's sheets into ``book`` and remembers which columns each shows."""

    def __init__(self, book: Book, marts: Marts, definition: Definition, rnd: Round,
                 now: dt.datetime):
        self.book, self.marts, self.definition, self.round, self.now = book, marts, definition, rnd, now
        self.lang = marts.lang
        self.method = marts.method()
        m = self.method
        self.settings = placeholders(m)
        self.shown: dict[str, list[str]] = {}  # sheet -> the FIELDS keys it shows, in order

    # --- words and tables --------------------------------------------------------------------

    def w(self, key: str, **values: object) -> str:
        return tr(key, self.lang, WORDS, **values)

    def c(self, key: str, **values: object) -> str:
        return tr(key, self.lang, **values)

    def header(self, key: str) -> str:
        return FIELDS[key].header.get(self.lang)

    def show(self, sheet: str, keys: Iterable[str]) -> None:
        listed = self.shown.setdefault(sheet, [])
        listed += [k for k in keys if k not in listed]

    def table(self, ws: Worksheet, top: int, spec: Sequence[tuple[str, str]],
              rows: Iterable[Sequence[Any]], *, sheet: str | None = None,
              headers: dict[str, str] | None = None, **options: Any) -> int:
        """A table of FIELDS columns (``spec``: key and kind), listed in the dictionary under
        ``sheet`` (default: the sheet's own name)."""
        self.show(sheet or ws.name, [key for key, _ in spec])
        columns = [Column((headers or {}).get(key) or self.header(key), kind, _width(key, kind))
                   for key, kind in spec]
        return self.book.table(ws, top, columns, rows, **options)

    def lines(self, ws: Worksheet, top: int, texts: Iterable[str], fmt: Any = None) -> int:
        """One note per row from ``top``; returns the next free row."""
        row = top
        for text in texts:
            ws.write_string(row, 0, text, fmt if fmt is not None else self.book.note)
            row += 1
        return row

    def empty(self, ws: Worksheet, top: int, what: str) -> int:
        ws.write_string(top, 0, self.w("no_rows", what=what), self.book.note)
        return top + 1

    def share(self, value: float | None, n: int | None) -> Share:
        """A share on a base of ``n`` as the study shows it (suppressed or unreliable by n)."""
        n = n or 0
        return Share(value, suppressed=n < self.method.suppress_below,
                     unreliable=self.method.suppress_below <= n < self.method.flag_below)

    def footnotes(self) -> list[str]:
        m = self.method
        return [self.c("suppressed_note", n=m.suppress_below),
                self.c("unreliable_note", low=m.suppress_below, high=m.flag_below - 1),
                self.c("base_note")]

    def status(self, code: str | None) -> str:
        return f"{SYMBOLS.get(code, '')} {self.c(f'status.{code}')}".strip() if code else ""

    def quadrant(self, code: str | None) -> str:
        return self.c(f"quadrant.{code}") if code else ""

    def yes_no(self, value: bool | None) -> str | None:
        return None if value is None else self.c("yes" if value else "no")

    # --- the workbook ------------------------------------------------------------------------

    def write(self) -> None:
        code = self.round.code
        cover = self.book.sheet(SHEETS["cover"].get(self.lang))
        self.write_method(self.book.sheet(SHEETS["method"].get(self.lang)))
        cells = self.marts.cells(code)
        places = self.marts.municipalities(code)
        scores = {s.municipality_code: s for s in self.marts.municipality_scores(code)}
        drafts = recommendations_for(self.marts, code, cells)
        write_summary(self, self.book.sheet(SHEETS["summary"].get(self.lang)), places, cells,
                      list(scores.values()))
        by_place: dict[str, list[Cell]] = defaultdict(list)
        for cell in cells:
            by_place[cell.municipality_code].append(cell)
        sessions = self.marts.focus_group_sessions(code)
        for place in places:
            self.write_municipality(self.book.sheet(place.name), place, by_place[place.code],
                                    scores.get(place.code), drafts.get(place.code, []),
                                    sessions.get(place.code, 0))
        gap_annex.write_annex(self)
        self.write_dictionary(self.book.sheet(SHEETS["dictionary"].get(self.lang)))
        self.write_cover(cover)

    # --- cover -------------------------------------------------------------------------------

    def write_cover(self, ws: Worksheet) -> None:
        book, rnd, m = self.book, self.round, self.method
        ws.set_column(0, 0, 36)
        ws.set_column(1, 3, 18)
        ws.write_string(0, 0, self.w("title"), book.title)
        ws.write_string(1, 0, self.definition.study.title.get(self.lang), book.fmt("text", bold=True))
        rounds = [r.code for r in self.marts.rounds()]
        previous = self.marts.previous_round(rnd.code)
        pulled = self.marts.pulled_at()
        facts = [
            (self.w("study"), m.study_code),
            (self.c("round"), rnd.code),
            (self.w("fieldwork"), _days(rnd.first_day, rnd.last_day)),
            (self.w("fieldwork_window"), _days(m.fieldwork_start, m.fieldwork_end)
             if m.fieldwork_start or m.fieldwork_end else None),
            (self.w("pulled"), pulled if pulled is not None else self.w("not_recorded")),
            (self.w("generated_at"), self.now.replace(microsecond=0)),
            (self.w("language"), self.lang),
        ]
        row = 3
        for label, value in facts:
            if value is None:
                continue
            ws.write_string(row, 0, label, book.fmt("text", bold=True))
            book.cell(ws, row, 1, value)
            row += 1
        row = self.lines(ws, row, [self.w("rounds", rounds=", ".join(rounds),
                                          previous=previous.code if previous else self.w("no_previous")),
                                   self.c("draft")])
        unscored = self.marts.unscored_municipalities(rnd.code)
        if unscored:
            row = self.lines(ws, row, [self.w("unscored", names=", ".join(p.name for p in unscored))])
        counts = self.marts.form_counts(rnd.code)
        ws.write_string(row + 1, 0, self.w("submissions"), book.fmt("text", bold=True))
        row = self.table(ws, row + 2, [("form", "text"), ("received", "int"), ("used", "int"),
                                       ("left_out", "int")],
                         [(FORMS[f.form].get(self.lang), f.received, f.used, f.received - f.used)
                          for f in counts], freeze=False, autofilter=False)
        ws.write_string(row + 1, 0, self.w("why"), book.fmt("text", bold=True))
        reasons = [(FORMS[f.form].get(self.lang), self.c(f"reason.{reason}"), n)
                   for f in counts for reason, n in f.left_out.items()]
        if reasons:
            row = self.table(ws, row + 2, [("form", "text"), ("reason", "text"), ("left_out", "int")],
                             reasons, freeze=False, autofilter=False)
        else:
            row = self.lines(ws, row + 2, [self.w("none_left_out")])
        ws.write_string(row + 1, 0, self.w("contents"), book.fmt("text", bold=True))
        self.lines(ws, row + 2, [s.name for s in book.workbook.worksheets()], book.fmt("text"))

    # --- method ------------------------------------------------------------------------------

    def write_method(self, ws: Worksheet) -> None:
        rules = {r: self.c(f"reason.{r}") for r in self.method.quality_rules}
        notes = explain_method(self.method, self.marts.satisfaction_scale(), rules, self.lang)
        ws.write_string(0, 0, SHEETS["method"].get(self.lang), self.book.title)
        row = self.table(ws, 2, [("topic", "wrap"), ("explanation", "wrap")], notes,
                         freeze=False, autofilter=False)
        self.table(ws, row + 1, [("setting", "wrap"), ("setting_value", "wrap")],
                   method_settings(self.method), freeze=False, autofilter=False)

    # --- one municipality --------------------------------------------------------------------

    def write_municipality(self, ws: Worksheet, place: Place, cells: list[Cell],
                           score: MunicipalityScore | None, drafts: list[Recommendation],
                           sessions: int) -> None:
        book, m = self.book, self.method
        sheet = SHEETS["municipality_sheets"].get(self.lang)
        by_service = {c.service_code: c for c in cells}
        ordered = [by_service[d.service_code] for d in drafts]
        draft_of = {d.service_code: d for d in drafts}
        ws.write_string(0, 0, place.name, book.title)
        assessed = any(c.assessed for c in cells)
        row = self.lines(ws, 1, [
            f"{self.w('place', rayon=place.rayon, oblast=place.oblast)} · "
            f"{self.w('round', round=self.round.code)}",
            self.w("interviews_line", used=score.interviews_used if score else 0,
                   all=score.interviews if score else 0, sessions=sessions),
            self.w("assessed_yes" if assessed else "assessed_no"),
            self.c("draft")], book.fmt("text"))
        spec = [("priority", "int"), ("service", "text"), ("n", "int"), ("satisfaction", "share"),
                ("ci_low", "share"), ("ci_high", "share"), ("mean_index", "share"),
                ("importance", "share"), ("importance_n", "int"), ("effectiveness", "dec1"),
                ("coverage", "pct"), ("indicators_present", "text"), ("gap", "share"),
                ("gap_ci_low", "share"), ("gap_ci_high", "share"), ("status", "text"),
                ("established", "text"), ("quadrant", "text"), ("note", "wrap"),
                ("recommendation", "wrap")]
        rows = []
        for c in ordered:
            s = self.share(c.satisfaction, c.n)
            gap = Share(c.gap, suppressed=c.suppressed, unreliable=c.unreliable)
            rows.append((
                draft_of[c.service_code].rank, c.service, c.n, s,
                Share(c.satisfaction_ci_low, s.suppressed, s.unreliable),
                Share(c.satisfaction_ci_high, s.suppressed, s.unreliable),
                Share(c.satisfaction_mean_index, s.suppressed, s.unreliable),
                self.share(c.importance, c.importance_n), c.importance_n, c.effectiveness,
                100 * c.effectiveness_coverage if c.assessed else None,
                f"{c.effectiveness_indicators or 0} / {c.effectiveness_indicators_expected or 0}"
                if c.assessed else None,
                gap, Share(c.gap_ci_low, gap.suppressed, gap.unreliable),
                Share(c.gap_ci_high, gap.suppressed, gap.unreliable),
                self.status(c.gap_status), self.yes_no(c.gap_established) if c.gap is not None
                else None, self.quadrant(c.quadrant), self.note(c),
                draft_of[c.service_code].text))
        top = row + 1
        end = self.table(ws, top, spec, rows, sheet=sheet)
        row = self.lines(ws, end + 1, [*self.footnotes(), self.w("chart_note")])
        points = [Point(c.service, None if c.suppressed else c.satisfaction, c.effectiveness)
                  for c in ordered]
        data = write_chart_data(book, ws, top + 1, len(spec) + 2, points, m.quadrant_cut,
                                [self.c(f"quadrant.{q}") for q in
                                 ("maintain", "communicate", "expectation_risk", "fix_first")])
        ws.insert_chart(row + 1, 0, bar_chart(book, data, self.w("chart_bars"), self.w("chart_s"),
                                              self.w("chart_e")))
        ws.insert_chart(row + 1, 0, quadrant_chart(
            book, data, self.w("chart_quadrants"), self.w("chart_e"), self.w("chart_s"),
            self.w("chart_cut", cut=self.settings["cut"]), self.w("chart_services")),
            {"x_offset": 680})
        print_wide(ws, top)

    def note(self, c: Cell) -> str:
        """Why a cell lacks a value, or what to read with care."""
        m, say = self.method, []
        if c.n == 0:
            say.append(self.w("note.no_users"))
        elif c.suppressed:
            say.append(self.w("note.suppressed", n=c.n, k=m.suppress_below))
        elif c.unreliable:
            say.append(self.w("note.unreliable", n=c.n, k=m.flag_below))
        if not c.assessed:
            say.append(self.w("note.not_assessed"))
        elif c.effectiveness is None:
            say.append(self.w("note.coverage", present=c.effectiveness_indicators or 0,
                              expected=c.effectiveness_indicators_expected or 0,
                              min=self.settings["min"]))
        if c.effectiveness_unverified:
            say.append(self.w("note.unverified", k=c.effectiveness_unverified))
        return " ".join(say)

    # --- the data dictionary -----------------------------------------------------------------

    def write_dictionary(self, ws: Worksheet) -> None:
        self.show(ws.name, ["sheet", "column", "meaning"])
        rows = [(sheet, self.header(key), FIELDS[key].meaning.get(self.lang).format(**self.settings))
                for sheet, keys in self.shown.items() for key in keys]
        self.book.table(ws, 0, [Column(self.header("sheet"), "text"),
                                Column(self.header("column"), "text"),
                                Column(self.header("meaning"), "wrap", WIDTHS["meaning"])], rows)


# columns whose width is set rather than fitted: long texts wrap within them, and numbers keep
# narrow columns under a wrapped header
WIDTHS = {"recommendation": 80, "note": 40, "quote": 70, "explanation": 100, "topic": 32,
          "setting": 32, "setting_value": 100, "meaning": 80, "indicator": 50, "evidence": 40}
NUMBER_WIDTH = 11


def _width(key: str, kind: str) -> float | None:
    if key in WIDTHS:
        return WIDTHS[key]
    return NUMBER_WIDTH if kind in ("int", "share", "pct", "dec1", "dec2", "dec3", "date") else None


def _days(first: Any, last: Any) -> str:
    return f"{first or '…'} — {last or '…'}"
