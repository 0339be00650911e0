"""The study report's pictures of one municipality, drawn with matplotlib's Agg renderer into PNG
bytes (no display, no file): S beside E per service as horizontal bars, and the quadrant scatter
(E across, S up, cut lines at the quadrant cut, each point named by its service).

As in the workbooks' charts (:mod:`reports.gap_charts`), a suppressed S or a missing E is left
out, never drawn as 0: a service shows only the bars it has, and the scatter holds only the
services with both.

Every municipality's charts share their frame (axes, ticks, service names, the shaded quadrants,
the legend), so :class:`ChartPainter` draws a frame once and keeps it; each chart then restores
the frame and draws only its own bars or points on it (matplotlib's blitting). Drawing each
figure whole took about 0.25 s of CPU per municipality, most of a 40-municipality report
(bench/study_report.py).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.image import imsave
from matplotlib.patches import Patch

from reports.gap_charts import E_COLOUR, S_COLOUR, Point

DPI = 100
WIDTH_IN = 6.3
QUADRANT_HEIGHT_IN = 4.4
CHAR_IN = 0.072  # width of an 8-point label character, inches (room for the services' names)
QUADRANT_SHADES = ("#EAF3E4", "#FFF2CC", "#FCE4D6", "#F8D7D7")  # maintain, communicate, risk, fix


class _Frame:
    """A drawn figure whose pixels are kept, to draw one chart's own artists on."""

    def __init__(self, figure: Figure):
        self.figure = figure
        self.canvas = FigureCanvasAgg(figure)
        self.axes = figure.axes[0]
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(figure.bbox)

    def png(self, draw: Callable[[Any], list[Artist]]) -> bytes:
        """The frame with the artists ``draw(axes)`` adds, as PNG; the artists are removed."""
        self.canvas.restore_region(self.background)
        artists = draw(self.axes)
        for artist in artists:
            artist.set_animated(True)
            self.axes.draw_artist(artist)
        buffer = io.BytesIO()
        imsave(buffer, self.canvas.buffer_rgba(), format="png", dpi=DPI,
               pil_kwargs={"compress_level": 1})
        for artist in artists:
            artist.remove()
        return buffer.getvalue()


class ChartPainter:
    """The two charts of every municipality of one report, in one language."""

    def __init__(self, s_label: str, e_label: str, cut: float, quadrants: Sequence[str]):
        self.s_label, self.e_label, self.cut, self.quadrants = s_label, e_label, cut, quadrants
        self._bars: dict[tuple[str, ...], _Frame] = {}
        self._quadrant: _Frame | None = None

    def bars(self, points: Sequence[Point]) -> bytes:
        """S and E of every service as pairs of horizontal bars on 0-100 over a grid every 25
        points, the first service on top."""
        names = tuple(p.name for p in points)
        if names not in self._bars:
            self._bars[names] = _Frame(self._bar_frame(names))

        def draw(ax) -> list[Artist]:
            out: list[Artist] = []
            for values, offset, colour in (([p.satisfaction for p in points], -0.2, S_COLOUR),
                                           ([p.effectiveness for p in points], 0.2, E_COLOUR)):
                rows = [i for i, v in enumerate(values) if v is not None]
                if rows:  # one call per series: a bar each costs as much as the whole series
                    out += list(ax.barh([i + offset for i in rows], [values[i] for i in rows],
                                        height=0.38, color=colour))
            return out

        return self._bars[names].png(draw)

    def _bar_frame(self, names: tuple[str, ...]) -> Figure:
        height = 0.9 + 0.42 * len(names)
        figure = Figure(figsize=(WIDTH_IN, height))
        longest = max((len(n) for n in names), default=0)
        figure.subplots_adjust(left=min(0.5, (0.15 + CHAR_IN * longest) / WIDTH_IN), right=0.97,
                               bottom=0.45 / height, top=1 - 0.4 / height)
        ax = figure.add_subplot()
        ax.set_yticks(range(len(names)), names, fontsize=8)
        ax.set_ylim(len(names) - 0.5, -0.5)  # the first service on top
        ax.set_xlim(0, 100)
        ax.set_xticks([0, 25, 50, 75, 100])
        ax.grid(axis="x", color="#D9D9D9", linewidth=0.6)  # values are read off the grid: the
        ax.set_axisbelow(True)  # table beside the chart has them, and a label each cost 5 ms
        ax.tick_params(axis="x", labelsize=8)
        ax.spines[["top", "right"]].set_visible(False)
        ax.legend(handles=[Patch(color=S_COLOUR, label=self.s_label),
                           Patch(color=E_COLOUR, label=self.e_label)],
                  fontsize=8, loc="lower right", frameon=False, ncols=2, bbox_to_anchor=(1.0, 1.0))
        return figure

    def quadrant(self, points: Sequence[Point]) -> bytes:
        """The services with both S and E on E × S (0-100), the quadrants shaded and named."""
        if self._quadrant is None:
            self._quadrant = _Frame(self._quadrant_frame())
        shown = [p for p in points if p.satisfaction is not None and p.effectiveness is not None]

        def draw(ax) -> list[Artist]:
            out: list[Artist] = [ax.scatter([p.effectiveness for p in shown],
                                            [p.satisfaction for p in shown], s=28, color=S_COLOUR)]
            out += [ax.annotate(p.name, (p.effectiveness, p.satisfaction), xytext=(4, 3),
                                textcoords="offset points", fontsize=7) for p in shown]
            return out

        return self._quadrant.png(draw)

    def _quadrant_frame(self) -> Figure:
        cut = self.cut
        figure = Figure(figsize=(WIDTH_IN, QUADRANT_HEIGHT_IN))
        figure.subplots_adjust(left=0.1, right=0.97, bottom=0.11, top=0.97)
        ax = figure.add_subplot()
        maintain, communicate, risk, fix = self.quadrants
        for (x0, x1, y0, y1), shade, name, (tx, ty, ha, va) in (
                ((cut, 100, cut, 100), QUADRANT_SHADES[0], maintain, (99, 99, "right", "top")),
                ((cut, 100, 0, cut), QUADRANT_SHADES[1], communicate, (99, 1, "right", "bottom")),
                ((0, cut, cut, 100), QUADRANT_SHADES[2], risk, (1, 99, "left", "top")),
                ((0, cut, 0, cut), QUADRANT_SHADES[3], fix, (1, 1, "left", "bottom"))):
            ax.fill_between([x0, x1], y0, y1, color=shade, zorder=0)
            ax.text(tx, ty, name, ha=ha, va=va, fontsize=8, color="#595959")
        ax.axvline(cut, color="#7F7F7F", linewidth=0.8)
        ax.axhline(cut, color="#7F7F7F", linewidth=0.8)
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 100)
        ax.set_xlabel(self.e_label, fontsize=8)
        ax.set_ylabel(self.s_label, fontsize=8)
        ax.tick_params(labelsize=8)
        return figure
