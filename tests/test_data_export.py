"""The clean-data workbooks (data_<form>.xlsx) as KoboToolbox's own XLS export lays them out:
one sheet per repeat linked by _index / _parent_index, questions in the form's order, a
select_multiple as its answer and 0/1 columns, meta columns last, labels in ru/ky/en or codes,
personal data left out unless asked, only the clean submissions, respondent text as text.

The warehouse is filled as a sync fills it: the study's forms get the content KoboToolbox builds
from their XLSForms (the local server's builder), their records go into raw_submissions, and the
real staging build makes the tables; Kobo's own sample asset and data page (the kobo-contract
fixtures) stand for any other form.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import openpyxl
import pytest

from aimak.errors import ConfigError, DefinitionError
from etl.normalize import form_schema
from fieldsim.server.content import build_content
from forms.build import generate_forms
from forms.loader import load_definition
from reports import data_export
from reports.data_export import TEXTS, write_data_workbooks
from reports.data_layout import STATUS_TEXTS
from warehouse.raw import land_page, load_page
from warehouse.schema import migrate
from warehouse.staging import build_form_tables
from warehouse.store import WarehouseStore

CONTRACT = Path(__file__).resolve().parent / "fixtures" / "kobo-contract"
META = ["_id", "_uuid", "_submission_time", "_validation_status", "_notes", "_status",
        "_submitted_by", "__version__", "_tags", "_index"]
QUOTES = ["=HYPERLINK(\"http://x\",\"y\")", "+7 700 123", "@SUM(A1)", "-1+2"]


def asset_of(spec) -> dict:
    """The asset KoboToolbox holds for a generated form (content as the server builds it)."""
    book = {title: [{k: v for k, v in zip(rows[0], row, strict=True) if v != ""} for row in rows[1:]]
            for title, rows in zip(("survey", "choices", "settings"), spec.sheets(), strict=True)}
    content, name = build_content(book)
    return {"uid": f"a{spec.form_id}", "name": name, "content": content,
            "deployed_version_id": f"v{spec.version}"}


def paths_of(asset: dict) -> dict[str, str]:
    return {row["name"]: row["$xpath"] for row in asset["content"]["survey"] if row.get("name")}


def record(asset: dict, number: int, status: str | None = None, **values) -> dict:
    """A data record as the server returns it: answers under their group paths."""
    paths = paths_of(asset)
    out = {"_id": number, "_uuid": f"uuid-{asset['uid']}-{number}",
           "meta/instanceID": f"uuid:{asset['uid']}-{number}", "formhub/uuid": "f" * 32,
           "__version__": asset["deployed_version_id"], "_status": "submitted_via_web",
           "_submitted_by": "enum1", "_submission_time": f"2026-11-09T0{number % 10}:30:00",
           "start": "2026-11-09T09:00:00.000+06:00", "end": "2026-11-09T09:25:00.000+06:00",
           "_validation_status": {"uid": status} if status else {}}
    for name, value in values.items():
        out[paths.get(name, name)] = value
    return out


def load_raw(conn, asset: dict, records: list[dict]) -> None:
    for r in records:
        conn.execute("""INSERT INTO raw_submissions VALUES (?, ?, ?, NULL, ?, ?, ?, ?, md5(?),
                        NULL, now(), now(), NULL, NULL)""",
                     [asset["uid"], r["_id"], r["_uuid"], r["__version__"], r["_submission_time"],
                      r["_validation_status"].get("uid"), json.dumps(r), json.dumps(r)])


@pytest.fixture(scope="module")
def world(study):
    """A warehouse with the citizen survey and the focus-group form synced (no LSG assessment
    yet): three interviews, two sessions (the second rejected by a supervisor). Tests only
    read it."""
    definition, geography = study
    specs = {s.form_id: s for s in generate_forms(definition, geography)}
    conn = duckdb.connect()
    migrate(conn)
    store = WarehouseStore(conn, Path("unused"))
    citizen, fg = asset_of(specs["citizen_survey"]), asset_of(specs["focus_group"])
    base = {"enumerator": "E01", "oblast": "JA", "rayon": "BZK", "municipality": "AKM",
            "village": "AKM01", "consent": "yes", "resp_age": "34", "resp_age_group": "30_44",
            "deviceid": "collect:PHONE1", "gps": "41.1 72.9 800 5"}
    interviews = [
        record(citizen, 1, "validation_status_approved", **base, resp_sex="f",
               priority_services="WAT RD", wat_use="1", wat_regularity="4",
               _tags=["checked"], _notes=[{"note": "called back"}]),
        record(citizen, 2, **base, resp_sex="m", priority_services="SAN"),
        record(citizen, 3, "validation_status_not_approved", **base, resp_sex="f"),
    ]
    theme = {"fg_theme/fg_theme_service": "WAT", "fg_theme/fg_theme_code": "quality",
             "fg_theme/fg_theme_sentiment": "negative", "fg_theme/fg_theme_agreed": "5",
             "fg_theme/fg_theme_summary": "Вода бывает мутной.",
             "fg_theme/fg_quote": [{"fg_theme/fg_quote/fg_quote_text": text,
                                    "fg_theme/fg_quote/fg_quote_participant": "P01",
                                    "fg_theme/fg_quote/fg_quote_minute": str(10 + i)}
                                   for i, text in enumerate(QUOTES)]}
    people = [{"fg_participant/fg_p_code": f"P0{i}", "fg_participant/fg_p_sex": "f",
               "fg_participant/fg_p_age_group": "30_44", "fg_participant/fg_p_role": "resident"}
              for i in (1, 2)]
    session = {"oblast": "JA", "rayon": "BZK", "municipality": "AKM", "village": "AKM01",
               "fg_date": "2026-11-10", "fg_group_type": "residents_women",
               "fg_moderator": "Айгүл Асанова", "fg_notetaker": "Бакыт Осмонов",
               "fg_observer_notes": "Активно.", "fg_ranking": "WAT RD SAN",
               "fg_participant": people, "fg_theme": [theme]}
    sessions = [record(fg, 7, **session),
                record(fg, 8, "validation_status_not_approved", **session)]
    for form_id, asset, records in (("citizen_survey", citizen, interviews),
                                    ("focus_group", fg, sessions)):
        store.record_form(form_id, asset)
        load_raw(conn, asset, records)
        result = build_form_tables(conn, form_schema(form_id, asset))
        assert result.quarantined == 0
    yield conn, definition
    conn.close()


def write(world, tmp_path, lang="ru", **options) -> dict[str, Path]:
    conn, definition = world
    return {p.name: p for p in write_data_workbooks(conn, definition, tmp_path, lang, **options)}


def sheet_rows(path: Path, sheet: int | str = 0) -> list[tuple]:
    book = openpyxl.load_workbook(path)
    ws = book.worksheets[sheet] if isinstance(sheet, int) else book[sheet]
    return [tuple(c.value for c in row) for row in ws.iter_rows()]


def as_dicts(rows: list[tuple]) -> list[dict]:
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_one_workbook_per_synced_study_form_and_none_for_a_form_not_synced_yet(world, tmp_path):
    assert sorted(write(world, tmp_path)) == ["data_citizen_survey.xlsx", "data_focus_group.xlsx"]


def test_repeats_are_sheets_linked_by_index_and_parent_index_as_kobo_links_them(world, tmp_path):
    path = write(world, tmp_path, "en")["data_focus_group.xlsx"]
    book = openpyxl.load_workbook(path)
    main_name = "Focus group- session record"  # the title, ':' is not allowed in a sheet name
    assert book.sheetnames == [main_name, "fg_participant", "fg_theme", "fg_quote", "Notes"]
    main = as_dicts(sheet_rows(path, main_name))
    themes, quotes = as_dicts(sheet_rows(path, "fg_theme")), as_dicts(sheet_rows(path, "fg_quote"))
    people = as_dicts(sheet_rows(path, "fg_participant"))
    assert [r["_index"] for r in main] == [7] and [r["_id"] for r in main] == [7]
    assert {r["_parent_table_name"] for r in people + themes} == {main_name}
    assert {r["_parent_index"] for r in people + themes} == {7}
    assert [r["_parent_table_name"] for r in quotes] == ["fg_theme"] * len(QUOTES)
    assert {r["_parent_index"] for r in quotes} == {themes[0]["_index"]}
    assert {r["_submission__id"] for r in people + themes + quotes} == {7}
    assert quotes[0]["_submission__uuid"] == main[0]["_uuid"]
    assert list(quotes[0])[-12:] == ["_index", "_parent_table_name", "_parent_index"] + [
        f"_submission_{m}" for m in META[:-1]]


def test_any_kobo_form_gets_kobos_layout_nested_repeats_and_all(tmp_path, study):
    definition, _geography = study
    asset = json.loads((CONTRACT / "asset_detail.json").read_text())
    page = json.loads((CONTRACT / "data_page_legacy.json").read_text())
    page["results"][0]["_tags"] = ["flagged", "checked"]
    conn = duckdb.connect()
    migrate(conn)
    WarehouseStore(conn, tmp_path).record_form("wash", asset)
    body = json.dumps({"count": 3, "next": None, "previous": None, "results": page["results"]})
    load_page(conn, asset["uid"], "wash", land_page(tmp_path, asset["uid"], "p", body.encode()))
    build_form_tables(conn, form_schema("wash", asset))
    [path] = write_data_workbooks(conn, definition, tmp_path, "en", forms=["wash"], codes=True)
    assert path.name == "data_wash.xlsx"
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Household WASH indicators", "hh_members", "treatments", "Notes"]
    main = sheet_rows(path)
    # the location (geopoint) and the phone's id (deviceid) are left out by their type
    assert list(main[0]) == [
        "start", "end", "today", "village", "hh_size", "water_sources", "water_sources/piped",
        "water_sources/borehole", "water_sources/protected_well", "water_sources/surface_water",
        "water_sources/other", "has_latrine", "member_count", "water_point_photo", *META]
    first = dict(zip(main[0], main[1], strict=True))
    assert first["water_sources"] == "piped borehole" and first["water_sources/piped"] == 1
    assert first["water_sources/other"] == 0 and first["_tags"] == "flagged, checked"
    assert first["_validation_status"] == "validation_status_approved"
    members, treatments = as_dicts(sheet_rows(path, 1)), as_dicts(sheet_rows(path, 2))
    assert [m["member_name"] for m in members] == [
        m["hh_members/member_name"] for r in page["results"] for m in r.get("hh_members", [])]
    by_index = {m["_index"]: m for m in members}
    assert [(by_index[t["_parent_index"]]["member_name"], t["treatment_name"])
            for t in treatments] == [
        (m["hh_members/member_name"], t["hh_members/treatments/treatment_name"])
        for r in page["results"] for m in r.get("hh_members", [])
        for t in m.get("hh_members/treatments", [])]
    assert {t["_parent_table_name"] for t in treatments} == {"hh_members"}


def test_questions_in_the_forms_order_then_kobos_meta_columns_last(world, tmp_path):
    conn, definition = world
    path = write(world, tmp_path, codes=True)["data_citizen_survey.xlsx"]
    header = list(sheet_rows(path)[0])
    survey = [row for row in json.loads(conn.execute(
        "SELECT content FROM forms WHERE form_id = 'citizen_survey'").fetchone()[0])["survey"]]
    names = [r["name"] for r in survey if r.get("name") and not r["type"].startswith(("begin", "note"))
             and r["name"] not in ("gps", "deviceid")]
    choices = [c["name"] for c in survey_choices(conn, "services")]
    expected = []
    for name in names:
        expected.append(name)
        if name == "priority_services":
            expected += [f"priority_services/{c}" for c in choices]
    assert header == expected + META


def survey_choices(conn, list_name: str) -> list[dict]:
    content = json.loads(conn.execute(
        "SELECT content FROM forms WHERE form_id = 'citizen_survey'").fetchone()[0])
    return [c for c in content["choices"] if c["list_name"] == list_name]


def test_select_multiple_is_its_answer_then_one_0_1_column_per_choice(world, tmp_path):
    conn, definition = world
    path = write(world, tmp_path, "en")["data_citizen_survey.xlsx"]
    rows = sheet_rows(path)
    question = definition.importance.text.en
    services = {s.code: s.name.en for s in definition.services}
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first[question] == f"{services['WAT']} {services['RD']}"
    assert first[f"{question}/{services['WAT']}"] == 1 and first[f"{question}/{services['RD']}"] == 1
    assert first[f"{question}/{services['SAN']}"] == 0
    codes = as_dicts(sheet_rows(write(world, tmp_path / "codes", codes=True)[
        "data_citizen_survey.xlsx"]))
    assert codes[0]["priority_services"] == "WAT RD" and codes[0]["priority_services/SAN"] == 0


@pytest.mark.parametrize("lang", ["ru", "ky", "en"])
def test_headers_and_answers_are_labels_in_the_chosen_language(world, tmp_path, lang):
    conn, definition = world
    paths = write(world, tmp_path, lang)
    rows = as_dicts(sheet_rows(paths["data_citizen_survey.xlsx"]))
    sex = definition.text("resp_sex").get(lang)
    assert [r[sex] for r in rows] == [definition.sexes[0].label.get(lang),
                                      definition.sexes[1].label.get(lang)]
    assert rows[0]["_validation_status"] == STATUS_TEXTS["validation_status_approved"].get(lang)
    book = openpyxl.load_workbook(paths["data_focus_group.xlsx"])
    assert book.sheetnames[0] == definition.text("form_focus_group").get(lang).replace(":", "-")[:31]
    assert book.sheetnames[-1] == TEXTS["notes_sheet"].get(lang)
    quote_header = sheet_rows(paths["data_focus_group.xlsx"], "fg_quote")[0][0]
    assert quote_header == definition.text("fg_quote_text").get(lang)


def test_personal_data_is_left_out_unless_asked_and_the_notes_say_which(world, tmp_path):
    conn, definition = world
    left_out = write(world, tmp_path)
    included = write(world, tmp_path / "all", include_personal=True, codes=True)
    citizen = sheet_rows(left_out["data_citizen_survey.xlsx"], 0)[0]
    fg = sheet_rows(left_out["data_focus_group.xlsx"], 0)[0]
    gps = definition.text("gps").ru
    assert gps not in citizen and f"_{gps}_latitude" not in citizen and "deviceid" not in citizen
    assert definition.text("fg_moderator").ru not in fg and "fg_audio" not in fg
    assert definition.text("fg_observer_notes").ru not in fg
    assert definition.text("fg_quote_participant").ru not in sheet_rows(
        left_out["data_focus_group.xlsx"], "fg_quote")[0]
    with_labels = write(world, tmp_path / "labels", include_personal=True)
    assert f"_{gps}_latitude" in sheet_rows(with_labels["data_citizen_survey.xlsx"], 0)[0]
    notes = sheet_rows(left_out["data_focus_group.xlsx"], -1)
    assert "fg_moderator, fg_notetaker, fg_observer_notes, fg_quote_participant" in notes[2][0]
    rows = as_dicts(sheet_rows(included["data_citizen_survey.xlsx"]))
    assert rows[0]["gps"] == "41.1 72.9 800 5" and rows[0]["deviceid"] == "collect:PHONE1"
    assert [rows[0][f"_gps_{p}"] for p in ("latitude", "longitude", "altitude", "precision")] == [
        41.1, 72.9, 800, 5]
    sessions = as_dicts(sheet_rows(included["data_focus_group.xlsx"]))
    assert sessions[0]["fg_moderator"] == "Айгүл Асанова"
    assert "fg_quote_participant" in sheet_rows(included["data_focus_group.xlsx"], "fg_quote")[0]
    assert "ВКЛЮЧЕНЫ" in sheet_rows(included["data_focus_group.xlsx"], -1)[2][0]


def test_respondent_text_that_looks_like_a_formula_stays_text(world, tmp_path):
    path = write(world, tmp_path)["data_focus_group.xlsx"]
    sheet = openpyxl.load_workbook(path)["fg_quote"]
    cells = [sheet.cell(row=r, column=1) for r in range(2, 2 + len(QUOTES))]
    assert [c.value for c in cells] == QUOTES
    assert {c.data_type for c in cells} == {"s"} and all(c.hyperlink is None for c in cells)


def test_without_scores_a_rejected_submission_and_its_repeat_rows_are_left_out(world, tmp_path):
    path = write(world, tmp_path, "en")["data_focus_group.xlsx"]
    assert [r["_id"] for r in as_dicts(sheet_rows(path))] == [7]
    assert {r["_submission__id"] for r in as_dicts(sheet_rows(path, "fg_participant"))} == {7}
    notes = sheet_rows(path, "Notes")
    assert notes[1][0].startswith("Submissions in this workbook: 1; left out: 1")
    assert notes[-1][0] == 8 and notes[-1][3:] == (
        TEXTS["reason.not_approved"].en, "not_approved")


def test_clean_interviews_are_those_the_scores_use_and_the_rest_are_listed_with_why(world, tmp_path):
    conn, _definition = world
    # the scoring's mart, as warehouse/sql/marts/fct_interviews.sql makes it (the columns read):
    # 1 used, 3 rejected; 2 synced after the scoring, so not in it
    conn.execute("""CREATE TABLE fct_interviews AS SELECT * FROM (VALUES
                    (1, true, NULL), (3, false, 'not_approved'))
                    t(submission_id, used, excluded_reason)""")
    try:
        path = write(world, tmp_path, "en")["data_citizen_survey.xlsx"]
    finally:
        conn.execute("DROP TABLE fct_interviews")
    assert [r["_id"] for r in as_dicts(sheet_rows(path))] == [1]
    notes = sheet_rows(path, "Notes")
    assert [(row[0], row[4]) for row in notes[7:]] == [(2, "not_scored"), (3, "not_approved")]
    assert notes[7][3] == TEXTS["reason.not_scored"].en


def test_rows_read_in_many_small_batches_come_whole_and_in_index_order(world, tmp_path, monkeypatch):
    monkeypatch.setattr(data_export, "BATCH", 1)
    path = write(world, tmp_path, codes=True)["data_focus_group.xlsx"]
    quotes = as_dicts(sheet_rows(path, "fg_quote"))
    assert [q["fg_quote_text"] for q in quotes] == QUOTES
    assert [q["_index"] for q in quotes] == sorted(q["_index"] for q in quotes)
    citizen = as_dicts(sheet_rows(write(world, tmp_path / "c", codes=True)[
        "data_citizen_survey.xlsx"]))
    assert [r["_id"] for r in citizen] == [1, 2]


def test_notes_and_tags_of_older_servers_and_times_in_the_studys_time_zone(world, tmp_path):
    rows = as_dicts(sheet_rows(write(world, tmp_path, codes=True)["data_citizen_survey.xlsx"]))
    assert rows[0]["_tags"] == "checked" and rows[0]["_notes"] == "called back"
    assert rows[1]["_tags"] is None
    assert rows[0]["start"] == dt.datetime(2026, 11, 9, 9, 0)  # 09:00+06:00 in Asia/Bishkek
    assert rows[0]["_submission_time"] == dt.datetime(2026, 11, 9, 1, 30)  # UTC, as Kobo keeps it


def test_an_unknown_language_is_a_clear_error(world, tmp_path):
    with pytest.raises(ConfigError, match="unknown language 'fr'.*ru, ky, en"):
        write(world, tmp_path, "fr")


def test_every_personal_question_of_the_study_is_a_question_of_its_form(study):
    definition, geography = study
    for spec in generate_forms(definition, geography):
        names = {row.name for row in spec.survey}
        assert set(definition.personal[spec.form_id]) <= names, spec.form_id


def test_the_definitions_personal_section_replaces_a_forms_list_and_is_checked(
        definition_data, write_definition):
    data = dict(definition_data, personal={"focus_group": ["fg_moderator"], "wash": ["member_name"]})
    definition = load_definition(write_definition(data))
    assert definition.personal["focus_group"] == ("fg_moderator",)
    assert definition.personal["wash"] == ("member_name",)
    assert definition.personal["lsg_assessment"] == ("assessor", "lsg_informant", "comments")
    bad = dict(definition_data, personal={"focus_group": ["fg moderator"]})
    with pytest.raises(DefinitionError, match=r"personal.focus_group\[1\]: is not a question name"):
        load_definition(write_definition(bad))
