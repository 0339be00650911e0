"""``scorecard_<municipality>.xlsx``: one printed A4 page per municipality for its LSG.

The page: the municipality, its round and fieldwork days and key figures; a table of every
service by importance to residents (importance, base n, satisfaction S, effectiveness E, gap,
status, quadrant), suppressed values ``*`` and unreliable ones in brackets with their footnotes;
the three most important services' drafted recommendations, marked as drafts; a bar chart of S
beside E. Print area, fit to one page, header row repeated, A4 portrait.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
from xlsxwriter.worksheet import Worksheet

from forms.definition import Definition
from reports.gap_charts import Point, bar_chart, write_chart_data
from reports.gap_columns import FIELDS
from reports.gap_report import SYMBOLS, safe_name
from reports.gap_summary import GAP_FORMAT
from reports.gap_texts import SHEETS, WORDS
from reports.mart_rows import Cell, MunicipalityScore, Place, Round
from reports.marts import Marts
from reports.recommendations import Recommendation, recommendations_for
from reports.texts import tr
from reports.workbook import LINE_HEIGHT, Book, Share, wrapped_lines

PRIORITIES = 3  # drafted recommendations on the page
COLUMNS = [("priority", 12), ("service", 34), ("importance", 11), ("n", 8), ("satisfaction", 11),
           ("effectiveness", 12), ("gap", 9), ("status", 26), ("quadrant", 22)]
CHART_ROW_PX = 20  # default row height in pixels, to know where a chart ends


def write_scorecards(conn: duckdb.DuckDBPyConnection, definition: Definition, out_dir: Path,
                     round_code: str | None = None, lang: str = "ru",
                     now: dt.datetime | None = None) -> list[Path]:
    """Write ``scorecard_<municipality code>.xlsx`` for every municipality scored in the round
    (None: the latest) into ``out_dir`` in ``lang``; return their paths in the report's order.
    Raises :class:`reports.marts.ReportError` when there is nothing to report."""
    marts = Marts(conn, lang, definition)
    rnd = marts.round(round_code)
    cells = marts.cells(rnd.code)
    scores = {s.municipality_code: s for s in marts.municipality_scores(rnd.code)}
    drafts = recommendations_for(marts, rnd.code, cells)
    when = (now or dt.datetime.now()).replace(microsecond=0)
    paths = []
    for place in marts.municipalities(rnd.code):
        path = Path(out_dir) / f"scorecard_{safe_name(place.code)}.xlsx"
        with Book(path) as book:
            Scorecard(book, marts, rnd, when).write(
                place, [c for c in cells if c.municipality_code == place.code],
                scores.get(place.code), drafts.get(place.code, []))
        paths.append(path)
    return paths


class Scorecard:
    def __init__(self, book: Book, marts: Marts, rnd: Round, now: dt.datetime):
        self.book, self.marts, self.round, self.now = book, marts, rnd, now
        self.lang, self.method = marts.lang, marts.method()

    def w(self, key: str, **values: object) -> str:
        return tr(key, self.lang, WORDS, **values)

    def c(self, key: str, **values: object) -> str:
        return tr(key, self.lang, **values)

    def write(self, place: Place, cells: list[Cell], score: MunicipalityScore | None,
              drafts: list[Recommendation]) -> None:
        book, m = self.book, self.method
        ws = book.sheet(SHEETS["scorecard"].get(self.lang))
        last_col = len(COLUMNS) - 1
        for j, (_, width) in enumerate(COLUMNS):
            ws.set_column(j, j, width)
        ws.merge_range(0, 0, 0, last_col, self.w("scorecard_title", name=place.name),
                       book.fmt("text", bold=True, font_size=15))
        ws.merge_range(1, 0, 1, last_col,
                       f"{self.w('place', rayon=place.rayon, oblast=place.oblast)} · "
                       f"{self.w('round', round=self.round.code)} · {self.w('fieldwork')}: "
                       f"{self.round.first_day or '…'} — {self.round.last_day or '…'}",
                       book.fmt("text"))
        established = sum(c.gap_established for c in cells)
        ws.merge_range(2, 0, 2, last_col, self.w(
            "scorecard_key", used=score.interviews_used if score else 0,
            s=_n(score.satisfaction if score else None), e=_n(score.effectiveness if score else None),
            est=established, cells=len(cells)), book.fmt("text", bold=True))
        if not any(c.assessed for c in cells):
            ws.merge_range(3, 0, 3, last_col, self.w("assessed_no"), book.fmt("text", italic=True))
        header = 4
        for j, (key, _) in enumerate(COLUMNS):
            ws.write_string(header, j, FIELDS[key].header.get(self.lang), book.header)
        ws.set_row(header, LINE_HEIGHT * max(wrapped_lines(FIELDS[key].header.get(self.lang), width,
                                                           bold=True) for key, width in COLUMNS))
        by_service = {c.service_code: c for c in cells}
        row = header
        for row, draft in enumerate(drafts, start=header + 1):
            self.service_row(ws, row, by_service[draft.service_code], draft)
        if drafts:
            ws.conditional_format(header + 1, 6, row, 6, {
                "type": "3_color_scale", "min_type": "num", "min_value": -50, "mid_type": "num",
                "mid_value": 0, "max_type": "num", "max_value": 50, "min_color": "#5B9BD5",
                "mid_color": "#FFFFFF", "max_color": "#F4B183"})
        notes = [self.c("suppressed_note", n=m.suppress_below),
                 self.c("unreliable_note", low=m.suppress_below, high=m.flag_below - 1),
                 self.c("base_note"), self.w("scorecard_footer")]
        row += 1
        small = book.fmt("wrap", italic=True, font_size=9, font_color="#595959")
        for note in notes:
            row += 1
            ws.merge_range(row, 0, row, last_col, note, small)
        row += 2
        ws.merge_range(row, 0, row, last_col, self.w("scorecard_priorities"),
                       book.fmt("text", bold=True, font_size=12))
        width = sum(w for _, w in COLUMNS)
        for draft in drafts[:PRIORITIES]:
            row += 1
            ws.merge_range(row, 0, row, last_col, draft.text, book.fmt("wrap"))
            ws.set_row(row, LINE_HEIGHT * wrapped_lines(draft.text, width))
        row += 1
        ws.merge_range(row, 0, row, last_col, self.c("draft"), small)
        points = [Point(c.service, None if c.suppressed else c.satisfaction, c.effectiveness)
                  for c in (by_service[d.service_code] for d in drafts)]
        data = write_chart_data(book, ws, header + 1, len(COLUMNS) + 1, points, m.quadrant_cut,
                                [self.c(f"quadrant.{q}") for q in
                                 ("maintain", "communicate", "expectation_risk", "fix_first")])
        chart = bar_chart(book, data, self.w("chart_bars"), self.w("chart_s"), self.w("chart_e"))
        chart.set_size({"width": 780, "height": max(220, 90 + 22 * len(points))})
        ws.insert_chart(row + 2, 0, chart)
        last = row + 2 + -(-max(220, 90 + 22 * len(points)) // CHART_ROW_PX) + 1
        ws.merge_range(last + 1, 0, last + 1, last_col,
                       self.c("generated", when=self.now.isoformat(sep=" ")), small)
        ws.set_paper(9)
        ws.set_portrait()
        ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
        ws.center_horizontally()
        ws.fit_to_pages(1, 1)
        ws.print_area(0, 0, last + 1, last_col)
        ws.repeat_rows(header)
        ws.hide_gridlines(2)

    def service_row(self, ws: Worksheet, row: int, c: Cell, draft: Recommendation) -> None:
        book, m = self.book, self.method
        n_imp = c.importance_n or 0
        values = [
            (draft.rank, "int"), (c.service, "text"),
            (Share(c.importance, n_imp < m.suppress_below,
                   m.suppress_below <= n_imp < m.flag_below), "share"),
            (c.n, "int"),
            (Share(c.satisfaction, c.suppressed, c.unreliable), "share"),
            (c.effectiveness, "dec1"),
            (Share(c.gap, c.suppressed, c.unreliable), "share"),
            (f"{SYMBOLS.get(c.gap_status, '')} {self.c(f'status.{c.gap_status}')}", "text"),
            (self.c(f"quadrant.{c.quadrant}") if c.quadrant else "", "text"),
        ]
        for j, (value, kind) in enumerate(values):
            book.cell(ws, row, j, value, kind, book.fmt(kind, text_wrap=True))
        if c.gap is not None and not (c.suppressed or c.unreliable):  # signed, as in the summary
            ws.write_number(row, 6, c.gap, book.fmt("text", num_format=GAP_FORMAT))
        ws.set_row(row, LINE_HEIGHT * max(wrapped_lines(c.service, COLUMNS[1][1]), 1))


def _n(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"
