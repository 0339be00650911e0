"""The data-quality rules of the citizen interviews, each on a small study written in the test with
the arithmetic in a comment, through the real models (``warehouse.scoring.score``): what each rule
flags and what it lets pass, the detail that names the submission, the exclusion settings and the
per-reason counts; the ``quality:`` section as the definition gives it; and, on a simulated
fieldwork (JavaRosa, the local server, a real sync), the faults the simulator plants."""

from __future__ import annotations

import copy
import datetime as dt
import json
import shutil

import duckdb
import pytest

from aimak.errors import DefinitionError
from forms.definition import EXCLUSIONS
from forms.loader import load_definition
from tests.quality_world import at, scored_world, with_quality, with_study
from tests.scoring_world import geography, interview, service
from tests.scoring_world import study as make_study
from warehouse.scoring import score

VILLAGES = {"G": {"G1": {("f", "30_44"): 100, ("m", "30_44"): 100},
                  "G2": {("f", "30_44"): 100, ("m", "30_44"): 100}}}
# services AA..EE: two items each, CC three
SERVICES = [service("AA", {"aa_1": 1, "aa_2": 1}), service("BB", {"bb_1": 1, "bb_2": 1}),
            service("CC", {"cc_1": 1, "cc_2": 1, "cc_3": 1}), service("DD", {"dd_1": 1, "dd_2": 1}),
            service("EE", {"ee_1": 1, "ee_2": 1})]


def scored(bundled, citizen, *, labels=(), names=None, study=None, **quality):
    """Score ``citizen`` with every quality rule on (thresholds changed by ``quality``)."""
    definition = make_study(bundled, SERVICES, ["G"], quality_rules=True, suppress_below=1,
                            flag_below=1)
    definition = with_quality(definition, **quality)
    if study:
        definition = with_study(definition, **study)
    return scored_world(definition, geography(VILLAGES), citizen, labels=labels, names=names)


def flagged(conn, rule: str) -> dict[int, tuple]:
    """submission id -> (measure, threshold, detail) of the rule's flags."""
    return {row[0]: row[1:] for row in conn.execute(
        "SELECT submission_id, measure, threshold, detail FROM quality_flags WHERE rule = ?",
        [rule]).fetchall()}


def timed(number: int, seconds: float | None, **answers):
    start = at(0) + dt.timedelta(hours=number)
    end = None if seconds is None else start + dt.timedelta(seconds=seconds)
    return interview(number, "G1", start=start, end=end, **answers)


# --- too_short ---------------------------------------------------------------------------------

# Labelled questions answered: municipality, village, consent, resp_sex, aa_1, aa_2 = 6 (the
# age group is a calculation: no label). At 3 s each an interview needs 6 x 3 = 18 s.
LABELS = ("municipality", "village", "consent", "resp_sex", "aa_1", "aa_2")


def test_too_short__flags_an_interview_under_the_seconds_its_answered_questions_need(study):
    bundled, _ = study
    conn = scored(bundled, [
        timed(1, 17, aa_1="4", aa_2="5"),                 # 17 < 18: flagged, 17 / 6 = 2.83 s each
        timed(2, 18, aa_1="4", aa_2="5"),                 # 18 s: enough
        timed(3, 5, consent="no"),                        # a refusal is quick by nature
        timed(4, -60, aa_1="4", aa_2="5"),                # ended before it started: flagged
        timed(5, None, aa_1="4", aa_2="5"),               # no end time: nothing to judge
        timed(6, 17),                                     # 4 questions answered: 12 s needed
    ], labels=LABELS)
    flags = flagged(conn, "too_short")
    assert set(flags) == {1, 4}
    measure, threshold, detail = flags[1]
    assert measure == pytest.approx(17 / 6) and threshold == 3
    assert detail == "17 s for 6 questions answered: 2.8 s each, under the 3.0 s a question takes at least"


