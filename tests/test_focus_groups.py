"""Focus groups on a small study written in the test, through the real models: the themes per
municipality x service x group type x theme x sentiment (sessions that raised them, participants
who agreed, out of how many took part), the quote bank with who said what and when, and the
groups' own 1-5 scores beside the survey's S and E with the disagreement flag. Services are
reached through their prefix (``<prefix>_fg_satisfaction``), so a service defined in the test
flows through with no code change; a session the supervisor rejected counts nowhere."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.quality_world import Session, Theme, rows, scored_world, with_quality
from tests.scoring_world import geography, interview, service
from tests.scoring_world import study as make_study

NOT_APPROVED = "validation_status_not_approved"
DAY = dt.date(2026, 11, 10)


def roster(size: int) -> list[tuple[str, str, str, str]]:
    """P01..Pnn; odd numbers women aged 60+, even ones men aged 18-29."""
    return [(f"P{i:02d}", "f" if i % 2 else "m", "60plus" if i % 2 else "18_29", "resident")
            for i in range(1, size + 1)]


SESSIONS = [
    Session(50, "G", "lsg_staff", DAY, roster(9), themes=[
        Theme("WA", "access", "negative", 5, quotes=[("Воды нет с утра", "P03", 12),
                                                     ("Трубы старые", "P04", 40)]),
        Theme("WA", "access", "negative", 3),       # entered twice: counted once, agreement 5
        Theme("RO", "quality", "positive", 9, quotes=[("Дорогу починили", "P01", 70)]),
    ], scores={"wa_fg_satisfaction": "2", "wa_fg_performance": "5",
               "ro_fg_satisfaction": "1", "ro_fg_performance": "2"}),
    Session(51, "G", "residents_women", DAY, roster(8), themes=[
        Theme("WA", "access", "negative", 6, quotes=[("Очередь за водой", "P02", 5)]),
    ], scores={"wa_fg_satisfaction": "4"}),
    Session(52, "G", "residents_women", DAY, roster(10), themes=[
        Theme("WA", "access", "negative", 8),
    ], scores={"wa_fg_satisfaction": "3"}),
    Session(53, "G", "residents_youth", DAY, roster(7), themes=[
        Theme("RO", "tariff", "mixed", 2),
    ]),
    Session(54, "G", "residents_youth", DAY, roster(6), validation_status=NOT_APPROVED, themes=[
        Theme("RO", "tariff", "negative", 6, quotes=[("Не засчитано", "P01", 1)]),
    ], scores={"ro_fg_satisfaction": "5"}),
]
# The survey: four interviews in one village and one sex x age cell (equal weights). WA answers
# 5, 5, 5, 2: S = 3 / 4 = 75 (top-2-box); RO answers 2, 2, 2, 4: S = 25. The LSG assessment:
# one indicator per service scored from floor 0 to target 100: E(WA) = 40, E(RO) = 30.
CITIZEN = [interview(n, "G1", wa_1=wa, ro_1=ro)
           for n, (wa, ro) in enumerate([("5", "2"), ("5", "2"), ("5", "2"), ("2", "4")], start=1)]
LSG = [{"_id": 900, "municipality": "G", "wa_ind": "40", "ro_ind": "30"}]


def scored(bundled, suppress_below: int = 2, **quality):
    definition = make_study(bundled, [service("WA", {"wa_1": 1}), service("RO", {"ro_1": 1})],
                            ["G"], suppress_below=suppress_below, flag_below=suppress_below + 1)
    return scored_world(with_quality(definition, **quality),
                        geography({"G": {"G1": {("f", "30_44"): 100}}}), CITIZEN, LSG, SESSIONS)


@pytest.fixture(scope="module")
def conn(study):
    return scored(study[0])


def test_themes__count_sessions_agreement_and_participants_per_theme_and_group_type(conn):
    got = {(r["service_code"], r["group_type"], r["theme_code"], r["sentiment"]):
           (r["sessions"], r["sessions_held"], r["participants_agreed"], r["participants_present"],
            r["mentions"])
           for r in rows(conn, "SELECT * FROM fg_themes WHERE municipality_code = 'G'")}
    assert got == {
        # staff: raised in their one session, entered twice (agreement 5 and 3 -> 5) of 9
        ("WA", "lsg_staff", "access", "negative"): (1, 1, 5, 9, 2),
        # women: both sessions, 6 of 8 and 8 of 10
        ("WA", "residents_women", "access", "negative"): (2, 2, 14, 18, 2),
        ("RO", "lsg_staff", "quality", "positive"): (1, 1, 9, 9, 1),
        # youth: the rejected session (its negative theme and 6 participants) counts nowhere
        ("RO", "residents_youth", "tariff", "mixed"): (1, 1, 2, 7, 1),
    }


def test_quotes__carry_theme_service_sentiment_speaker_and_minute(conn):
    got = rows(conn, "SELECT * FROM fg_quotes ORDER BY submission_id, quote_index")
    assert [(q["quote"], q["service_code"], q["theme_code"], q["sentiment"], q["group_type"],
             q["participant_code"], q["participant_sex"], q["participant_age_group"], q["minute"])
            for q in got] == [
        ("Воды нет с утра", "WA", "access", "negative", "lsg_staff", "P03", "f", "60plus", 12),
        ("Трубы старые", "WA", "access", "negative", "lsg_staff", "P04", "m", "18_29", 40),
        ("Дорогу починили", "RO", "quality", "positive", "lsg_staff", "P01", "f", "60plus", 70),
        ("Очередь за водой", "WA", "access", "negative", "residents_women", "P02", "m", "18_29", 5),
    ]
    assert {(q["municipality_code"], q["session_date"], q["round"]) for q in got} == {("G", DAY, "r1")}


# Group scores as 0-100 indices: (score - 1) / 4 x 100.
# WA staff: satisfaction 2 -> 25 vs S 75: -50; performance 5 -> 100 vs E 40: +60: both disagree.
# WA women: (4 + 3) / 2 = 3.5 -> 62.5 vs 75: -12.5, within 25.
# RO staff: satisfaction 1 -> 0 vs S 25: -25, not more than 25; performance 2 -> 25 vs E 30: -5.
def test_scores__sit_beside_the_surveys_s_and_e_with_disagreements_beyond_the_threshold(conn):
    got = {(r["service_code"], r["group_type"]): r for r in rows(conn, "SELECT * FROM fg_scores")}
    assert set(got) == {("WA", "lsg_staff"), ("WA", "residents_women"), ("RO", "lsg_staff")}
    staff = got["WA", "lsg_staff"]
    assert (staff["satisfaction_index"], staff["performance_index"]) == (25, 100)
    assert (staff["survey_satisfaction"], staff["effectiveness"]) == (pytest.approx(75), 40)
    assert (staff["satisfaction_difference"], staff["performance_difference"]) == (
        pytest.approx(-50), pytest.approx(60))
    assert staff["satisfaction_disagrees"] and staff["performance_disagrees"] and staff["disagrees"]
    women = got["WA", "residents_women"]
    assert (women["satisfaction_sessions"], women["satisfaction_score"],
            women["satisfaction_index"]) == (2, 3.5, 62.5)
    assert women["satisfaction_difference"] == pytest.approx(-12.5)
    assert women["performance_index"] is None and women["performance_disagrees"] is None
    assert women["disagrees"] is False
    ro = got["RO", "lsg_staff"]
    assert (ro["satisfaction_difference"], ro["performance_difference"]) == (
        pytest.approx(-25), pytest.approx(-5))
    assert ro["disagrees"] is False


def test_scores__the_disagreement_threshold_is_a_setting(study):
    got = {(r["service_code"], r["group_type"]): r["disagrees"]
           for r in rows(scored(study[0], fg_score_gap=10), "SELECT * FROM fg_scores")}
    assert got == {("WA", "lsg_staff"): True, ("WA", "residents_women"): True,
                   ("RO", "lsg_staff"): True}


def test_scores__no_comparison_with_a_suppressed_survey_estimate(study):
    conn = scored(study[0], suppress_below=5)  # four interviews: S suppressed
    staff = rows(conn, """SELECT * FROM fg_scores
                          WHERE service_code = 'WA' AND group_type = 'lsg_staff'""")[0]
    assert staff["survey_suppressed"] and staff["satisfaction_difference"] is None
    assert staff["performance_disagrees"]  # E comes from records: still compared
