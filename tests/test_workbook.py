"""The one way workbooks are written: respondent text never becomes a formula or a link, sheet
names are valid and unique, shares show as the study shows them, a failed write leaves nothing."""

from __future__ import annotations

import datetime as dt
import zipfile

import openpyxl
import pytest
from xlsxwriter.worksheet import Worksheet

from reports import workbook
from reports.workbook import Book, Column, Share


def test_text_that_looks_like_a_formula_or_a_link_stays_text(tmp_path):
    path = tmp_path / "t.xlsx"
    with Book(path) as book:
        ws = book.sheet("Quotes")
        for row, text in enumerate(["=HYPERLINK(\"http://x\",\"y\")", "+7 700", "-1+2", "@SUM(A1)",
                                    "http://example.org"]):
            book.cell(ws, row, 0, text)
        book.formula(ws, 6, 0, "=1+1")
    sheet = openpyxl.load_workbook(path)["Quotes"]
    values = [sheet.cell(row=r, column=1) for r in range(1, 6)]
    assert [c.data_type for c in values] == ["s"] * 5
    assert values[0].value == "=HYPERLINK(\"http://x\",\"y\")" and values[4].hyperlink is None
    assert sheet.cell(row=7, column=1).data_type == "f"  # the one written on purpose


def test_sheet_names_are_cut_to_31_characters_cleaned_and_unique_without_case(tmp_path):
    with Book(tmp_path / "t.xlsx") as book:
        names = [book.sheet(n).name for n in ("Ак-Муз [АКМ]: итоги/2026", "x" * 40, "X" * 40, "Quotes",
                                              "quotes")]
    assert names[0] == "Ак-Муз -АКМ-- итоги-2026"
    assert names[1] == "x" * 31 and names[2] == "X" * 27 + " (2)" and names[4] == "quotes (2)"
    assert all(len(n) <= 31 for n in names)


def test_shares_suppressed_unreliable_or_plain_and_tables_freeze_and_filter(tmp_path):
    path = tmp_path / "t.xlsx"
    with Book(path) as book:
        ws = book.sheet("Gaps")
        book.table(ws, 0, [Column("Service"), Column("S", "share"), Column("n", "int")],
                   [("WAT", Share(42.25), 120), ("SAN", Share(10.0, suppressed=True), 12),
                    ("SWM", Share(55.0, unreliable=True), 30)])
    sheet = openpyxl.load_workbook(path)["Gaps"]
    assert [sheet.cell(row=r, column=2).value for r in (2, 3, 4)] == [42.25, "*", "(55.0)"]
    assert sheet.cell(row=2, column=2).number_format == "0.0"
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:C4"


def test_a_write_that_fails_leaves_no_workbook_behind(tmp_path):
    path = tmp_path / "t.xlsx"
    with pytest.raises(RuntimeError), Book(path) as book:
        book.sheet("One")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


TRICKY_TEXTS = ["Айыл", "plain", "", " leading", "trailing ", "tab\t", "a & b", "x < y > z",
                'say "hi"', "two\nlines", "_x0041_ stays literal", "bell\x07", "\ufffe",
                "<r>not rich</r>", "=1+2", "@SUM(A1)"]


def _same_workbook_written_twice(tmp_path, monkeypatch, constant_memory: bool) -> tuple[dict, dict]:
    """The parts of one workbook written with :class:`StreamedSheet` and with xlsxwriter's own
    worksheet (docProps/core.xml, which holds the time of writing, left out)."""
    columns = [Column("text"), Column("int", "int"), Column("num", "num"), Column("pct", "share"),
               Column("date", "date"), Column("when", "datetime"), Column("time", "time")]
    rows = [(text, i * 1_000_003, [1 / 3, -2.5e-7, 1e20, 0, 7][i % 5], 42.25,
             dt.date(2026, 11, 9 + i % 5), dt.datetime(2026, 11, 9, 8, i % 60, 30),
             dt.time(9, i % 60)) for i, text in enumerate(TRICKY_TEXTS)]
    parts = []
    for sheet_class in (workbook.StreamedSheet, Worksheet):
        monkeypatch.setattr(workbook, "StreamedSheet", sheet_class)
        path = tmp_path / f"{sheet_class.__name__}.xlsx"
        with Book(path, constant_memory=constant_memory) as book:
            book.stream(book.sheet("Streamed"), columns, [rows[:5], rows[5:], [(None,) * 7]])
            ws = book.sheet("Cells")
            for r, text in enumerate(TRICKY_TEXTS):
                book.cell(ws, r, 0, text)
                book.cell(ws, r, 1, r % 2 == 0)
                book.cell(ws, r, 2, Share(12.5, unreliable=r % 3 == 0, suppressed=r % 4 == 0))
            if not constant_memory:
                book.table(book.sheet("Table"), 0, [Column("a", "wrap"), Column("n", "int")],
                           [(text * 9, r) for r, text in enumerate(TRICKY_TEXTS)])
        with zipfile.ZipFile(path) as archive:
            parts.append({n: archive.read(n) for n in archive.namelist() if n != "docProps/core.xml"})
    return parts[0], parts[1]


@pytest.mark.parametrize("constant_memory", [True, False])
def test_streamed_sheets_are_byte_for_byte_what_xlsxwriter_writes(tmp_path, monkeypatch,
                                                                  constant_memory):
    streamed, plain = _same_workbook_written_twice(tmp_path, monkeypatch, constant_memory)
    assert list(streamed) == list(plain)
    for name in plain:
        assert streamed[name] == plain[name], name
    where = "xl/worksheets/sheet1.xml" if constant_memory else "xl/sharedStrings.xml"
    assert b"_x005F_x0041_ stays literal" in plain[where]  # the escaped texts were written too
