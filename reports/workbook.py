"""One way to write a workbook: xlsxwriter with respondent text that never becomes a formula or a
link, sheet names Excel accepts, tables with frozen headers, filters and widths that fit, number
formats without 14-digit decimals, and suppressed or unreliable shares shown as the study shows
them (``*``, brackets) with their footnote.

Every deliverable (``reports/*.py``) writes through :class:`Book`; only formulas a report writes
on purpose go through :meth:`Book.formula`. A workbook carries Aimak as its author and last
editor; a file at the path that does not is never replaced: it is someone's own workbook of the
same name, or one of ours that a person has since edited and saved (a plan with its signatures).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from aimak.errors import ConfigError
from reports.streamed_sheet import StreamedSheet

AUTHOR = "Aimak"  # the author every workbook carries: what Aimak may replace
SHEET_NAME_LIMIT = 31
LINE_HEIGHT = 15  # points: one line of the default 11-point font
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
MAX_WIDTH = 60
NUMBER_FORMATS = {
    "int": "#,##0",
    "pct": "0.0",          # shares and indices on 0-100
    "dec1": "0.0",
    "dec2": "0.00",
    "dec3": "0.000",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm",
    "time": "hh:mm",
    "id": "0",             # ids and indexes: every digit, no separators, never 1.2E+13
    "num": "General",      # answers as typed: 12.5 stays 12.5, 3 stays 3
    "text": "@",
}
SAMPLE_ROWS = 1000  # a streamed table's widths fit its header and its first rows


def wrapped_lines(text: str, width: float, bold: bool = False) -> int:
    """Lines ``text`` takes wrapped in a column ``width`` characters wide: an estimate, on the
    safe side for Cyrillic (an average letter is a little narrower than the '0' that Excel's
    widths count in; a bold one about as wide)."""
    per_line = max(1.0, width * (0.95 if bold else 1.1))
    return sum(max(1, math.ceil(len(line) / per_line)) for line in text.splitlines() or [""])


def print_wide(ws: Worksheet, header_row: int) -> None:
    """Print a wide sheet on A4 landscape, one page wide, its header row on every page."""
    ws.set_paper(9)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(header_row)


@dataclass(frozen=True)
class Column:
    """A column of a table: its header, the width it may take, its number format key."""

    header: str
    kind: str = "text"  # text | wrap | int | id | num | pct | dec1..3 | date | datetime | time | share
    width: float | None = None


@dataclass
class Share:
    """A share or index as the study shows it: ``*`` when suppressed, in brackets when
    unreliable, else the number (one decimal)."""

    value: float | None
    suppressed: bool = False
    unreliable: bool = False


class SheetNames:
    """Sheet names Excel accepts (at most 31 characters, none of []:*?/\\), unique in a
    workbook without case: a suffix ' (2)' when a name is taken."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def __call__(self, name: str) -> str:
        base = _BAD_SHEET_CHARS.sub("-", name).strip("'").strip() or "Sheet"
        candidate, n = base[:SHEET_NAME_LIMIT], 1
        while candidate.lower() in self.taken:
            n += 1
            suffix = f" ({n})"
            candidate = base[:SHEET_NAME_LIMIT - len(suffix)] + suffix
        self.taken.add(candidate.lower())
        return candidate


