"""The gap report, opened with openpyxl: its sheets in three languages, values that are the marts'
values, suppressed cells ``*`` and unreliable ones in brackets with their footnotes, the summary
matrix's colour scale and icons, two charts per municipality reading the numbers they show, a
municipality without an LSG assessment and a service nobody uses shown as what they are, round
changes only when two rounds exist, a dictionary entry for every column shown, and no formula
anywhere (quotes that look like formulas stay text)."""

from __future__ import annotations

import datetime as dt

import duckdb
import openpyxl
import pytest
from openpyxl.chart import BarChart, ScatterChart
from openpyxl.utils import column_index_from_string

from reports.gap_columns import FIELDS
from reports.gap_report import write_gap_report
from reports.gap_texts import SHEETS
from reports.marts import ReportError
from reports.texts import COMMON
from tests import report_world as world

NOW = dt.datetime(2026, 12, 1, 10, 0)


@pytest.fixture(scope="module")
def one_round(study, tmp_path_factory):
    """The r1 study (report_world) reported in each language: lang -> (workbook, conn)."""
    bundled = study[0]
    conn = world.build(bundled)
    out = tmp_path_factory.mktemp("gap")
    books = {lang: openpyxl.load_workbook(write_gap_report(
        conn, world.definition(bundled), out / lang, lang=lang, now=NOW)) for lang in ("ru", "ky", "en")}
    return books, conn


@pytest.fixture(scope="module")
def two_rounds(study, tmp_path_factory):
    bundled = study[0]
    conn = world.build(bundled, two_rounds=True)
    path = write_gap_report(conn, world.definition(bundled), tmp_path_factory.mktemp("gap2"),
                            lang="en", now=NOW)
    return openpyxl.load_workbook(path), conn, path


def rows(ws) -> list[list]:
    return [list(r) for r in ws.iter_rows(values_only=True)]


def table(ws, header_first: str) -> tuple[list, list[list]]:
    """The header row starting with ``header_first`` and the rows under it up to a blank one."""
    all_rows = rows(ws)
    top = next(i for i, r in enumerate(all_rows) if r[0] == header_first)
    body = []
    for r in all_rows[top + 1:]:
        if r[0] is None and r[1] is None:
            break
        body.append(r)
    return all_rows[top], body


def gap(conn, municipality: str, service: str, round_code: str = "r1") -> dict:
    cursor = conn.execute("SELECT * FROM gap_scores WHERE round = ? AND municipality_code = ? "
                          "AND service_code = ?", [round_code, municipality, service])
    names = [d[0] for d in cursor.description]
    return dict(zip(names, cursor.fetchone(), strict=True))


def texts(ws) -> list[str]:
    return [v for r in ws.iter_rows(values_only=True) for v in r if isinstance(v, str)]


def test_sheets_are_cover_method_summary_one_per_municipality_annex_and_dictionary_per_language(
        one_round):
    books, _ = one_round
    for lang, book in books.items():
        names = [SHEETS[k].get(lang) for k in ("cover", "method", "summary")]
        names += ["A", "B"]
        names += [SHEETS[k].get(lang) for k in ("themes", "quotes", "group_scores", "quality",
                                                "enumerators", "indicators", "indicator_values",
                                                "dictionary")]
        assert book.sheetnames == names
        assert all(len(n) <= 31 for n in book.sheetnames)
        assert len({n.lower() for n in book.sheetnames}) == len(book.sheetnames)


