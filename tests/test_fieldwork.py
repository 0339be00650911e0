"""Fieldwork progress against the sample plan, on a small study written in the test: interviews
per village and day with their running totals against the village's quota, the sex x age-group
quotas, LSG assessments and focus-group sessions against plan, and the per-municipality summary,
through the real models (``warehouse.scoring.score``)."""

from __future__ import annotations

import dataclasses

import pytest

from tests.quality_world import Session, at, rows, scored_world, with_study
from tests.scoring_world import geography, interview, service
from tests.scoring_world import study as make_study

# The plan: 10 interviews in G (min = max = 10), split by adults: G1 300 -> 3, G2 700 -> 7.
# G1's quota by sex x age group: f 30-44 200 of 300 -> 2, m 30-44 -> 1. G2's: 350 and 350 ->
# 3.5 each, the largest remainder breaks the tie for the first cell: f 4, m 3. Cells without
# adults have quota 0. Focus groups planned: one lsg_staff and one residents_women session.
VILLAGES = {"G": {"G1": {("f", "30_44"): 200, ("m", "30_44"): 100},
                  "G2": {("f", "30_44"): 350, ("m", "30_44"): 350}}}
NOT_APPROVED = "validation_status_not_approved"
DAY0, DAY1 = at(0).date(), at(1).date()  # 2026-11-09 and -10 (09:00 UTC is 15:00 in Bishkek)
INTERVIEWS = [
    interview(1, "G1", "f", start=at(0)),
    interview(2, "G1", "m", start=at(0, 10)),
    interview(3, "G1", start=at(0, 11), consent="no", resp_sex=None, resp_age_group=None),
    interview(4, "G1", "f", start=at(1), _instance_id="uuid:four"),
    interview(5, "G1", "f", start=at(1, 10), _validation_status=NOT_APPROVED),
    interview(6, "G1", "f", start=at(1, 11), _instance_id="uuid:four"),  # a second copy of 4
    interview(8, "G1", "m", start=at(1, 12)),  # G1's second man: one over the quota of 1
    interview(7, "G9", "f", start=at(0, 12)),  # a village outside the plan and the geography
]
SESSIONS = [
    Session(50, "G", "lsg_staff", DAY0, [("P01", "f", "30_44", "head")], village="G1"),
    Session(51, "G", "residents_women", DAY1, [("P01", "f", "30_44", "resident")],
            village="G2", validation_status=NOT_APPROVED),
    Session(52, "G", "residents_youth", DAY1, [("P01", "m", "18_29", "resident")], village="G2"),
]


def scored(bundled, *, definition_round: str | None = None):
    definition = make_study(bundled, [service("AA", {"aa_1": 1})], ["G"], quality_rules=True,
                            suppress_below=1, flag_below=1)
    definition = dataclasses.replace(definition, sample_plan=dataclasses.replace(
        definition.sample_plan, min_interviews=10, max_interviews=10,
        focus_groups={"lsg_staff": 1, "residents_women": 1}))
    if definition_round:
        definition = with_study(definition, round=definition_round)
    return scored_world(definition, geography(VILLAGES), INTERVIEWS,
                        [{"_id": 900, "municipality": "G"}], SESSIONS)


@pytest.fixture(scope="module")
def conn(study):
    return scored(study[0])


def test_progress__counts_each_village_and_day_against_the_villages_quota(conn):
    got = {(r["village_code"], r["day"]): r for r in rows(conn, "SELECT * FROM fieldwork_progress")}
    assert set(got) == {("G1", DAY0), ("G1", DAY1), ("G2", None), ("G9", DAY0)}
    # day 0 in G1: 1 and 2 completed, 3 refused
    day0 = got["G1", DAY0]
    assert (day0["quota"], day0["interviews"], day0["refusals"], day0["rejected"],
            day0["completed"], day0["used"], day0["enumerators"]) == (3, 3, 1, 0, 2, 2, 1)
    assert (day0["completed_to_date"], day0["completed_share_of_quota"]) == (2, pytest.approx(2 / 3))
    # day 1: 4 and 8 completed; 5 rejected by the supervisor, 6 a second copy of 4
    day1 = got["G1", DAY1]
    assert (day1["interviews"], day1["rejected"], day1["completed"], day1["used"]) == (4, 1, 2, 2)
    assert (day1["completed_to_date"], day1["used_to_date"]) == (4, 4)
    assert day1["completed_share_of_quota"] == pytest.approx(4 / 3)
    # G2: planned, nothing yet; G9: not planned, one interview (completed, not used: no such village)
    assert (got["G2", None]["quota"], got["G2", None]["completed_to_date"],
            got["G2", None]["completed_share_of_quota"]) == (7, 0, 0)
    g9 = got["G9", DAY0]
    assert (g9["quota"], g9["completed"], g9["used"], g9["completed_share_of_quota"]) == (0, 1, 0, None)


