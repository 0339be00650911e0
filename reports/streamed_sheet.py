"""A worksheet of a constant-memory workbook that writes its plain cells' XML in one step.

xlsxwriter spends about nine tenths of a data workbook's time turning cells into XML, and in
constant-memory mode it does so cell by cell through general code: a list of attributes escaped
one by one, a string run through four escapes and two whitespace checks. Most cells are a number
or a text with nothing to escape; :class:`StreamedSheet` writes exactly the XML xlsxwriter writes
for those in one f-string and hands every other cell (a text that needs an escape, a boolean, a
formula, a cell taking its format from its row or column, any cell of a workbook that keeps its
cells in memory) to xlsxwriter's own code. The sheets come out byte for byte the same, at about
half the time (bench/report.py); tests/test_workbook.py compares the XML with xlsxwriter's own
for numbers, dates and texts of every kind, so an xlsxwriter release that writes cells otherwise
fails there instead of writing something else.
"""

from __future__ import annotations

import re
from typing import Any

from xlsxwriter.utility import xl_rowcol_to_cell_fast
from xlsxwriter.worksheet import CellDatetimeTuple, CellNumberTuple, CellStringTuple, Worksheet

# a text xlsxwriter changes or marks before writing it inline: a control character or a
# non-character (written as _xHHHH_), a literal _xHHHH_ (its underscore escaped), a character XML
# escapes (its search also covers '"' and a line break), leading or trailing white space
# (xml:space="preserve"); a rich string begins with '<' and is caught too
_NEEDS_XLSXWRITER = re.compile(r'[\x00-\x08\x0b-\x1f"&<>\n\ufffe\uffff]|_x[0-9a-fA-F]{4}_|^\s|\s$')


class StreamedSheet(Worksheet):
    """An xlsxwriter worksheet with a short way for plain cells (see the module docstring)."""

    def _write_cell(self, row: int, col: int, cell: Any) -> None:
        fmt = cell.format
        if self.constant_memory and (fmt is not None or (row not in self.row_info
                                                         and col not in self.col_info)):
            kind = cell.__class__
            style = f' s="{fmt._get_xf_index()}"' if fmt else ""
            if kind is CellNumberTuple or kind is CellDatetimeTuple:
                self.fh.write(f'<c r="{xl_rowcol_to_cell_fast(row, col)}"{style}>'
                              f'<v>{cell.number:.16G}</v></c>')
                return
            if kind is CellStringTuple and not _NEEDS_XLSXWRITER.search(cell.string):
                self.fh.write(f'<c r="{xl_rowcol_to_cell_fast(row, col)}"{style} t="inlineStr">'
                              f'<is><t>{cell.string}</t></is></c>')
                return
        super()._write_cell(row, col, cell)