def test_too_short__counts_only_questions_a_person_saw(study):
    bundled, _ = study
    # without labels for aa_1 and aa_2 the interview answered 4 questions: 12 s needed, 17 s taken
    conn = scored(bundled, [timed(1, 17, aa_1="4", aa_2="5")], labels=LABELS[:4])
    assert flagged(conn, "too_short") == {}


# --- straight_lining ---------------------------------------------------------------------------

def _blocks(*codes: str) -> dict[str, str]:
    """Answers of the blocks AA..EE in order, one string per block ('44' = 4 and 4; '' = not
    used)."""
    items = [["aa_1", "aa_2"], ["bb_1", "bb_2"], ["cc_1", "cc_2", "cc_3"], ["dd_1", "dd_2"],
             ["ee_1", "ee_2"]]
    return {q: c for block, answer in zip(items, codes, strict=True) for q, c in zip(block, answer, strict=False)}


STRAIGHT = [
    interview(1, "G1", **_blocks("44", "22", "555", "11", "33")),  # 5 of 5 blocks: 1.0 -> flagged
    interview(2, "G1", **_blocks("44", "22", "555", "11", "34")),  # 4 of 5: 0.8 < 0.9
    interview(3, "G1", **_blocks("44", "22", "555", "", "")),      # 3 of 3: fewer than 4 blocks
    interview(4, "G1", **_blocks("44", "22", "555", "11", "99")),  # EE has no valid answer: not
                                                                   # counted; 4 of 4 -> flagged
    interview(5, "G1", **_blocks("45", "23", "545", "12", "34")),  # 0 of 5
]


def test_straight_lining__flags_one_code_through_nearly_every_service_block(study):
    bundled, _ = study
    flags = flagged(scored(bundled, STRAIGHT), "straight_lining")
    assert set(flags) == {1, 4}
    assert flags[1][:2] == (1.0, 0.9)
    assert flags[1][2] == ("5 of 5 service blocks answered with one code throughout: "
                           "AA 4, BB 2, CC 5, DD 1, EE 3")
    assert flags[4][2].startswith("4 of 4 service blocks")


@pytest.mark.parametrize(("settings", "expected"), [
    ({"straight_lining_share": 0.8}, {1, 2, 4}),     # 4 / 5 = 0.8 now reaches the share
    ({"straight_lining_min_blocks": 3}, {1, 3, 4}),  # 3 blocks now enough
], ids=["lower_share", "fewer_blocks"])
def test_straight_lining__follows_its_settings(study, settings, expected):
    bundled, _ = study
    assert set(flagged(scored(bundled, STRAIGHT, **settings), "straight_lining")) == expected


# --- duplicate_instance ------------------------------------------------------------------------

def test_duplicate_instance__flags_every_copy_after_the_first_naming_it_and_the_instance(study):
    bundled, _ = study
    same = "uuid:11111111-2222-3333-4444-555555555555"
    citizen = [interview(n, "G1", _instance_id=same, aa_1="4") for n in (7, 3, 5)]
    citizen.append(interview(9, "G1", aa_1="4"))
    conn = scored(bundled, citizen, names={3: "G-G1 E01 f35 2026-11-09",
                                           5: "G-G1 E01 f35 2026-11-09"})
    flags = flagged(conn, "duplicate_instance")
    assert set(flags) == {5, 7}  # 3 is the first copy (lowest submission id)
    assert flags[5][0] == 3
    assert flags[5][2] == f"instance id {same} reached the server 3 times; submission 3 is the first copy"
    row = conn.execute("""SELECT instance_id, instance_name, village_code, enumerator_code,
                                 interview_date, excludes FROM quality_flags
                          WHERE submission_id = 5""").fetchone()
    assert row == (same, "G-G1 E01 f35 2026-11-09", "G1", "E01", START_DAY, True)


START_DAY = at(0).date()


# --- gps_missing and gps_far -------------------------------------------------------------------