def test_a_municipality_sheet_lists_services_by_importance_with_the_marts_values(one_round):
    books, conn = one_round
    ws = books["en"]["A"]
    header, body = table(ws, FIELDS["priority"].header.en)
    col = {h: i for i, h in enumerate(header) if h}
    assert [r[col["Service"]] for r in body] == ["WA", "RO", "SE"]  # importance 70, 30, 30
    assert [r[col["Priority"]] for r in body] == [1, 2, 3]
    wa, want = body[0], gap(conn, "A", "WA")
    assert wa[col["Base (n)"]] == want["n"] == 10
    assert wa[col["Satisfaction, %"]] == pytest.approx(want["satisfaction"]) == pytest.approx(70)
    assert wa[col["95% CI, low"]] == pytest.approx(want["satisfaction_ci_low"])
    assert wa[col["95% CI, high"]] == pytest.approx(want["satisfaction_ci_high"])
    assert wa[col["Importance, %"]] == pytest.approx(70)
    assert wa[col["Importance base (n)"]] == 10
    assert wa[col["LSG effectiveness (0–100)"]] == pytest.approx(40)
    assert wa[col["Indicator coverage, %"]] == pytest.approx(100)
    assert wa[col["Gap S − E"]] == pytest.approx(want["gap"]) == pytest.approx(30)
    assert wa[col["Gap: CI low"]] == pytest.approx(want["gap_ci_low"])
    assert wa[col["Gap status"]] == "▲ Perception exceeds performance"
    assert wa[col["Quadrant"]] == "Expectation risk"
    assert wa[col["Recommendation (draft)"]].startswith("[DRAFT] Strengthen «WA»")
    top = next(i for i, r in enumerate(rows(ws), start=1) if r[0] == "Priority")
    assert ws.freeze_panes == f"A{top + 1}" and ws.auto_filter.ref == f"A{top}:T{top + 3}"


def test_suppressed_cells_show_a_star_and_unreliable_ones_brackets_each_with_its_footnote(one_round):
    books, _ = one_round
    ws = books["en"]["A"]
    header, body = table(ws, "Priority")
    col = {h: i for i, h in enumerate(header) if h}
    ro, se = body[1], body[2]
    assert ro[col["Base (n)"]] == 5
    assert ro[col["Satisfaction, %"]] == "(40.0)" and ro[col["Gap S − E"]] == "(10.0)"
    assert ro[col["95% CI, low"]].startswith("(") and ro[col["Gap status"]] == "● Aligned"
    assert se[col["Base (n)"]] == 0
    assert [se[col[h]] for h in ("Satisfaction, %", "95% CI, low", "Gap S − E")] == ["*"] * 3
    notes = texts(ws)
    assert COMMON["suppressed_note"].en.format(n=4) in notes
    assert COMMON["unreliable_note"].en.format(low=4, high=7) in notes
    assert COMMON["base_note"].en in notes


def test_a_service_nobody_uses_and_a_municipality_without_an_assessment_say_what_they_are(one_round):
    books, _ = one_round
    header, body = table(books["en"]["A"], "Priority")
    col = {h: i for i, h in enumerate(header) if h}
    se = body[2]
    assert se[col["Note"]] == ("No respondent rated the service (n = 0). Not backed by a checked "
                               "document: 1 indicator(s).")
    assert se[col["Gap status"]] == "— Insufficient data"
    assert se[col["Recommendation (draft)"]].startswith("[DRAFT] Check whether «SE» is provided")
    b = books["en"]["B"]
    assert "LSG assessment: not received — effectiveness E and the gap cannot be computed." in texts(b)
    header, body = table(b, "Priority")
    wa = body[0]
    assert wa[col["LSG effectiveness (0–100)"]] is None and wa[col["Gap S − E"]] is None
    assert wa[col["Note"]] == "No LSG assessment."
    assert wa[col["Recommendation (draft)"]].startswith(
        "[DRAFT] Carry out the LSG effectiveness assessment")


def test_the_summary_matrix_holds_the_gaps_on_a_diverging_scale_with_icons_and_marks(one_round):
    books, conn = one_round
    ws = books["en"]["Summary"]
    header, body = table(ws, "Municipality")
    assert header[:4] == ["Municipality", "WA", "RO", "SE"]
    a, b = body[0], body[1]
    assert a[:4] == ["A", pytest.approx(gap(conn, "A", "WA")["gap"]), pytest.approx(10), "*"]
    assert b[:4] == ["B", "—", "—", "*"]
    top = next(i for i, r in enumerate(rows(ws), start=1) if r[0] == "Municipality")
    wa, ro = ws.cell(top + 1, 2), ws.cell(top + 1, 3)
    assert wa.font.b is bool(gap(conn, "A", "WA")["gap_established"])
    assert wa.number_format == "+0.0;-0.0;0.0"
    assert ro.number_format.startswith('"(+"')  # unreliable: in brackets, still a number
    kinds = {rule.type for cf in ws.conditional_formatting for rule in cf.rules}
    assert kinds == {"colorScale", "iconSet"}
    assert ws.freeze_panes == f"B{top + 1}"
    assert "Bold: the gap is established (its 95% interval excludes 0)." in texts(ws)


