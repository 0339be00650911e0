"""Scorecards, opened with openpyxl: one file per municipality, one A4 portrait page (print area,
fit to one page, the header row repeated), services by importance with the marts' values,
suppressed ``*`` and unreliable values in brackets with their footnotes, drafted recommendations
marked as drafts, a bar chart, in Kyrgyz, Russian and English."""

from __future__ import annotations

import openpyxl
import pytest
from openpyxl.chart import BarChart

from reports.gap_columns import FIELDS
from reports.gap_texts import WORDS
from reports.scorecard import write_scorecards
from reports.texts import COMMON
from tests import report_world as world


@pytest.fixture(scope="module")
def cards(study, tmp_path_factory):
    """lang -> {municipality code: the scorecard's only sheet}, and the warehouse."""
    bundled = study[0]
    conn = world.build(bundled)
    out = {}
    for lang in ("ky", "ru", "en"):
        paths = write_scorecards(conn, world.definition(bundled), tmp_path_factory.mktemp(lang),
                                 lang=lang)
        out[lang] = {p.stem.removeprefix("scorecard_"): openpyxl.load_workbook(p) for p in paths}
    return out, conn


def values(ws) -> list[list]:
    return [list(r) for r in ws.iter_rows(values_only=True)]


def service_rows(ws, lang: str) -> tuple[list, list[list]]:
    all_rows = values(ws)
    top = next(i for i, r in enumerate(all_rows) if r[0] == FIELDS["priority"].header.get(lang))
    body = []
    for r in all_rows[top + 1:]:
        if not isinstance(r[0], int):
            break
        body.append(r[:9])  # the columns after the ninth hold the chart's numbers, hidden
    return all_rows[top][:9], body


def test_one_scorecard_per_municipality_of_the_round_named_by_its_code(cards):
    books, _ = cards
    assert all(set(by_code) == {"A", "B"} for by_code in books.values())
    assert all(len(b.worksheets) == 1 for by_code in books.values() for b in by_code.values())


def test_a_scorecard_prints_on_one_a4_portrait_page_with_its_header_row_repeated(cards):
    books, _ = cards
    ws = books["ky"]["A"].worksheets[0]
    assert ws.page_setup.paperSize == 9 and ws.page_setup.orientation == "portrait"
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    # one page wide and one tall (1 is the file format's default, so a writer may leave it out)
    # None is Excel's default of 1; 0 would be "as many pages tall as needed"
    assert ws.page_setup.fitToWidth in (None, 1) and ws.page_setup.fitToHeight in (None, 1)
    top = next(i for i, r in enumerate(values(ws), start=1)
               if r[0] == FIELDS["priority"].header.ky)
    assert ws.print_title_rows == f"${top}:${top}"
    area = ws.print_area[0] if isinstance(ws.print_area, list) else ws.print_area
    assert area.replace("$", "").split("!")[-1].startswith("A1:I")
    last_row = int(area.replace("$", "").split(":")[-1][1:])
    chart = ws._charts[0]
    assert chart.anchor._from.row < last_row  # the chart is inside the printed page


def test_services_come_by_importance_with_the_marts_values_and_marks(cards):
    books, conn = cards
    ws = books["en"]["A"].worksheets[0]
    header, body = service_rows(ws, "en")
    assert header == [FIELDS[k].header.en for k in ("priority", "service", "importance", "n",
                                                   "satisfaction", "effectiveness", "gap",
                                                   "status", "quadrant")]
    assert [r[1] for r in body] == ["WA", "RO", "SE"]
    wa, ro, se = body
    want = conn.execute("SELECT satisfaction, effectiveness, gap FROM gap_scores "
                        "WHERE round = 'r1' AND municipality_code = 'A' AND service_code = 'WA'"
                        ).fetchone()
    assert wa[2:7] == [pytest.approx(70), 10, pytest.approx(want[0]), pytest.approx(want[1]),
                       pytest.approx(want[2])]
    assert wa[7:] == ["▲ Perception exceeds performance", "Expectation risk"]
    assert ro[4] == "(40.0)" and ro[6] == "(10.0)" and ro[7] == "● Aligned"
    assert se[3] == 0 and se[4] == "*" and se[6] == "*" and se[7] == "— Insufficient data"
    notes = [v for r in values(ws) for v in r if isinstance(v, str)]
    assert COMMON["suppressed_note"].en.format(n=4) in notes
    assert COMMON["unreliable_note"].en.format(low=4, high=7) in notes


def test_the_three_most_important_services_drafts_are_on_the_page_marked_as_drafts(cards):
    books, _ = cards
    ws = books["en"]["A"].worksheets[0]
    texts = [v for r in values(ws) for v in r if isinstance(v, str)]
    at = texts.index(WORDS["scorecard_priorities"].en)
    drafts = texts[at + 1:at + 4]
    assert [d[:22] for d in drafts] == ["[DRAFT] Strengthen «WA", "[DRAFT] Improve «RO» f",
                                        "[DRAFT] Check whether "]
    assert texts[at + 4] == COMMON["draft"].en
    assert any(isinstance(c, BarChart) for c in ws._charts)


def test_a_municipality_without_an_assessment_says_so_on_its_card(cards):
    books, _ = cards
    ws = books["ru"]["B"].worksheets[0]
    texts = [v for r in values(ws) for v in r if isinstance(v, str)]
    assert WORDS["assessed_no"].ru in texts
    _, body = service_rows(ws, "ru")
    assert [r[1] for r in body] == ["WA", "RO", "SE"]
    assert all(r[5] is None and r[7] == "— Недостаточно данных" for r in body)


@pytest.mark.parametrize("lang", ["ky", "ru", "en"])
def test_a_scorecard_speaks_the_chosen_language(cards, lang):
    books, _ = cards
    ws = books[lang]["A"].worksheets[0]
    assert ws["A1"].value == WORDS["scorecard_title"].get(lang).format(name="A")
    header, body = service_rows(ws, lang)
    assert COMMON["satisfaction"].get(lang) in header
    assert body[0][8] == COMMON["quadrant.expectation_risk"].get(lang)
    assert all(cell.data_type != "f" for row in ws.iter_rows() for cell in row)