def test_gps_missing__flags_consented_interviews_without_a_location(study):
    bundled, _ = study
    conn = scored(bundled, [
        interview(1, "G1", gps_latitude=None, gps_longitude=None, aa_1="4"),
        interview(2, "G1", consent="no", gps_latitude=None, gps_longitude=None),
        interview(3, "G1", aa_1="4"),
    ])
    assert set(flagged(conn, "gps_missing")) == {1}


# Village G1: five interviews at (41.5, 73.0) and three away from it, north along the meridian,
# so the median latitude stays 41.5 (five of eight). One degree of latitude is
# 6371.0088 km x pi / 180 = 111.195 km: 0.1 deg = 11.12 km, 0.04 deg = 4.45 km, 0.05 deg = 5.56 km.
# Village G2: three interviews at the centre and one 1 deg (111 km) away: four located interviews,
# fewer than the five a centre needs.
def _located(number, village, lat, accuracy=5.0):
    return interview(number, village, gps_latitude=lat, gps_longitude=73.0, gps_accuracy=accuracy,
                     aa_1="4")


GPS = ([_located(n, "G1", 41.5) for n in range(1, 6)]
       + [_located(6, "G1", 41.6),                  # 11.12 km > 5: flagged
          _located(7, "G1", 41.54),                 # 4.45 km: within
          _located(8, "G1", 41.55, accuracy=800)]   # 5.56 km, but 5.56 - 0.8 = 4.76 km: within
       + [_located(n, "G2", 41.5) for n in range(11, 14)] + [_located(14, "G2", 42.5)])


def test_gps_far__flags_a_location_beyond_the_limit_from_the_villages_median_centre(study):
    bundled, _ = study
    flags = flagged(scored(bundled, GPS), "gps_far")
    assert set(flags) == {6}
    km, threshold, detail = flags[6]
    assert km == pytest.approx(11.1195, abs=1e-3) and threshold == 5
    assert detail == ("11.1 km from the centre of village G1 (the median of its 8 located "
                      "interviews); the fix is accurate to 5 m")


def test_gps_far__judges_a_village_only_with_enough_located_interviews(study):
    bundled, _ = study
    # four located interviews now make G2's centre (median 41.5): 111 km away is flagged
    flags = flagged(scored(bundled, GPS, gps_min_interviews=4), "gps_far")
    assert set(flags) == {6, 14}
    assert flags[14][0] == pytest.approx(111.195, abs=1e-2)


# --- outside_window ----------------------------------------------------------------------------

# Window 2026-11-10 to 2026-11-12 in Asia/Bishkek (UTC+6). START is 2026-11-09 UTC.
WINDOW = [
    interview(1, "G1", start=at(0, 9), aa_1="4"),      # 11-09 15:00 local: 1 day early
    interview(2, "G1", start=at(1, 9), aa_1="4"),      # 11-10: inside
    interview(3, "G1", start=at(3, 17.5), aa_1="4"),   # 11-12 17:30 UTC = 23:30 local: inside
    interview(4, "G1", start=at(3, 19), aa_1="4"),     # 11-12 19:00 UTC = 11-13 01:00 local: late
    interview(5, "G1", start=at(-8, 9), study_round="r0", aa_1="4"),  # another round's interview
]


def test_outside_window__flags_local_dates_outside_the_definitions_round_window(study):
    bundled, _ = study
    conn = scored(bundled, WINDOW, study={"fieldwork_start": "2026-11-10",
                                          "fieldwork_end": "2026-11-12"})
    flags = flagged(conn, "outside_window")
    assert set(flags) == {1, 4}
    assert flags[1][0] == 1 and flags[4][0] == 1
    assert flags[4][2] == "interviewed on 2026-11-13, outside the fieldwork window 2026-11-10 to 2026-11-12"


def test_outside_window__flags_nothing_without_a_window_and_half_a_window_bounds_one_side(study):
    bundled, _ = study
    assert flagged(scored(bundled, WINDOW), "outside_window") == {}
    late = flagged(scored(bundled, WINDOW, study={"fieldwork_end": "2026-11-10"}),
                   "outside_window")
    assert set(late) == {3, 4}  # 11-12 and 11-13 after 11-10; 11-09 is fine with no start


