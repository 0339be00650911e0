"""Respondent text that looks like a formula stays text from the phone to the workbook: a
focus-group session whose quote begins with '=' (and a group suggestion beginning with '+') is
posted over OpenRosa to the local server, synced, scored and reported; in the gap report the
quote is a string cell, not a formula, and no cell of any sheet is a formula."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
from hand_world import Poster

from forms import BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY
from forms.build import load_study
from forms.focus_group import focus_group
from forms.lsg import lsg_assessment
from forms.xlsform import write_xlsform
from reports.gap_report import write_gap_report

QUOTE = '=HYPERLINK("http://evil.example/x","click me")'
SUGGESTION = "+7 700 000 000 call the water office"
ROUND = "r2026_baseline"
PLACE = {"oblast": "JA", "rayon": "BZK", "municipality": "AKM"}
START, END = "2026-11-10T10:00:00.000+06:00", "2026-11-10T11:30:00.000+06:00"


def assessment() -> dict:
    return {"start": START, "end": END, "study_round": ROUND,
            "assessment": {"assessor": "A01", **PLACE, "assessment_date": "2026-11-10",
                           "lsg_informant": "head"},
            "wat": {"wat_piped_share": "80", "wat_piped_share_verified": "no",
                    "wat_supply_hours": "12", "wat_supply_hours_verified": "no"}}


def session() -> dict:
    return {"start": START, "end": END, "study_round": ROUND,
            "session": {**PLACE, "village": "AKM01", "fg_date": "2026-11-10",
                        "fg_start_time": "10:00:00.000+06:00", "fg_end_time": "11:30:00.000+06:00",
                        "fg_group_type": "lsg_staff", "fg_moderator": "M1", "fg_notetaker": "N1",
                        "fg_language": "ru", "fg_consent_record": "no"},
            "fg_participant": [{"fg_p_code": f"P{i}", "fg_p_sex": "f", "fg_p_age_group": "30_44",
                                "fg_p_role": "specialist"} for i in range(1, 8)],
            "fg_n_participants": "7", "fg_ranking": "WAT SAN SWM",
            "fg_theme": [{"fg_theme_service": "WAT", "fg_theme_code": "access",
                          "fg_theme_sentiment": "negative", "fg_theme_agreed": "5",
                          "fg_theme_summary": "Воды нет по утрам",
                          "fg_quote": [{"fg_quote_text": QUOTE, "fg_quote_participant": "P1",
                                        "fg_quote_minute": "12"}],
                          "fg_theme_recommendation": SUGGESTION}],
            "scores": {"wat_fg_satisfaction": "2", "wat_fg_performance": "4"}}


@pytest.fixture(scope="module")
def reported(tmp_path_factory):
    """The two forms deployed to the local server, one assessment and one session posted by
    hand, synced into a warehouse, scored and reported (English)."""
    import duckdb

    from etl.deploy import deploy_forms
    from etl.http import HttpClient
    from etl.kobo import KoboClient
    from etl.sync import deployed_assets, sync_form
    from fieldsim.server import LocalServer
    from warehouse.db import connect, landing_dir
    from warehouse.scoring import score
    from warehouse.store import WarehouseStore

    root = tmp_path_factory.mktemp("injection")
    definition, geography = load_study(BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY)
    forms = root / "forms"
    forms.mkdir()
    for spec in (lsg_assessment(definition, geography), focus_group(definition, geography)):
        write_xlsform(spec, forms / f"{spec.form_id}.xlsx")
    warehouse = root / "warehouse.duckdb"
    with LocalServer(root / "server") as server:
        kobo = KoboClient(HttpClient(server.api_url, server.token))
        uids = {d.form_id: d.asset_uid for d in deploy_forms(kobo, forms)}
        poster = Poster(server, kobo)
        poster.post(uids["lsg_assessment"], assessment())
        poster.post(uids["focus_group"], session())
        with connect(warehouse) as conn:
            store = WarehouseStore(conn, landing_dir(warehouse))
            for asset in deployed_assets(kobo):
                sync_form(kobo, store, asset)
    conn = duckdb.connect(str(warehouse))
    score(conn, definition, geography)
    path = write_gap_report(conn, definition, root / "out", lang="en")
    stored = conn.execute("SELECT quote FROM fg_quotes").fetchall()
    conn.close()
    return openpyxl.load_workbook(path), stored


def test_a_quote_beginning_with_equals_arrives_in_the_warehouse_as_typed(reported):
    _, stored = reported
    assert stored == [(QUOTE,)]


def test_the_quote_is_a_text_cell_of_the_gap_report_not_a_formula_or_a_link(reported):
    book, _ = reported
    cells = [c for row in book["Quotes"].iter_rows() for c in row if c.value == QUOTE]
    assert len(cells) == 1
    assert cells[0].data_type == "s" and cells[0].hyperlink is None


def test_the_cover_says_when_the_data_was_pulled_from_the_server(reported):
    book, _ = reported
    facts = {r[0]: r[1] for r in book["Cover"].iter_rows(values_only=True) if r[0]}
    pulled = facts["Data pulled from the server"]
    assert isinstance(pulled, dt.datetime) and pulled.date() >= dt.date(2026, 1, 1)


def test_no_cell_of_any_sheet_is_a_formula(reported):
    book, _ = reported
    formulas = [(ws.title, c.coordinate) for ws in book.worksheets for row in ws.iter_rows()
                for c in row if c.data_type == "f"]
    assert formulas == []
    drafts = [c.value for row in book["Akman aiyl aimak"].iter_rows() for c in row
              if isinstance(c.value, str) and SUGGESTION in c.value]
    assert drafts and all(d.startswith("[DRAFT] ") for d in drafts)