def test_each_municipality_sheet_has_a_bar_and_a_quadrant_chart_over_the_numbers_shown(one_round):
    books, conn = one_round
    ws = books["en"]["A"]
    charts = ws._charts
    assert sorted(type(c).__name__ for c in charts) == ["BarChart", "ScatterChart"]
    bar = next(c for c in charts if isinstance(c, BarChart))
    values = [v for v in _ref_values(ws, bar.series[0].val.numRef.f)]
    assert values == [pytest.approx(70), pytest.approx(40), None]  # WA, RO, SE suppressed
    e = _ref_values(ws, bar.series[1].val.numRef.f)
    assert e == [pytest.approx(40), pytest.approx(30), pytest.approx(50)]
    scatter = next(c for c in charts if isinstance(c, ScatterChart))
    points = scatter.series[0]
    assert _ref_values(ws, points.yVal.numRef.f) == [pytest.approx(70), pytest.approx(40)]
    assert _ref_values(ws, points.xVal.numRef.f) == [pytest.approx(40), pytest.approx(30)]
    index = column_index_from_string(points.xVal.numRef.f.split("$")[1])
    assert any(d.hidden and d.min <= index <= d.max for d in ws.column_dimensions.values())


def _ref_values(ws, ref: str) -> list:
    """The values of a one-column reference like 'A'!$W$8:$W$10."""
    cells = ref.split("!")[1].replace("$", "")
    first, last = cells.split(":")
    return [c[0].value for c in ws[first:last]]


def test_no_cell_is_a_formula_and_quotes_that_look_like_formulas_stay_text(one_round):
    books, _ = one_round
    for book in books.values():
        for ws in book.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
    quotes = books["en"]["Quotes"]
    cells = {c.value: c for row in quotes.iter_rows() for c in row if c.value in world.INJECTIONS}
    assert set(cells) == set(world.INJECTIONS)
    assert all(c.data_type == "s" and c.hyperlink is None for c in cells.values())
    header, body = table(books["en"]["A"], "Priority")
    assert f"Participants suggested: “{world.SUGGESTION}”" in body[0][header.index(
        "Recommendation (draft)")]


def test_numbers_carry_number_formats_never_long_decimals(one_round):
    books, _ = one_round
    for ws in books["en"].worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, float) and cell.value != round(cell.value, 3):
                    assert cell.number_format != "General", (ws.title, cell.coordinate)


def test_tables_have_frozen_headers_and_filters(one_round):
    books, _ = one_round
    book = books["en"]
    for name in ("Focus-group themes", "Quotes", "Data quality", "Enumerators", "Indicators",
                 "Indicator values", "Data dictionary"):
        ws = book[name]
        assert ws.freeze_panes == "A2", name
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:"), name
    assert book["A"].auto_filter.ref is not None


def test_the_cover_names_round_fieldwork_days_pull_and_what_was_left_out_and_why(one_round):
    books, _ = one_round
    cover = books["en"]["Cover"]
    facts = {r[0]: r[1] for r in rows(cover) if r[0] and r[1] is not None}
    assert facts["Round"] == "r1"
    assert facts["Fieldwork"] == "2026-11-09 — 2026-11-10"
    assert facts["Data pulled from the server"] == "not recorded"  # no sync in this world
    assert facts["Workbook prepared"] == NOW
    _, forms = table(cover, "Form")
    assert forms[0][:4] == ["Citizen survey (interviews)", 21, 20, 1]
    assert forms[1][:4] == ["LSG effectiveness assessment", 1, 1, 0]
    assert forms[2][:4] == ["Focus groups (sessions)", 1, 1, 0]
    why = [r for r in rows(cover) if r[1] == "No consent"]
    assert why == [["Citizen survey (interviews)", "No consent", 1, None] + [None] * (len(why[0]) - 4)]
    assert "Rounds in the warehouse: r1; compared with the one before: none (first round)" in texts(cover)
    assert books["en"].sheetnames[-1] in texts(cover)  # the contents list every sheet


def test_the_method_sheet_fills_in_the_studys_own_settings(one_round):
    books, _ = one_round
    method = " ".join(texts(books["en"]["Method"]))
    assert "with n below 4 the value is not shown (*); with n from 4 to 7" in method
    assert "|G| ≤ 10: aligned" in method and "cut at 50" in method
    assert "villages as strata (every village interviewed)" in method
    assert "«8 — Do not use / no such service»" in method
    settings = {r[0]: r[1] for r in rows(books["en"]["Method"]) if r[0] and str(r[0]).startswith(
        ("method.", "quality."))}
    assert settings["method.suppress_below"] == "4" and settings["method.villages"] == "strata"


