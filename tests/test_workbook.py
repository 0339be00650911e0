"""The one way workbooks are written: respondent text never becomes a formula or a link, sheet
names are valid and unique, shares show as the study shows them, a failed write leaves nothing."""

from __future__ import annotations

import openpyxl
import pytest

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