# --- enumerator_outlier ------------------------------------------------------------------------

def _by_enumerator(scores: dict[str, list[int]]) -> list[dict]:
    """One interview per score, village G1, item aa_1 only."""
    out, number = [], 0
    for code, values in scores.items():
        for value in values:
            number += 1
            out.append(interview(number, "G1", enumerator=code, aa_1=str(value)))
    return out


# One item, one village: each answer less the mean of the other enumerators' answers.
# Total 46 over 14 answers. A, B, C answer 3, 3: peers (46 - 6) / 12 = 3.333, d = -1/3, SE 0.
# D 4, 4: peers (46 - 8) / 12 = 3.167, d = +0.833. E 2, 2: peers (46 - 4) / 12 = 3.5, d = -1.5.
# F 5, 1, 5, 5: peers (46 - 16) / 10 = 3.0, residuals 2, -2, 2, 2, d = 1.0, SD 2, SE 2 / 2 = 1.0.
# median d = -1/3; |d - median| = 0, 0, 0, 1.167, 1.167, 1.333: MAD 0.5833, x 1.4826 = 0.8648.
# z: D 1.167 / 0.8648 = 1.349, E -1.349, F 1.333 / max(0.8648, 1.0) = 1.333 (floored at its SE).
SPREAD = {"A": [3, 3], "B": [3, 3], "C": [3, 3], "D": [4, 4], "E": [2, 2], "F": [5, 1, 5, 5]}


def test_enumerator_outlier__flags_every_interview_of_an_enumerator_far_from_peers(study):
    bundled, _ = study
    conn = scored(bundled, _by_enumerator(SPREAD), enumerator_min_interviews=2,
                  enumerator_outlier_z=1.34)
    flags = flagged(conn, "enumerator_outlier")
    by_enumerator = dict(conn.execute("""SELECT enumerator_code, count(*) FROM quality_flags
                                         WHERE rule = 'enumerator_outlier' GROUP BY ALL""").fetchall())
    # F stands farthest from the median, but its own answers are too spread to call it
    assert by_enumerator == {"D": 2, "E": 2}
    measures = sorted({round(m, 3) for m, _, _ in flags.values()})
    assert measures == [-1.349, 1.349]
    detail = next(d for m, _, d in flags.values() if m > 0)
    assert detail == ("enumerator D: answers +0.83 points from the other enumerators' in the "
                      "same villages on average over 2 interviews (z = 1.3 among 6 enumerators)")
    # at the default 3.5 nobody is an outlier here
    assert flagged(scored(bundled, _by_enumerator(SPREAD), enumerator_min_interviews=2),
                   "enumerator_outlier") == {}


# A-D answer 3, 3 and E 5, 5: peers of A (16 - 6) / 8 = 3.5, d = -0.5; peers of E 24 / 8 = 3,
# d = 2. median -0.5, MAD 0 (four of five agree exactly), so the scale is 1.253314 x the mean
# absolute deviation (0 + 0 + 0 + 0 + 2.5) / 5 = 0.5: 0.6267; z of E 2.5 / 0.6267 = 3.989 > 3.5.
def test_enumerator_outlier__uses_the_mean_deviation_when_most_enumerators_agree_exactly(study):
    bundled, _ = study
    scores = {"A": [3, 3], "B": [3, 3], "C": [3, 3], "D": [3, 3], "E": [5, 5]}
    flags = flagged(scored(bundled, _by_enumerator(scores), enumerator_min_interviews=2),
                    "enumerator_outlier")
    assert set(flags) == {9, 10}  # E's two interviews
    assert flags[9][0] == pytest.approx(2.5 / (1.253314 * 0.5))


