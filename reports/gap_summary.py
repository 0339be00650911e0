"""The gap report's summary sheet: the gap of every municipality × service on a diverging colour
scale (blue where residents rate a service below the LSG's records, red above), with icons for
the gap's status (▲ perception exceeds performance, ▼ performance under-recognised, ● aligned),
established gaps in bold, unreliable ones in brackets (still numbers, so the scale colours them),
``*`` for suppressed cells and ``—`` where no gap could be computed; then the base n of every
cell, and the municipalities' totals.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from xlsxwriter.worksheet import Worksheet

from reports.mart_rows import Cell, MunicipalityScore, Place
from reports.workbook import print_wide

if TYPE_CHECKING:
    from reports.gap_report import GapReport

BLUE, WHITE, RED, GREY = "#5B9BD5", "#FFFFFF", "#F4B183", "#EDEDED"
# the gap's number format: signed, and in brackets when the base is unreliable
GAP_FORMAT, GAP_UNRELIABLE_FORMAT = "+0.0;-0.0;0.0", '"(+"0.0")";"(-"0.0")";"(0.0)"'


def write_summary(r: GapReport, ws: Worksheet, places: list[Place], cells: list[Cell],
                  scores: list[MunicipalityScore]) -> None:
    """The summary sheet (see the module docstring)."""
    book, m = r.book, r.method
    sheet = ws.name
    services: dict[str, str] = {}
    for c in sorted(cells, key=lambda c: c.service_order):
        services.setdefault(c.service_code, c.service)
    grid = {(c.municipality_code, c.service_code): c for c in cells}
    ws.write_string(0, 0, f"{r.w('gap_matrix')} · {r.w('round', round=r.round.code)}",
                    book.title)
    ws.write_string(1, 0, r.w("icons", t=f"{m.gap_threshold:g}"), book.note)
    top = 3
    r.show(sheet, ["municipality", "service_columns"])
    fmts = {(bold, unreliable): book.fmt("text", num_format=GAP_UNRELIABLE_FORMAT if unreliable
                                            else GAP_FORMAT, bold=bold, align="center")
            for bold in (False, True) for unreliable in (False, True)}
    mark = book.fmt("text", align="center")
    widest = max([len(r.header("municipality"))] + [len(p.name) for p in places])

    def gap_cell(row: int, j: int, c: Cell) -> None:
        if c.suppressed:
            ws.write_string(row, j, "*", mark)
        elif c.gap is None:
            ws.write_string(row, j, "—", mark)
        else:
            ws.write_number(row, j, c.gap, fmts[c.gap_established, c.unreliable])

    last = _matrix(r, ws, top, places, services, grid, gap_cell)
    ws.set_column(0, 0, min(60, widest + 2))
    ws.set_column(1, len(services), 13)
    ws.freeze_panes(top + 1, 1)
    if places and services:
        ws.autofilter(top, 0, last, len(services))
        reach = max([20.0] + [abs(c.gap) for c in cells if c.gap is not None and not c.suppressed])
        reach = 10 * -(-reach // 10)
        area = (top + 1, 1, last, len(services))
        ws.conditional_format(*area, {
            "type": "3_color_scale", "min_type": "num", "min_value": -reach,
            "mid_type": "num", "mid_value": 0, "max_type": "num", "max_value": reach,
            "min_color": BLUE, "mid_color": WHITE, "max_color": RED})
        ws.conditional_format(*area, {
            "type": "icon_set", "icon_style": "3_arrows_gray",
            "icons": [{"criteria": ">", "type": "number", "value": m.gap_threshold},
                      {"criteria": ">=", "type": "number", "value": -m.gap_threshold}]})
    row = r.lines(ws, last + 2, [
        r.w("bold", level=r.settings["level"]), *r.footnotes()[:2], r.w("gap_none"),
        r.w("not_applicable")])
    ws.write_string(row + 1, 0, r.w("base_matrix"), book.fmt("text", bold=True))
    r.show(sheet, ["base_columns"])
    row = _matrix(r, ws, row + 2, places, services, grid,
                  lambda row, j, c: book.cell(ws, row, j, c.n, "int"))
    ws.write_string(row + 2, 0, r.w("by_municipality"), book.fmt("text", bold=True))
    r.table(ws, row + 3, [
        ("municipality", "text"), ("services", "int"), ("services_with_gap", "int"),
        ("mean_satisfaction", "pct"), ("mean_effectiveness", "dec1"), ("mean_abs_gap", "dec1"),
        ("mean_abs_gap_pw", "dec1"), ("gaps_established", "int"), ("assessed", "text"),
        ("interviews", "int"), ("interviews_used", "int"), ("interviews_excluded", "int")],
        [(s.municipality, s.services, s.services_with_gap, s.satisfaction, s.effectiveness,
          s.mean_abs_gap, s.mean_abs_gap_priority_weighted, s.gaps_established,
          r.yes_no(s.assessed), s.interviews, s.interviews_used, s.interviews_excluded)
         for s in scores], freeze=False, autofilter=False)
    ws.set_column(0, 0, min(60, widest + 2))
    ws.set_column(1, len(services), 13)
    print_wide(ws, top)


def _matrix(r: GapReport, ws: Worksheet, top: int, places: list[Place], services: dict[str, str],
            grid: dict[tuple[str, str], Cell], write: Callable[[int, int, Cell], object]) -> int:
    """A municipality × service matrix: the header row at ``top`` (services by name), a row per
    municipality, ``write(row, column, cell)`` for each cell scored there, grey where the
    service is not scored. Returns the last row written."""
    book = r.book
    header = book.fmt("text", bold=True, text_wrap=True, bg_color="#DCE6F1", border=1,
                      align="center")
    blank = book.fmt("text", bg_color=GREY)
    ws.write_string(top, 0, r.header("municipality"), book.header)
    for j, name in enumerate(services.values(), start=1):
        ws.write_string(top, j, name, header)
    ws.set_row(top, 64)
    row = top
    for row, place in enumerate(places, start=top + 1):
        ws.write_string(row, 0, place.name)
        for j, code in enumerate(services, start=1):
            c = grid.get((place.code, code))
            if c is None:
                ws.write_blank(row, j, None, blank)
            else:
                write(row, j, c)
    return row
