"""The study report's pictures of one municipality, drawn with matplotlib's Agg renderer into PNG
bytes (no display, no file): S beside E per service as horizontal bars, and the quadrant scatter
(E across, S up, cut lines at the quadrant cut, each point named by its service).

As in the workbooks' charts (:mod:`reports.gap_charts`), a suppressed S or a missing E is left
out, never drawn as 0: a service shows only the bars it has, and the scatter holds only the
services with both.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from reports.gap_charts import E_COLOUR, S_COLOUR, Point

DPI = 110
WIDTH_IN = 6.3
QUADRANT_SHADES = ("#EAF3E4", "#FFF2CC", "#FCE4D6", "#F8D7D7")  # maintain, communicate, risk, fix


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def bars_png(points: Sequence[Point], s_label: str, e_label: str) -> bytes:
    """S and E of every service as pairs of horizontal bars on 0-100, the first service on top."""
    height = 0.9 + 0.42 * len(points)
    figure = Figure(figsize=(WIDTH_IN, height), layout="constrained")
    ax = figure.add_subplot()
    rows = range(len(points))
    s = [p.satisfaction for p in points]
    e = [p.effectiveness for p in points]
    ax.barh([i - 0.2 for i in rows if s[i] is not None], [v for v in s if v is not None],
            height=0.38, color=S_COLOUR, label=s_label)
    ax.barh([i + 0.2 for i in rows if e[i] is not None], [v for v in e if v is not None],
            height=0.38, color=E_COLOUR, label=e_label)
    for i in rows:
        for value, offset in ((s[i], -0.2), (e[i], 0.2)):
            if value is not None:
                ax.text(min(value, 100) + 1, i + offset, f"{value:.0f}", va="center", fontsize=7)
    ax.set_yticks(list(rows), [p.name for p in points], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 108)
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.tick_params(axis="x", labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=8, loc="lower right", frameon=False, ncols=2,
              bbox_to_anchor=(1.0, 1.0))
    return _png(figure)


def quadrant_png(points: Sequence[Point], cut: float, quadrants: Sequence[str], e_label: str,
                 s_label: str) -> bytes:
    """The services with both S and E on E × S (0-100), the four quadrants shaded and named
    (``quadrants``: maintain, communicate, expectation risk, fix first)."""
    figure = Figure(figsize=(WIDTH_IN, 4.4), layout="constrained")
    ax = figure.add_subplot()
    maintain, communicate, risk, fix = quadrants
    for (x0, x1, y0, y1), shade, name, (tx, ty, ha, va) in (
            ((cut, 100, cut, 100), QUADRANT_SHADES[0], maintain, (99, 99, "right", "top")),
            ((cut, 100, 0, cut), QUADRANT_SHADES[1], communicate, (99, 1, "right", "bottom")),
            ((0, cut, cut, 100), QUADRANT_SHADES[2], risk, (1, 99, "left", "top")),
            ((0, cut, 0, cut), QUADRANT_SHADES[3], fix, (1, 1, "left", "bottom"))):
        ax.fill_between([x0, x1], y0, y1, color=shade, zorder=0)
        ax.text(tx, ty, name, ha=ha, va=va, fontsize=8, color="#595959")
    ax.axvline(cut, color="#7F7F7F", linewidth=0.8)
    ax.axhline(cut, color="#7F7F7F", linewidth=0.8)
    shown = [p for p in points if p.satisfaction is not None and p.effectiveness is not None]
    ax.scatter([p.effectiveness for p in shown], [p.satisfaction for p in shown], s=28,
               color=S_COLOUR, zorder=3)
    for p in shown:
        ax.annotate(p.name, (p.effectiveness, p.satisfaction), xytext=(4, 3),
                    textcoords="offset points", fontsize=7, zorder=4)
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.set_xlabel(e_label, fontsize=8)
    ax.set_ylabel(s_label, fontsize=8)
    ax.tick_params(labelsize=8)
    return _png(figure)