def test_enumerator_outlier__needs_enough_interviews_and_three_enumerators(study):
    bundled, _ = study
    too_few = scored(bundled, _by_enumerator(SPREAD), enumerator_min_interviews=3,
                     enumerator_outlier_z=1.0)  # only F has three interviews: nobody to compare
    two = scored(bundled, _by_enumerator({"A": [3, 3], "E": [5, 5]}),
                 enumerator_min_interviews=2, enumerator_outlier_z=0.1)
    assert flagged(too_few, "enumerator_outlier") == {} and flagged(two, "enumerator_outlier") == {}


# --- exclusions --------------------------------------------------------------------------------

def _reasons(conn) -> dict[int, tuple]:
    return {r[0]: r[1:] for r in conn.execute(
        "SELECT submission_id, used, excluded_reason, flags FROM fct_interviews").fetchall()}


EXCLUDED = [
    timed(1, 5, gps_latitude=None, aa_1="4", aa_2="4"),  # too short (18 s needed) and no GPS
    timed(2, 600, gps_latitude=None, _validation_status="validation_status_not_approved",
          aa_1="4", aa_2="4"),                           # rejected and no GPS
    timed(3, 600, aa_1="4", aa_2="4"),                   # clean
    timed(4, 60, consent="no", resp_sex=None, resp_age_group=None),  # refusal: no profile
]


def test_exclusion__takes_the_first_reason_and_keeps_every_flag(study):
    bundled, _ = study
    conn = scored(bundled, EXCLUDED, labels=LABELS)
    assert _reasons(conn) == {1: (False, "too_short", ["too_short", "gps_missing"]),
                              2: (False, "not_approved", ["gps_missing"]),
                              3: (True, None, []),
                              4: (False, "no_consent", [])}
    counts = {r[0]: r[1:] for r in conn.execute(
        "SELECT reason, excludes, excluded, flagged, interviews FROM exclusions").fetchall()}
    assert counts == {"too_short": (True, 1, 1, 4), "gps_missing": (True, 0, 2, 4),
                      "not_approved": (True, 1, 1, 4), "no_consent": (True, 1, 1, 4)}


def test_exclusion__settings_switch_each_reason_off_and_the_interview_is_kept_but_flagged(study):
    bundled, _ = study
    conn = scored(bundled, EXCLUDED, labels=LABELS,
                  exclude={"too_short": False, "not_approved": False})
    reasons = _reasons(conn)
    assert reasons[1] == (False, "gps_missing", ["too_short", "gps_missing"])
    assert reasons[2] == (False, "gps_missing", ["gps_missing"])
    counts = {r[0]: r[1:3] for r in conn.execute(
        "SELECT reason, excludes, excluded FROM exclusions").fetchall()}
    assert counts["too_short"] == (False, 0) and counts["gps_missing"] == (True, 2)

    nothing = scored(bundled, EXCLUDED, labels=LABELS, exclude=dict.fromkeys(EXCLUSIONS, False))
    reasons = _reasons(nothing)
    assert [reasons[n][:2] for n in (1, 2, 3)] == [(True, None)] * 3
    assert reasons[4] == (False, "no_profile", [])  # the weights need a sex and an age group
    assert reasons[1][2] == ["too_short", "gps_missing"]


# --- the quality: section ----------------------------------------------------------------------

def test_quality_section__reads_every_setting_and_defaults_the_rest(definition_data, write_definition):
    data = copy.deepcopy(definition_data)
    data["quality"] = {"gps_max_km": 2.5, "enumerator_min_interviews": 30,
                       "exclude": {"gps_missing": False}}
    quality = load_definition(write_definition(data)).quality
    assert quality.gps_max_km == 2.5 and quality.enumerator_min_interviews == 30
    assert quality.exclude["gps_missing"] is False and quality.exclude["too_short"] is True
    assert quality.min_seconds_per_answer == 3  # not given: the default
    del data["quality"]
    assert load_definition(write_definition(data)).quality.exclude == dict.fromkeys(EXCLUSIONS, True)


