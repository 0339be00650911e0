"""The two charts of a municipality's gaps: satisfaction S beside effectiveness E per service
(horizontal bars) and the quadrant scatter (E across, S up, cut lines at the quadrant cut, each
point named by its service). Both read numbers written into hidden columns of the same sheet, so
a reader who unhides them sees exactly what is drawn; a service whose S is suppressed or that has
no E is left out of the scatter (and shows no bar for the missing side), never drawn as 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from xlsxwriter.chart import Chart
from xlsxwriter.worksheet import Worksheet

from reports.workbook import Book

S_COLOUR, E_COLOUR = "#4F81BD", "#F79646"
BAR_ROW_PX, CHART_WIDTH_PX = 26, 640


@dataclass(frozen=True)
class Point:
    """One service on the charts: its name, S (None: suppressed or no base) and E (None: none)."""

    name: str
    satisfaction: float | None
    effectiveness: float | None


@dataclass(frozen=True)
class ChartData:
    """Where the charts' numbers sit: rows ``first``..``last`` of columns ``col`` (name),
    ``col + 1`` (S), ``col + 2`` (E); the scatter's points from ``scatter_first``."""

    sheet: str
    first: int
    last: int
    col: int
    scatter_first: int
    scatter_last: int
    corners_first: int  # four rows: the quadrants' names and where they stand
    lines_first: int  # four rows: the two cut lines, two points each
    plotted: tuple[Point, ...]  # the scatter's points, in its rows' order
    corner_names: tuple[str, ...]


def write_chart_data(book: Book, ws: Worksheet, top: int, col: int, points: Sequence[Point],
                     cut: float, corner_names: Sequence[str]) -> ChartData:
    """Write the bars' rows (every point), then the scatter's (points with S and E), the four
    quadrant names' positions and the cut lines' ends, into columns ``col``..``col + 2``, hidden
    from view."""
    plotted = tuple(p for p in points if p.satisfaction is not None and p.effectiveness is not None)
    low, high = cut / 2, cut + (100 - cut) / 2
    # maintain (E high, S high), communicate (E high, S low), expectation risk, fix first
    corners = [Point(name, s, e) for name, (e, s) in
               zip(corner_names, ((high, 97.0), (high, 3.0), (low, 97.0), (low, 3.0)), strict=True)]
    lines = [Point("", s, e) for e, s in ((cut, 0.0), (cut, 100.0), (0.0, cut), (100.0, cut))]
    blocks = (points, plotted, corners, lines)
    firsts = [top]
    for block in blocks:
        for row, p in enumerate(block, start=firsts[-1]):
            book.cell(ws, row, col, p.name or None)
            book.cell(ws, row, col + 1, p.satisfaction, "dec1")
            book.cell(ws, row, col + 2, p.effectiveness, "dec1")
        firsts.append(firsts[-1] + len(block))
    bars_last, scatter_first, scatter_last = firsts[1] - 1, firsts[1], firsts[2] - 1
    corners_first, lines_first = firsts[2], firsts[3]
    ws.set_column(col, col + 2, None, None, {"hidden": True})
    return ChartData(ws.name, top, bars_last, col, scatter_first, scatter_last, corners_first,
                     lines_first, plotted, tuple(corner_names))


def bar_chart(book: Book, data: ChartData, title: str, s_name: str, e_name: str) -> Chart:
    """Horizontal bars of S and E per service, first service on top, 0-100."""
    chart = book.workbook.add_chart({"type": "bar"})
    for offset, name, colour in ((1, s_name, S_COLOUR), (2, e_name, E_COLOUR)):
        chart.add_series({
            "name": name,
            "categories": [data.sheet, data.first, data.col, data.last, data.col],
            "values": [data.sheet, data.first, data.col + offset, data.last, data.col + offset],
            "fill": {"color": colour}, "gap": 60,
            "data_labels": {"value": True, "num_format": "0", "font": {"size": 7}},
        })
    chart.set_title({"name": title, "name_font": {"size": 11}})
    chart.set_x_axis({"min": 0, "max": 100, "major_unit": 25, "num_font": {"size": 8}})
    chart.set_y_axis({"reverse": True, "num_font": {"size": 8}})
    chart.set_legend({"position": "bottom"})
    chart.show_hidden_data()
    rows = data.last - data.first + 1
    chart.set_size({"width": CHART_WIDTH_PX, "height": max(220, 90 + BAR_ROW_PX * rows)})
    return chart


def quadrant_chart(book: Book, data: ChartData, title: str, x_name: str, y_name: str,
                   cut_name: str, points_name: str) -> Chart:
    """E across, S up, both 0-100, dashed cut lines at the quadrant cut, each point named by its
    service, the four quadrants named in their corners (labels are the names as text: every
    reader, LibreOffice's too, shows them)."""
    chart = book.workbook.add_chart({"type": "scatter", "subtype": "straight"})
    if data.scatter_last >= data.scatter_first:
        chart.add_series({
            "name": points_name,
            "categories": [data.sheet, data.scatter_first, data.col + 2, data.scatter_last,
                           data.col + 2],
            "values": [data.sheet, data.scatter_first, data.col + 1, data.scatter_last,
                       data.col + 1],
            "line": {"none": True},
            "marker": {"type": "circle", "size": 7, "fill": {"color": S_COLOUR},
                       "border": {"color": S_COLOUR}},
            "data_labels": {"value": False, "position": "right", "font": {"size": 7},
                            "custom": [{"value": p.name} for p in data.plotted]},
        })
    chart.add_series({
        "name": "·", "categories": [data.sheet, data.corners_first, data.col + 2,
                                    data.corners_first + 3, data.col + 2],
        "values": [data.sheet, data.corners_first, data.col + 1, data.corners_first + 3,
                   data.col + 1],
        "line": {"none": True}, "marker": {"type": "none"},
        "data_labels": {"value": False, "position": "center",
                        "font": {"size": 8, "italic": True, "color": "#7F7F7F"},
                        "custom": [{"value": name} for name in data.corner_names]},
    })
    for first in (data.lines_first, data.lines_first + 2):
        chart.add_series({
            "name": cut_name,
            "categories": [data.sheet, first, data.col + 2, first + 1, data.col + 2],
            "values": [data.sheet, first, data.col + 1, first + 1, data.col + 1],
            "line": {"color": "#7F7F7F", "dash_type": "dash", "width": 1},
            "marker": {"type": "none"},
        })
    chart.set_title({"name": title, "name_font": {"size": 11}})
    axis = {"min": 0, "max": 100, "major_unit": 25, "num_font": {"size": 8},
            "major_gridlines": {"visible": False}}
    chart.set_x_axis({**axis, "name": x_name, "name_font": {"size": 9}})
    chart.set_y_axis({**axis, "name": y_name, "name_font": {"size": 9}})
    chart.set_legend({"none": True})
    chart.show_hidden_data()
    chart.set_size({"width": 560, "height": 460})
    return chart