@dataclass
class Book:
    """An xlsxwriter workbook with the project's formats (see the module docstring)."""

    path: Path
    constant_memory: bool = False
    _book: xlsxwriter.Workbook = field(init=False, repr=False)
    _names: SheetNames = field(default_factory=lambda: SheetNames(), init=False, repr=False)
    _formats: dict[tuple, Any] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        if self.path.exists() and not written_by_aimak(self.path):
            raise ConfigError(f"{self.path} exists and was not written by Aimak or was edited "
                              "since, so it is left as it is: move or rename it, or write "
                              "elsewhere (--out or AIMAK_OUT)")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._book = xlsxwriter.Workbook(str(self.tmp_path), {
            "constant_memory": self.constant_memory,
            "strings_to_formulas": False,  # a respondent's '=...' stays text
            "strings_to_urls": False,      # and 'http://...' stays text, not a link
            "strings_to_numbers": False,
            "default_date_format": NUMBER_FORMATS["date"],
            "remove_timezone": True,
        })
        self._book.set_properties({"author": AUTHOR})

    @property
    def tmp_path(self) -> Path:
        return self.path.with_name(f".{self.path.name}.partial")

    @property
    def workbook(self) -> xlsxwriter.Workbook:
        return self._book

    # --- formats -----------------------------------------------------------------------------

    def fmt(self, kind: str = "text", **props: Any) -> Any:
        """A cached format: a number-format key of :data:`NUMBER_FORMATS` (or ``wrap``: text
        wrapped within its column) plus xlsxwriter props."""
        key = (kind, tuple(sorted(props.items())))
        if key not in self._formats:
            spec = dict(props)
            if kind in NUMBER_FORMATS and kind != "text":
                spec["num_format"] = NUMBER_FORMATS[kind]
            if kind == "wrap":
                spec.setdefault("text_wrap", True)
            spec.setdefault("valign", "top")
            self._formats[key] = self._book.add_format(spec)
        return self._formats[key]

    @property
    def header(self) -> Any:
        return self.fmt("text", bold=True, text_wrap=True, bg_color="#DCE6F1", border=1)

    @property
    def title(self) -> Any:
        return self.fmt("text", bold=True, font_size=14)

    @property
    def note(self) -> Any:
        return self.fmt("text", italic=True, font_color="#595959", text_wrap=False)

    # --- sheets ------------------------------------------------------------------------------

    def sheet(self, name: str) -> Worksheet:
        """A new sheet whose name is valid in Excel (at most 31 characters, none of []:*?/\\)
        and unique in the workbook, case-insensitively (a suffix ' (2)' when needed)."""
        return self._book.add_worksheet(self.sheet_name(name), worksheet_class=StreamedSheet)

    def sheet_name(self, name: str) -> str:
        """The name :meth:`sheet` gives ``name``, taken from now on."""
        return self._names(name)

    def named_sheet(self, name: str) -> Worksheet:
        """A new sheet under a name :meth:`sheet_name` gave."""
        if name.lower() not in self._names.taken:
            raise ValueError(f"sheet name {name!r} was not given by sheet_name()")
        return self._book.add_worksheet(name, worksheet_class=StreamedSheet)

    # --- cells -------------------------------------------------------------------------------

    def cell(self, ws: Worksheet, row: int, col: int, value: Any, kind: str = "text",
             fmt: Any = None) -> int:
        """Write one value by its Python type; text always as text (never a formula or a link).
        Returns the width the value needs."""
        fmt = fmt if fmt is not None else (self.fmt(kind) if kind != "text" else None)
        if isinstance(value, Share):
            return self.share(ws, row, col, value)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            ws.write_blank(row, col, None, fmt)
            return 0
        if isinstance(value, bool):
            ws.write_boolean(row, col, value, fmt)
            return 5
        if isinstance(value, (int, float)):
            ws.write_number(row, col, value, fmt)
            return len(f"{value:,.1f}") if isinstance(value, float) else len(f"{value:,}")
        if isinstance(value, dt.datetime):
            ws.write_datetime(row, col, value.replace(tzinfo=None),
                              fmt if fmt is not None else self.fmt("datetime"))
            return 16
        if isinstance(value, dt.date):
            ws.write_datetime(row, col, dt.datetime.combine(value, dt.time()),
                              fmt if fmt is not None else self.fmt("date"))
            return 10
        if isinstance(value, dt.time):
            ws.write_datetime(row, col, value, fmt if fmt is not None else self.fmt("time"))
            return 5
        text = str(value)
        ws.write_string(row, col, text, fmt)
        return max((len(line) for line in text.splitlines()), default=0)

    def share(self, ws: Worksheet, row: int, col: int, share: Share) -> int:
        """A share as the study shows it: ``*`` suppressed (with or without a value: a base of 0
        has none), ``(42.0)`` unreliable, else 42.0."""
        if share.suppressed:
            ws.write_string(row, col, "*", self.fmt("text", align="right"))
            return 1
        if share.value is None or (isinstance(share.value, float) and math.isnan(share.value)):
            ws.write_blank(row, col, None)
            return 0
        if share.unreliable:
            ws.write_string(row, col, f"({share.value:.1f})", self.fmt("text", align="right"))
            return 7
        ws.write_number(row, col, share.value, self.fmt("pct"))
        return 5

    def formula(self, ws: Worksheet, row: int, col: int, formula: str, kind: str = "text") -> None:
        """A formula the report writes on purpose (never respondent text)."""
        ws.write_formula(row, col, formula, self.fmt(kind) if kind != "text" else None)

    def table(self, ws: Worksheet, top: int, columns: Sequence[Column], rows: Iterable[Sequence[Any]],
              *, left: int = 0, freeze: bool = True, autofilter: bool = True) -> int:
        """Write a header row and the rows under it; freeze the header, add a filter, size the
        columns to their content (within :data:`MAX_WIDTH`; a column's own width wins). A header
        wider than its column wraps, and so does the text of a ``wrap`` column: their rows are
        made tall enough (not in constant-memory mode, where rows are final once written).
        Returns the next free row."""
        widths = [len(c.header) for c in columns]
        for j, c in enumerate(columns):
            ws.write_string(top, left + j, c.header, self.header)
        r = top
        wrapped: list[tuple[int, list[tuple[int, str]]]] = []  # row, [(column, text)]
        kinds = ["pct" if c.kind == "share" else c.kind for c in columns]  # once, not per cell
        formats = [self.fmt(kind) for kind in kinds]
        for r, values in enumerate(rows, start=top + 1):
            texts = []
            for j, (c, value) in enumerate(zip(columns, values, strict=True)):
                widths[j] = max(widths[j], self.cell(ws, r, left + j, value, kinds[j], formats[j]))
                if c.kind == "wrap" and isinstance(value, str):
                    texts.append((j, value))
            if texts and not self.constant_memory:
                wrapped.append((r, texts))
        final = [c.width if c.width is not None else min(MAX_WIDTH, max(6, widths[j] + 2))
                 for j, c in enumerate(columns)]
        for j, width in enumerate(final):
            ws.set_column(left + j, left + j, width)
        if not self.constant_memory:
            lines = max(wrapped_lines(c.header, final[j], bold=True) for j, c in enumerate(columns))
            if lines > 1:
                ws.set_row(top, LINE_HEIGHT * lines)
            for row, texts in wrapped:
                lines = max(wrapped_lines(text, final[j]) for j, text in texts)
                if lines > 1:
                    ws.set_row(row, LINE_HEIGHT * lines)
        if freeze:
            ws.freeze_panes(top + 1, 0)
        if autofilter and r > top:
            ws.autofilter(top, left, r, left + len(columns) - 1)
        return r + 1

    def stream(self, ws: Worksheet, columns: Sequence[Column],
               batches: Iterable[Sequence[Sequence[Any]]], *, top: int = 0) -> int:
        """Write a header row and then the rows of each batch as they come, in constant memory
        when the book is (:attr:`constant_memory`): each column is written by its kind, with no
        look at each value's type (text as text, ``int``/``id``/``num``/``pct``/``dec*`` as
        numbers, ``date``/``datetime``/``time`` as Excel dates); None leaves a cell empty.
        Widths fit the header and the first :data:`SAMPLE_ROWS` rows; the header is frozen and
        filtered. Returns the next free row."""
        for j, c in enumerate(columns):
            ws.write_string(top, j, c.header, self.header)
        writers = [self._writer(ws, c.kind) for c in columns]
        widths = [len(c.header) for c in columns]
        r = top
        for batch in batches:
            sample = r - top < SAMPLE_ROWS
            for values in batch:
                r += 1
                for j, value in enumerate(values):
                    if value is not None:
                        writers[j](r, j, value)
                if sample and r - top <= SAMPLE_ROWS:
                    for j, value in enumerate(values):
                        if value is not None:
                            widths[j] = max(widths[j], _width(value))
        for j, c in enumerate(columns):
            width = c.width if c.width is not None else min(MAX_WIDTH, max(6, widths[j] + 2))
            ws.set_column(j, j, width)
        ws.freeze_panes(top + 1, 0)
        ws.autofilter(top, 0, max(r, top), len(columns) - 1)
        return r + 1

    def _writer(self, ws: Worksheet, kind: str):
        """The write call of one column kind, its format bound. These are xlsxwriter's
        undecorated ``_write_*`` methods, which its public ``write_*`` call after turning an 'A1'
        reference into numbers: row and column are always numbers here, and skipping that step
        saves about a third of the time of a cell when a table has millions (bench/report.py).
        Text goes to ``_write_string``, which never makes a formula or a link."""
        if kind == "text":
            return getattr(ws, "_write_string", ws.write_string)
        fmt = self.fmt("pct" if kind == "share" else kind)
        if kind in ("date", "datetime", "time"):
            write = getattr(ws, "_write_datetime", ws.write_datetime)
        else:
            write = getattr(ws, "_write_number", ws.write_number)
        return partial(write, cell_format=fmt)

    def close(self) -> Path:
        """Write the file: first under a hidden name, then moved into place, so an interrupted
        run never leaves a half-written workbook where a reader looks for it."""
        self._book.close()
        self.tmp_path.replace(self.path)
        return self.path

    def __enter__(self) -> Book:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.close()
        else:
            try:
                self._book.close()
            finally:
                self.tmp_path.unlink(missing_ok=True)


def written_by_aimak(path: Path) -> bool:
    """Whether the workbook (or Word document: the study report) at ``path`` names Aimak as its
    author and its last editor (docProps/core.xml, in every OOXML file; Excel, Word and
    LibreOffice put the person who saved it there)."""
    try:
        with zipfile.ZipFile(path) as archive:
            core = archive.read("docProps/core.xml").decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile):
        return False
    return (f"<dc:creator>{AUTHOR}</dc:creator>" in core
            and f"<cp:lastModifiedBy>{AUTHOR}</cp:lastModifiedBy>" in core)


def _width(value: Any) -> int:
    if isinstance(value, dt.datetime):
        return 16
    if isinstance(value, (dt.date, dt.time)):
        return 10
    if isinstance(value, str):
        return max((len(line) for line in value.splitlines()), default=0)
    return len(str(value))