def test_quota__counts_completed_interviews_by_sex_and_age_group_against_each_cell(conn):
    got = {(r["village_code"], r["sex"], r["age_group"]): r
           for r in rows(conn, "SELECT * FROM fieldwork_quota")}
    # G1 f 30-44: quota 2, completed 1 and 4 (5 rejected, 6 a copy) -> met
    f1 = got["G1", "f", "30_44"]
    assert (f1["quota"], f1["completed"], f1["used"], f1["remaining"], f1["over"]) == (2, 2, 2, 0, 0)
    m1 = got["G1", "m", "30_44"]  # quota 1, completed 2 and 8 -> one over
    assert (m1["quota"], m1["completed"], m1["remaining"], m1["over"]) == (1, 2, 0, 1)
    assert m1["completed_share_of_quota"] == 2
    f2 = got["G2", "f", "30_44"]
    assert (f2["quota"], f2["completed"], f2["remaining"]) == (4, 0, 4)
    assert got["G2", "m", "30_44"]["quota"] == 3
    assert got["G1", "f", "60plus"]["quota"] == 0  # a cell without adults
    assert (got["G9", "f", "30_44"]["quota"], got["G9", "f", "30_44"]["over"]) == (0, 1)
    assert sum(r["quota"] for r in got.values()) == 10


def test_sessions__count_assessments_and_focus_groups_done_against_plan(conn):
    got = {(r["activity"], r["group_type"]): r for r in rows(conn, "SELECT * FROM fieldwork_sessions")}
    lsg = got["lsg_assessment", None]
    assert (lsg["planned"], lsg["submitted"], lsg["done"], lsg["remaining"]) == (1, 1, 1, 0)
    staff = got["focus_group", "lsg_staff"]
    assert (staff["planned"], staff["done"], staff["first_day"]) == (1, 1, DAY0)
    women = got["focus_group", "residents_women"]  # held, but rejected by the supervisor
    assert (women["planned"], women["submitted"], women["rejected"], women["done"],
            women["remaining"]) == (1, 1, 1, 0, 1)
    youth = got["focus_group", "residents_youth"]  # not in the plan, held
    assert (youth["planned"], youth["done"]) == (0, 1)


def test_summary__one_row_per_municipality_with_interviews_and_sessions_against_plan(conn):
    (row,) = rows(conn, "SELECT * FROM fieldwork_summary")
    # 8 interviews: refused 3, rejected 5, completed 1 2 4 7 8, used 1 2 4 8 (7: no such village),
    # left out 3 5 6 7, flagged 6 (a duplicate)
    assert {k: row[k] for k in ("quota", "interviews", "refusals", "rejected", "completed", "used",
                                "excluded", "flagged", "days_worked", "enumerators")} == {
        "quota": 10, "interviews": 8, "refusals": 1, "rejected": 1, "completed": 5, "used": 4,
        "excluded": 4, "flagged": 1, "days_worked": 2, "enumerators": 1}
    assert row["completed_share_of_quota"] == pytest.approx(0.5)
    assert (row["first_day"], row["last_day"]) == (DAY0, DAY1)
    assert (row["assessments_planned"], row["assessments_done"], row["focus_groups_planned"],
            row["focus_groups_done"]) == (1, 1, 2, 2)


def test_progress__a_new_round_shows_the_whole_plan_before_its_first_interview(study):
    conn = scored(study[0], definition_round="r2")
    got = rows(conn, "SELECT * FROM fieldwork_progress WHERE round = 'r2'")
    assert {(r["village_code"], r["day"], r["quota"], r["completed_to_date"]) for r in got} == {
        ("G1", None, 3, 0), ("G2", None, 7, 0)}
    (summary,) = rows(conn, "SELECT * FROM fieldwork_summary WHERE round = 'r2'")
    assert (summary["quota"], summary["interviews"], summary["focus_groups_planned"],
            summary["focus_groups_done"]) == (10, 0, 2, 0)