def test_labels_follow_the_language(one_round):
    books, _ = one_round
    for lang, status in (("ru", "▲ Восприятие выше работы"), ("ky", "▲ Кабыл алуу иштен жогору"),
                         ("en", "▲ Perception exceeds performance")):
        book = books[lang]
        header, body = table(book["A"], FIELDS["priority"].header.get(lang))
        assert COMMON["satisfaction"].get(lang) in header
        assert body[0][header.index(COMMON["status"].get(lang))] == status
        summary = book[SHEETS["summary"].get(lang)]
        assert summary.cell(4, 1).value == COMMON["municipality"].get(lang)


def test_the_data_dictionary_explains_every_column_shown(one_round):
    books, _ = one_round
    for lang, book in books.items():
        dictionary = book[SHEETS["dictionary"].get(lang)]
        listed = {(r[0], r[1]) for r in rows(dictionary)[1:]}
        assert all(r[2] for r in rows(dictionary)[1:])
        each = SHEETS["municipality_sheets"].get(lang)
        for name in book.sheetnames:
            if name in (SHEETS["cover"].get(lang), SHEETS["method"].get(lang), "A", "B",
                        SHEETS["summary"].get(lang), SHEETS["enumerators"].get(lang)):
                continue
            header = rows(book[name])[0]
            missing = [h for h in header if h and (name, h) not in listed]
            assert not missing, (lang, name, missing)
        header, _ = table(book["A"], FIELDS["priority"].header.get(lang))
        assert not [h for h in header[:20] if h and (each, h) not in listed]


def test_two_rounds_add_the_changes_sheet_with_the_marts_values(two_rounds):
    book, conn, _ = two_rounds
    assert "Changes" in book.sheetnames
    ws = book["Changes"]
    assert ws["A1"].value == "Changes: r1 → r2"
    header, body = table(ws, "Municipality")
    col = {h: i for i, h in enumerate(header) if h}
    wa = next(r for r in body if r[col["Service"]] == "WA")
    want = dict(zip(*(lambda c: ([d[0] for d in c.description], c.fetchone()))(conn.execute(
        "SELECT * FROM gap_changes WHERE service_code = 'WA'")), strict=True))
    assert wa[col["Change in S"]] == pytest.approx(want["satisfaction_change"]) == pytest.approx(-30)
    assert wa[col["Change in S: CI low"]] == pytest.approx(want["satisfaction_change_ci_low"])
    assert wa[col["Change"]] == "No significant change"
    assert wa[col["Status, now"]] == "▼ Performance under-recognised"
    se = next(r for r in body if r[col["Service"]] == "SE")
    assert se[col["Change in S"]] == "*"
    cover = texts(book["Cover"])
    assert "Rounds in the warehouse: r1, r2; compared with the one before: r1" in cover
    assert any(t.startswith("Municipalities with no data in this round") and t.endswith(": B")
               for t in cover)
    assert "Nothing in this round: no focus-group session recorded a theme." in texts(
        book["Focus-group themes"])


def test_the_earlier_round_is_reported_on_request_and_has_no_changes_sheet(two_rounds, study,
                                                                             tmp_path):
    _, conn, _ = two_rounds
    path = write_gap_report(conn, world.definition(study[0]), tmp_path, round_code="r1", lang="en")
    assert path.name == "gap_report_r1.xlsx"
    assert "Changes" not in openpyxl.load_workbook(path).sheetnames


def test_an_unknown_round_or_an_unscored_warehouse_is_a_clear_report_error(two_rounds, study,
                                                                           tmp_path):
    _, conn, _ = two_rounds
    with pytest.raises(ReportError, match=r"round 'r9' has no scores \(rounds scored: r1, r2\)"):
        write_gap_report(conn, world.definition(study[0]), tmp_path, round_code="r9")
    with pytest.raises(ReportError, match="run 'aimak score'"):
        write_gap_report(duckdb.connect(), world.definition(study[0]), tmp_path)
    assert list(tmp_path.iterdir()) == []
