"""The fieldwork workbook a supervisor opens every evening, written from a small study scored by
the real models (``tests/quality_world.py``) and read back with openpyxl: its sheets and headers
in each language, its numbers against the marts, flagged interviews named as the server names
them, a new round with nothing yet, a municipality without an LSG assessment, no formula
anywhere and respondent text kept as text."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import duckdb
import openpyxl
import pytest

from aimak.errors import ConfigError, WarehouseError
from forms.definition import EXCLUSIONS, QUALITY_RULES
from reports.fieldwork import REASONS, SHEETS, SUMMARY_TOP, TABLE_TOP, write_fieldwork_workbook
from reports.fieldwork_texts import FIELDWORK
from reports.texts import COMMON, LANGUAGES, tr
from tests.quality_world import Session, at, rows, scored_world, with_study
from tests.scoring_world import geography, interview, service
from tests.scoring_world import study as make_study

# Plan: 10 interviews in each municipality. G: G1 3, G2 7; H: H1 10. Team T1: E01 and E02.
VILLAGES = {"G": {"G1": {("f", "30_44"): 200, ("m", "30_44"): 100},
                  "G2": {("f", "30_44"): 350, ("m", "30_44"): 350}},
            "H": {"H1": {("f", "30_44"): 100, ("m", "30_44"): 100}}}
NOT_APPROVED = "validation_status_not_approved"
DAY0, DAY1 = at(0).date(), at(1).date()
FORMULA_NAME = '=HYPERLINK("http://x","six")'  # an instance name a form built from answers
INTERVIEWS = [
    interview(1, "G1", "f", start=at(0)),
    interview(2, "G1", "m", start=at(0, 10), enumerator="E02"),
    interview(3, "G1", start=at(0, 11), consent="no", resp_sex=None, resp_age_group=None),
    interview(4, "G1", "f", start=at(1), _instance_id="uuid:four"),
    interview(5, "G1", "f", start=at(1, 10), _validation_status=NOT_APPROVED),
    interview(6, "G1", "f", start=at(1, 11), _instance_id="uuid:four"),  # a second copy of 4
    interview(7, "H1", "m", start=at(1, 12), enumerator="E02", gps_latitude=None),  # no GPS
    interview(8, "G9", "f", start=at(0, 12)),  # a village outside the geography
    interview(9, "H1", "f", start=at(1, 13), enumerator="E77"),  # not on any team
]
NAMES = {1: "G-G1 E01 f1", 2: "G-G1 E02 m2", 3: "G-G1 E01 3", 4: "G-G1 E01 f4", 5: "G-G1 E01 f5",
         6: FORMULA_NAME, 7: "H-H1 E02 m7", 8: "G-G9 E01 f8", 9: "H-H1 E77 f9"}
SESSIONS = [Session(50, "G", "lsg_staff", DAY0, [("P01", "f", "30_44", "head")], village="G1")]


def definition_of(bundled, study_round: str | None = None):
    definition = make_study(bundled, [service("AA", {"aa_1": 1})], ["G", "H"], quality_rules=True,
                            suppress_below=1, flag_below=1)
    definition = dataclasses.replace(definition, sample_plan=dataclasses.replace(
        definition.sample_plan, min_interviews=10, max_interviews=10,
        focus_groups={"lsg_staff": 1, "residents_women": 1}))
    return with_study(definition, round=study_round) if study_round else definition


def world(bundled, study_round: str | None = None, names: dict[int, str] | None = NAMES):
    """The study scored; ``names=None``: no raw payloads, as if nothing was ever pulled."""
    definition = definition_of(bundled, study_round)
    conn = scored_world(definition, geography(VILLAGES), INTERVIEWS,
                        [{"_id": 900, "municipality": "G"}], SESSIONS, names=names)
    return conn, definition


@pytest.fixture(scope="module")
def scored(study):
    conn, definition = world(study[0])
    yield conn, definition
    conn.close()


@pytest.fixture(scope="module")
def books(scored, tmp_path_factory):
    """The workbook in each language, written once (the tests only read them)."""
    conn, definition = scored
    out = tmp_path_factory.mktemp("fieldwork")
    return {lang: write_fieldwork_workbook(conn, definition, out / lang, lang=lang)
            for lang in LANGUAGES}


def t(key: str, lang: str = "en", **values: object) -> str:
    return tr(key, lang, FIELDWORK, **values)


def table(ws, top: int = TABLE_TOP) -> list[dict]:
    """The table whose header is on 0-based row ``top``, as dicts by header (up to a blank row)."""
    header = [c.value for c in ws[top + 1]]
    found = []
    for row in ws.iter_rows(min_row=top + 2, values_only=True):
        if row[0] is None:
            break
        found.append(dict(zip(header, row, strict=True)))
    return found


def day(value) -> dt.date | None:
    return value.date() if isinstance(value, dt.datetime) else value


def test_workbook__named_by_the_day_of_the_latest_interview_or_the_day_given(scored, books,
                                                                             tmp_path):
    assert books["en"].name == f"fieldwork_{DAY1.isoformat()}.xlsx"
    conn, definition = scored
    given = write_fieldwork_workbook(conn, definition, tmp_path, dt.date(2026, 11, 20), "en")
    assert given == tmp_path / "fieldwork_2026-11-20.xlsx" and given.exists()
    assert not list(tmp_path.glob(".*"))  # nothing left aside


@pytest.mark.parametrize("lang", LANGUAGES)
def test_sheets_and_headers__are_in_the_chosen_language(books, lang):
    book = openpyxl.load_workbook(books[lang])
    assert book.sheetnames == [t(f"sheet.{name}", lang) for name in SHEETS]
    words = {text.get(lang) for text in (*FIELDWORK.values(), *COMMON.values())}
    for name, ws in zip(SHEETS, book.worksheets, strict=True):
        top = SUMMARY_TOP if name == "summary" else TABLE_TOP
        headers = [c.value for c in ws[top + 1]]
        # every header is one of the language's words (the day grid's dates aside)
        assert [h for h in headers if h not in words and not re.fullmatch(r"\d{4}-\d\d-\d\d", h)
                ] == [], name
    summary = book.worksheets[0]
    assert [c.value for c in summary[SUMMARY_TOP + 1]][:6] == [
        tr("oblast", lang), tr("rayon", lang), tr("municipality", lang), t("code", lang),
        t("quota", lang), t("interviews", lang)]
    if lang == "en":
        cyrillic = re.compile("[А-яЁёӨөҮүҢң]")
        assert not any(cyrillic.search(str(c.value)) for ws in book.worksheets
                       for c in ws[(SUMMARY_TOP if ws is summary else TABLE_TOP) + 1])


def test_summary__cover_lines_and_each_municipality_against_fieldwork_summary(scored, books):
    conn, definition = scored
    ws = openpyxl.load_workbook(books["en"])[t("sheet.summary")]
    assert ws["A1"].value == t("title", study=definition.study.title.en, round="r1")
    assert ws["A2"].value == t("data_to", day=DAY1.isoformat())
    pulled = conn.execute("SELECT max(last_seen) FROM raw_submissions").fetchone()[0]
    assert ws["A3"].value == t("pulled", when=f"{pulled:%Y-%m-%d %H:%M}")
    got = {r[t("code")]: r for r in table(ws, SUMMARY_TOP) if r[t("code")]}
    marts = {r["municipality_code"]: r for r in rows(conn, "SELECT * FROM fieldwork_summary")}
    assert set(got) == set(marts) == {"G", "H"}
    for code, mart in marts.items():
        row = got[code]
        assert (row[t("quota")], row[t("interviews")], row[t("refusals")], row[t("rejected")],
                row[t("completed")], row[t("used")], row[t("left_out")], row[t("flagged")],
                row[t("days_worked")], day(row[t("last_day")])) == (
            mart["quota"], mart["interviews"], mart["refusals"], mart["rejected"],
            mart["completed"], mart["used"], mart["excluded"], mart["flagged"],
            mart["days_worked"], mart["last_day"])
        assert row[t("completed_share")] == pytest.approx(100 * mart["completed_share_of_quota"])
        assert row[t("remaining")] == max(mart["quota"] - mart["completed"], 0)
    # G: 1 2 4 8 completed of 10; H has no LSG assessment and no focus group yet
    assert (got["G"][t("completed")], got["G"][t("lsg_done")], got["G"][t("fg_done")]) == (4, 1, 1)
    assert (got["H"][t("lsg_done")], got["H"][t("lsg_planned")], got["H"][t("fg_done")],
            got["H"][t("fg_planned")]) == (0, 1, 0, 2)
    total = table(ws, SUMMARY_TOP)[-1]
    assert total[tr("oblast", "en")] == t("total")
    assert total[t("interviews")] == sum(m["interviews"] for m in marts.values()) == 9


def test_villages_quota_and_days__match_fieldwork_progress_and_fieldwork_quota(scored, books):
    conn, _ = scored
    book = openpyxl.load_workbook(books["en"])
    villages = {r[t("village_code")]: r for r in table(book[t("sheet.villages")])}
    progress = rows(conn, """SELECT village_code, any_value(quota) AS quota,
                                    sum(completed) AS completed, sum(used) AS used
                             FROM fieldwork_progress GROUP BY village_code""")
    assert set(villages) == {p["village_code"] for p in progress} == {"G1", "G2", "G9", "H1"}
    for p in progress:
        row = villages[p["village_code"]]
        assert (row[t("quota")], row[t("completed")], row[t("used")], row[t("remaining")],
                row[t("over")]) == (p["quota"], p["completed"], p["used"],
                                    max(p["quota"] - p["completed"], 0),
                                    max(p["completed"] - p["quota"], 0))
    # G1: 1 2 4 completed of 3 (met); G2 nothing yet; G9 not in the plan
    assert [villages[v][t("village_status")] for v in ("G1", "G2", "G9", "H1")] == [
        t("status.met"), t("status.not_started"), t("status.unplanned"), t("status.in_progress")]

    cells = table(book[t("sheet.quota")])
    marts = rows(conn, "SELECT * FROM fieldwork_quota")
    assert len(cells) == len(marts)
    by_cell = {(r[t("village_code")], r[t("sex")], r[t("age_group")]): r for r in cells}
    h1_men = by_cell["H1", "Male", "30–44 years"]
    (mart,) = [m for m in marts if (m["village_code"], m["sex"], m["age_group"]) == ("H1", "m",
                                                                                      "30_44")]
    assert (h1_men[t("quota_cell")], h1_men[t("completed")], h1_men[t("remaining")]) == (
        mart["quota"], mart["completed"], mart["remaining"]) == (5, 1, 4)

    days = table(book[t("sheet.days")])
    grid = {r[t("village_code")]: r for r in days}
    for village, on, completed in conn.execute(
            "SELECT village_code, day, completed FROM fieldwork_progress WHERE day IS NOT NULL"
    ).fetchall():
        assert grid[village][on.isoformat()] == completed
    assert grid["G2"][t("completed_to_date")] == 0 and grid["G2"][DAY0.isoformat()] is None
    total = days[-1]
    assert total[tr("municipality", "en")] == t("total")
    assert (total[DAY0.isoformat()], total[DAY1.isoformat()], total[t("quota")]) == tuple(
        conn.execute("""SELECT sum(completed) FILTER (WHERE day = ?),
                               sum(completed) FILTER (WHERE day = ?),
                               (SELECT sum(quota) FROM (SELECT DISTINCT village_code, quota
                                                        FROM fieldwork_progress))
                        FROM fieldwork_progress""", [DAY0, DAY1]).fetchone())


def test_flagged__one_row_per_interview_and_rule_named_as_the_server_names_it(scored, books):
    conn, _ = scored
    flagged = table(openpyxl.load_workbook(books["en"])[t("sheet.flagged")])
    marts = rows(conn, "SELECT * FROM quality_flags")
    assert len(flagged) == len(marts) == 2
    copy = next(r for r in flagged if r[t("submission_id")] == "6")
    assert (copy[t("instance_name")], copy[t("instance_id")], copy[t("rule")],
            copy[t("left_out_of_scores")], copy[t("reason_left_out")], day(copy[t("interview_date")])) == (
        FORMULA_NAME, "uuid:four", t("reason.duplicate_instance"), "yes",
        t("reason.duplicate_instance"), DAY1)
    assert copy[t("detail")] == t("detail.duplicate_instance", value=2)
    no_gps = next(r for r in flagged if r[t("submission_id")] == "7")
    assert (no_gps[t("instance_name")], no_gps[tr("village", "en")], no_gps[t("enumerator")],
            no_gps[t("rule")]) == ("H-H1 E02 m7", "H1", "E02", t("reason.gps_missing"))


def test_enumerators__every_team_member_and_stranger_with_flags_by_rule(scored, books):
    conn, _ = scored
    got = {r[t("enumerator")]: r for r in table(
        openpyxl.load_workbook(books["en"])[t("sheet.enumerators")])}
    assert set(got) == {"E01", "E02", "E77"}
    marts = {r["enumerator_code"]: r for r in rows(conn, """
        SELECT enumerator_code, count(*) AS interviews, count(*) FILTER (WHERE used) AS used
        FROM fct_interviews GROUP BY ALL""")}
    for code, mart in marts.items():
        assert (got[code][t("interviews")], got[code][t("used")]) == (mart["interviews"],
                                                                     mart["used"])
    assert (got["E02"][t("reason.gps_missing")], got["E02"][t("flagged")],
            got["E02"][t("gps_share")]) == (1, 1, 50)
    assert got["E01"][t("reason.duplicate_instance")] == 1
    assert (got["E77"][t("team")], got["E01"][t("team")]) == (None, "T1")
    assert got["E01"][t("median_minutes")] == pytest.approx(25)


def test_exclusions__counts_by_reason_and_each_interview_left_out(scored, books):
    conn, _ = scored
    book = openpyxl.load_workbook(books["en"])
    reasons = {r[t("reason")]: r for r in table(book[t("sheet.reasons")])
               if r[tr("municipality", "en")] == "G"}
    marts = {r["reason"]: r for r in rows(conn, "SELECT * FROM exclusions WHERE municipality_code "
                                                "= 'G'")}
    assert set(reasons) == {t(f"reason.{r}") for r in marts}
    for code, mart in marts.items():
        row = reasons[t(f"reason.{code}")]
        assert (row[t("left_out")], row[t("applies_to")], row[t("interviews")]) == (
            mart["excluded"], mart["flagged"], mart["interviews"])
    excluded = {r[t("submission_id")]: r[t("reason")] for r in table(book[t("sheet.excluded")])}
    assert excluded == {"3": t("reason.no_consent"), "5": t("reason.not_approved"),
                        "6": t("reason.duplicate_instance"), "7": t("reason.gps_missing"),
                        "8": t("reason.outside_geography")}


def test_sessions__a_municipality_without_an_lsg_assessment_shows_it_as_not_done(books):
    rows_ = table(openpyxl.load_workbook(books["en"])[t("sheet.sessions")])
    h = {(r[t("activity")], r[t("group_type")]): r for r in rows_
         if r[tr("municipality", "en")] == "H"}
    lsg = h[t("activity.lsg_assessment"), None]
    assert (lsg[t("planned")], lsg[t("done")], lsg[t("remaining")]) == (1, 0, 1)
    assert h[t("activity.focus_group"), "LSG staff"][t("remaining")] == 1
    assert rows_[0][t("activity")] == t("activity.lsg_assessment")  # first in each municipality


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_cell_is_a_formula_and_an_instance_name_like_a_formula_stays_text(books, lang):
    book = openpyxl.load_workbook(books[lang])
    assert [c.coordinate for ws in book.worksheets for row in ws.iter_rows() for c in row
            if c.data_type == "f"] == []
    flagged, excluded = book.worksheets[SHEETS.index("flagged")], book.worksheets[
        SHEETS.index("excluded")]
    names = [c for ws in (flagged, excluded) for row in ws.iter_rows() for c in row
             if c.value == FORMULA_NAME]
    assert names and all(c.data_type == "s" and c.hyperlink is None for c in names)


def test_tables__frozen_headers_filters_and_highlights_on_behind_quota_and_flagged(books):
    book = openpyxl.load_workbook(books["en"])
    for name, ws in zip(SHEETS, book.worksheets, strict=True):
        top = SUMMARY_TOP if name == "summary" else TABLE_TOP
        assert int(re.sub(r"\D", "", ws.freeze_panes)) == top + 2, name
        assert ws.auto_filter.ref.startswith(f"A{top + 1}:"), name
    villages = book[t("sheet.villages")]
    remaining = [c.column_letter for c in villages[TABLE_TOP + 1]
                 if c.value == t("remaining")][0]
    rules = {str(rng.sqref): [r.type for r in rng.rules] for rng in villages.conditional_formatting}
    assert rules[f"{remaining}4:{remaining}7"] == ["cellIs"]
    enumerators = book[t("sheet.enumerators")]
    marked = {str(rng.sqref): [(r.type, r.formula) for r in rng.rules]
              for rng in enumerators.conditional_formatting}
    assert marked["A4:A6"] == [("expression", ["$Q4>0"])]  # an enumerator far from peers


def test_a_new_round_shows_the_plan_with_zeros_and_no_flags(study, tmp_path):
    conn, definition = world(study[0], study_round="r2", names=None)
    before = dt.date.today()
    path = write_fieldwork_workbook(conn, definition, tmp_path, lang="ru")
    assert path.name in {f"fieldwork_{d.isoformat()}.xlsx" for d in (before, dt.date.today())}
    book = openpyxl.load_workbook(path)
    summary = book[t("sheet.summary", "ru")]
    assert summary["A2"].value == t("no_data", "ru")
    assert summary["A3"].value == t("pulled_unknown", "ru")
    got = {r[t("code", "ru")]: r for r in table(summary, SUMMARY_TOP)}
    assert {(c, r[t("quota", "ru")], r[t("interviews", "ru")], r[t("lsg_done", "ru")])
            for c, r in got.items() if c} == {("G", 10, 0, 0), ("H", 10, 0, 0)}
    villages = table(book[t("sheet.villages", "ru")])
    assert {(r[t("village_code", "ru")], r[t("quota", "ru")], r[t("completed", "ru")],
             r[t("village_status", "ru")]) for r in villages} == {
        ("G1", 3, 0, t("status.not_started", "ru")), ("G2", 7, 0, t("status.not_started", "ru")),
        ("H1", 10, 0, t("status.not_started", "ru"))}
    enumerators = table(book[t("sheet.enumerators", "ru")])
    assert {(r[t("enumerator", "ru")], r[t("interviews", "ru")]) for r in enumerators} == {
        ("E01", 0), ("E02", 0)}
    for name in ("flagged", "excluded"):
        ws = book[t(f"sheet.{name}", "ru")]
        assert ws["A1"].value == t(f"none.{name}", "ru") and table(ws) == []
    conn.close()


def test_errors__an_unscored_warehouse_an_unknown_round_or_language(scored, tmp_path):
    conn, definition = scored
    with pytest.raises(ConfigError, match=r"round 'r9' is not in the warehouse \(it holds r1\)"):
        write_fieldwork_workbook(conn, definition, tmp_path, study_round="r9")
    with pytest.raises(ConfigError, match="language 'de'"):
        write_fieldwork_workbook(conn, definition, tmp_path, lang="de")
    empty = duckdb.connect()
    with pytest.raises(WarehouseError, match="run 'aimak score' first"):
        write_fieldwork_workbook(empty, definition, tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_reason_and_rule_has_words_and_a_detail_in_each_language(lang):
    assert set(REASONS) == {*EXCLUSIONS, "outside_geography", "no_profile"}
    for reason in REASONS:
        assert t(f"reason.{reason}", lang)
    details = {rule: t(f"detail.{rule}", lang, value=1.5, limit=0.9, start="2026-11-01",
                       end="2026-11-30") for rule in QUALITY_RULES}
    assert "2026-11-01" in details["outside_window"] and "2026-11-30" in details["outside_window"]
    assert "1.5" in details["too_short"] and "0.9" in details["too_short"]
    assert "150%" in details["straight_lining"].replace("\u00a0", "")
    assert all(details.values())