@pytest.mark.parametrize(("setting", "field", "words"), [
    ({"straight_lining_share": 1.5}, "quality.straight_lining_share", "between 0 and 1"),
    ({"gps_max_km": 0}, "quality.gps_max_km", "greater than 0"),
    ({"time_zone": "Asia/Bishkekk"}, "quality.time_zone", "not a time zone"),
    ({"exclude": {"too_shrt": True}}, "quality.exclude", "too_shrt"),
    ({"exclude": {"gps_far": "no"}}, "quality.exclude.gps_far", "true or false"),
    ({"min_seconds": 3}, "quality", "min_seconds"),
], ids=["share", "km", "zone", "unknown_rule", "not_boolean", "unknown_key"])
def test_quality_section__a_bad_setting_is_reported_with_its_field_and_fix(
        definition_data, write_definition, setting, field, words):
    data = copy.deepcopy(definition_data)
    data["quality"] = setting
    with pytest.raises(DefinitionError) as caught:
        load_definition(write_definition(data))
    issues = [i for i in caught.value.issues if i.field.startswith(field)]
    assert issues, str(caught.value)
    assert any(words in f"{i.problem} {i.value}" for i in issues), str(caught.value)
    assert all(i.fix for i in issues)


# --- on a simulated fieldwork ------------------------------------------------------------------

@pytest.mark.java
@pytest.mark.skipif(shutil.which("java") is None, reason="needs Java 17 (java, javac)")
def test_simulated_fieldwork__the_planted_faults_are_flagged_and_honest_interviews_are_not(
        study, tmp_path):
    from etl.deploy import deploy_forms
    from etl.http import HttpClient
    from etl.kobo import KoboClient
    from etl.sync import deployed_assets, sync_form
    from fieldsim.server import LocalServer
    from fieldsim.simulate import simulate
    from forms import BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY
    from forms.build import build_forms
    from warehouse.schema import migrate
    from warehouse.store import WarehouseStore

    with LocalServer(tmp_path / "server") as server:
        build_forms(BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY, tmp_path / "forms", validate=False)
        kobo = KoboClient(HttpClient(server.api_url, server.token))
        deploy_forms(kobo, tmp_path / "forms")
        run = simulate(server.api_url, server.token, respondents=400, seed=7,
                       out_dir=tmp_path / "sim")
        conn = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
        migrate(conn)
        for asset in deployed_assets(kobo):
            sync_form(kobo, WarehouseStore(conn, tmp_path / "landing"), asset)
    score(conn, *study)
    enumerators = json.loads(run.truth_path.read_text(encoding="utf-8"))["enumerators"]
    liner = {code for code, e in enumerators.items() if e["straight_liner"]}
    fabricator = {code for code, e in enumerators.items() if e["fabricates"]}
    assert len(liner) == 1 and len(fabricator) == 1

    rows = conn.execute("""
        SELECT enumerator_code, list_contains(flags, 'straight_lining'),
               list_contains(flags, 'too_short'), list_contains(flags, 'gps_far'),
               (SELECT count(*) FROM (SELECT DISTINCT service_key FROM stg_item_answers a
                                      WHERE a.submission_id = i.submission_id AND a.valid
                                      GROUP BY service_key HAVING count(*) >= 2))
        FROM fct_interviews i WHERE consent = 'yes'""").fetchall()
    liner_rows = [r for r in rows if r[0] in liner]
    honest = [r for r in rows if r[0] not in liner]
    # every straight-lined interview with enough blocks to judge (4) is flagged, no honest one
    judged = [r for r in liner_rows if r[4] >= 4]
    assert judged and all(r[1] for r in judged)
    assert not any(r[1] for r in honest)
    # the interviews made up at home in minutes are too short and far away; nobody else's
    made_up = [r for r in rows if r[2] or r[3]]
    assert made_up and {r[0] for r in made_up} == fabricator
    assert all(r[2] and r[3] for r in made_up)
