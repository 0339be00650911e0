"""Effectiveness, the gap, its status, quadrant, suppression and importance, worked out by hand on
a small study written in the test, through the real models (``warehouse.scoring.score``)."""

from __future__ import annotations

import math

import duckdb
import pytest
from scipy.stats import t as student_t

from tests.scoring_world import geography, indicator, interview, service, write_synced
from tests.scoring_world import study as make_study
from warehouse.scoring import score

# Municipality G: village G1 300 adults, G2 700, four interviews each -> weights 75 and 175
# (W = 1000). Each service has one item; a village's share of top-box answers is the same in both
# villages, so S is that share whatever the weights. E comes from one indicator scored 0-100
# (floor 0, target 100) whose value is E, unless said otherwise.
SHARES = {"AL": 3, "PE": 3, "PU": 1, "FF": 1, "BD": 2, "CV": 3, "ID": 3, "IND": 2}  # of 4
E_VALUES = {"AL": 70, "PE": 25, "PU": 80, "FF": 20, "BD": 60}
# priorities per interview (G1: 1-4, G2: 5-8); interview 4 has none (not asked)
PRIORITIES = {1: ["AL", "PE"], 2: ["FF"], 3: ["FF"], 5: ["AL"], 6: ["AL", "PU"], 7: ["FF"],
              8: ["PU"]}
# indicators of IND: (code, floor, target, direction, answer, weight, value)
IND = [("ind_hi", 20, 95, "higher", "decimal", 1, "57.5"),      # (57.5-20)/75 = 0.5 -> 50
       ("ind_cap", 0, 50, "higher", "decimal", 1, "80"),        # above target -> 100
       ("ind_floor", 10, 60, "higher", "decimal", 1, "5"),      # below floor -> 0
       ("ind_lower", 30, 5, "lower", "integer", 2, "10"),       # (30-10)/(30-5) = 0.8 -> 80
       ("ind_yes", 0, 1, "higher", "yes_no", 1, "yes"),         # 100
       ("ind_no", 0, 1, "higher", "yes_no", 1, "no")]           # 0


def services():
    out = [service(code, {f"{code.lower()}_q": 1}) for code in ("AL", "PE", "PU", "FF", "BD")]
    # coverage: four indicators each; CV has two values (coverage 0.5 = the minimum), ID one
    for code in ("CV", "ID"):
        out.append(service(code, {f"{code.lower()}_q": 1},
                           [indicator(f"{code.lower()}_{k}", code) for k in range(4)]))
    out.append(service("IND", {"ind_q": 1}, [
        indicator(c, "IND", floor=f, target=t, direction=d, answer=a, weight=w)
        for c, f, t, d, a, w, _ in IND]))
    out.append(service("SUP", {"sup_q": 1}))  # answered by one interview: suppressed
    out.append(service("UNR", {"unr_q": 1}))  # answered by two: unreliable
    return out


@pytest.fixture(scope="module")
def world(study):
    bundled, _ = study
    # villages as strata: both villages answer alike, so a clustered variance would be 0
    definition = make_study(bundled, services(), ["G", "H"], suppress_below=2, flag_below=3,
                            villages="strata",
                            gap_threshold=10, quadrant_cut=50, min_effectiveness_coverage=0.5)
    geo = geography({"G": {"G1": {("f", "30_44"): 300}, "G2": {("f", "30_44"): 700}},
                     "H": {"H1": {("f", "30_44"): 100}}})
    citizen = []
    for number in range(1, 9):
        position = (number - 1) % 4  # 0-3 within its village
        answers = {f"{code.lower()}_q": ("5" if position < top else "2")
                   for code, top in SHARES.items()}
        if number == 1:
            answers.update(sup_q="4", unr_q="4")
        if number == 2:
            answers["unr_q"] = "1"
        if number in PRIORITIES:
            answers["priority_services"] = PRIORITIES[number]
        citizen.append(interview(number, "G1" if number <= 4 else "G2", **answers))
    # H: four interviews, no LSG assessment
    citizen += [interview(20 + i, "H1", al_q="5") for i in range(4)]
    values = {f"{code.lower()}_ind": str(e) for code, e in E_VALUES.items()}
    values.update({"cv_0": "40", "cv_1": "80", "id_2": "90", "sup_ind": "50", "unr_ind": "50"})
    values.update({c: v for c, *_, v in IND})
    values.update({"ind_hi_verified": "yes", "ind_cap_verified": "no", "ind_lower_verified": "yes"})
    lsg = [{"_id": 900, "municipality": "G", **values}]
    conn = duckdb.connect()
    write_synced(conn, citizen, lsg)
    score(conn, definition, geo)
    return conn


def cell(conn, service_code, municipality="G") -> dict:
    cursor = conn.execute("SELECT * FROM gap_scores WHERE municipality_code = ? AND service_code = ?",
                          [municipality, service_code])
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    assert len(rows) == 1
    return dict(zip(names, rows[0], strict=True))


def test_indicators_are_scored_in_both_directions_clamped_and_yes_no(world):
    scores = dict(world.execute("SELECT indicator_code, score FROM fct_indicator_scores "
                                "WHERE service_code = 'IND'").fetchall())
    assert scores == pytest.approx({"ind_hi": 50, "ind_cap": 100, "ind_floor": 0,
                                    "ind_lower": 80, "ind_yes": 100, "ind_no": 0})
    # E = (50 + 100 + 0 + 2 x 80 + 100 + 0) / 7 = 410 / 7; ind_cap is unverified, as are the
    # yes/no ones and ind_floor (no _verified answer): 4 of 6
    e = world.execute("SELECT effectiveness, coverage, present, expected, unverified "
                      "FROM fct_effectiveness WHERE service_code = 'IND'").fetchone()
    assert e == pytest.approx((410 / 7, 1.0, 6, 6, 4))


def test_effectiveness_needs_the_minimum_coverage_of_indicators(world):
    # CV: 2 of 4 present (0.5, the minimum): E = (40 + 80) / 2; ID: 1 of 4 (0.25): no E
    cv, id_ = cell(world, "CV"), cell(world, "ID")
    assert (cv["effectiveness"], cv["effectiveness_coverage"]) == pytest.approx((60.0, 0.5))
    assert (cv["effectiveness_indicators"], cv["effectiveness_indicators_expected"]) == (2, 4)
    assert id_["effectiveness"] is None and id_["effectiveness_coverage"] == pytest.approx(0.25)
    assert id_["gap"] is None and id_["gap_status"] == "insufficient_data"
    assert id_["quadrant"] is None and id_["satisfaction"] == pytest.approx(75.0)


@pytest.mark.parametrize("code, s, e, status, quadrant", [
    ("AL", 75, 70, "aligned", "maintain"),                            # G = 5
    ("PE", 75, 25, "perception_exceeds", "expectation_risk"),         # G = 50
    ("PU", 25, 80, "performance_underrecognised", "communicate"),     # G = -55
    ("FF", 25, 20, "aligned", "fix_first"),                           # G = 5
    ("BD", 50, 60, "aligned", "maintain"),           # |G| = T is aligned; S = cut is high
    ("CV", 75, 60, "perception_exceeds", "maintain"),                 # G = 15
])
def test_every_gap_status_and_quadrant(world, code, s, e, status, quadrant):
    g = cell(world, code)
    assert (g["satisfaction"], g["effectiveness"], g["gap"]) == pytest.approx((s, e, s - e))
    assert (g["gap_status"], g["quadrant"]) == (status, quadrant)
    assert (g["suppressed"], g["unreliable"]) == (False, False)


def test_the_gap_interval_is_the_satisfaction_interval_shifted_by_e_and_by_hand(world):
    # S = 3/4 in both villages: u = w (y - 3/4) / 1000, each village's u sum to 0, so
    # V = 4/3 x (3/4)(1/4) x 4 x ((75/1000)^2 + (175/1000)^2) = 0.03625, 8 - 2 = 6 df;
    # SRS: p (1 - p) / 7 = 0.1875 / 7 -> deff = 1.3533, n / deff = 5.911; Wilson with t6
    v = 4 / 3 * 0.1875 * 4 * (0.075 ** 2 + 0.175 ** 2)
    base = 8 * 0.1875 / (7 * v)
    z = student_t.ppf(0.975, 6)
    centre, spread = 0.75 + z * z / (2 * base), z * math.sqrt(0.1875 / base + z * z / (4 * base ** 2))
    low, high = 100 * (centre - spread) / (1 + z * z / base), 100 * (centre + spread) / (1 + z * z / base)
    assert (low, high) == pytest.approx((29.23, 95.61), abs=0.01)
    for code, e, established in (("AL", 70, False), ("PE", 25, True)):
        g = cell(world, code)
        assert g["design_effect"] == pytest.approx(v / (0.1875 / 7))
        assert (g["satisfaction_ci_low"], g["satisfaction_ci_high"]) == pytest.approx((low, high))
        assert (g["gap_ci_low"], g["gap_ci_high"]) == pytest.approx((low - e, high - e))
        assert g["gap_established"] is established  # PE: 29.2 - 25 > 0
        assert g["gap_material"] is False  # PE: 4.2 is not beyond +10


def test_suppression_below_the_base_and_the_unreliable_flag(world):
    # suppress_below 2, flag_below 3: SUP has n = 1 (suppressed: no gap although E exists),
    # UNR n = 2 (shown, flagged), the others n = 8
    sup, unr = cell(world, "SUP"), cell(world, "UNR")
    assert (sup["n"], sup["suppressed"], sup["unreliable"]) == (1, True, False)
    assert sup["effectiveness"] == 50 and sup["gap"] is None
    assert (sup["gap_status"], sup["quadrant"]) == ("insufficient_data", None)
    assert (unr["n"], unr["suppressed"], unr["unreliable"]) == (2, False, True)
    assert unr["gap"] == pytest.approx(0.0) and unr["gap_status"] == "aligned"


def test_a_municipality_without_an_lsg_assessment_has_no_effectiveness_and_no_gap(world):
    h = cell(world, "AL", "H")
    assert (h["n"], h["satisfaction"], h["assessed"]) == (4, 100.0, False)
    assert h["effectiveness"] is None and h["effectiveness_coverage"] == 0
    assert (h["gap_status"], h["quadrant"], h["gap_established"]) == ("insufficient_data", None,
                                                                      False)


def test_importance_is_the_weighted_share_naming_the_service_among_those_asked(world):
    # asked: every interview but 4 (weights 75 x 3 + 175 x 4 = 925); AL named by 1 (75), 5 and 6
    # (175 each): 425 / 925; PE 75 / 925; FF by 2, 3, 7: 325 / 925; PU by 6, 8: 350 / 925
    got = dict(world.execute("SELECT service_code, importance FROM fct_importance "
                             "WHERE municipality_code = 'G'").fetchall())
    expected = {"AL": 425, "PE": 75, "FF": 325, "PU": 350}
    assert got == pytest.approx({code: 100 * expected.get(code, 0) / 925 for code in got})
    assert world.execute("SELECT DISTINCT n FROM fct_importance WHERE municipality_code = 'G'"
                         ).fetchall() == [(7,)]
    assert cell(world, "AL")["importance"] == pytest.approx(100 * 425 / 925)


def test_municipality_scores_count_statuses_and_quadrants_and_average_the_gaps(world):
    m = world.execute("SELECT * FROM municipality_scores WHERE municipality_code = 'G'")
    names = [d[0] for d in m.description]
    m = dict(zip(names, m.fetchone(), strict=True))
    # gaps: AL 5, PE 50, PU -55, FF 5, BD -10, CV 15, IND 50 - 410/7, UNR 0; none for SUP, ID
    gaps = [5, 50, -55, 5, -10, 15, 50 - 410 / 7, 0]
    assert (m["services"], m["services_with_gap"]) == (10, 8)
    assert m["mean_abs_gap"] == pytest.approx(sum(abs(g) for g in gaps) / 8)
    assert (m["aligned"], m["perception_exceeds"], m["performance_underrecognised"],
            m["insufficient_data"]) == (5, 2, 1, 2)
    assert (m["maintain"], m["communicate"], m["expectation_risk"], m["fix_first"]) == (5, 1, 1, 1)
    assert (m["suppressed"], m["unreliable"], m["interviews_used"]) == (1, 1, 8)


def test_wilson_bounds_stay_within_0_and_1_when_rounding_pushes_p_past_them():
    # at p = 1 the closed form gives 1 + 3e-17 in floating point, and a share summed from weights
    # can come out as 1.0000000000000002: the bounds are clamped, so shares stay within 0-100
    from warehouse.scoring import MACROS

    conn = duckdb.connect()
    conn.execute(MACROS)
    low, high = conn.execute("SELECT wilson_low(1.0000000000000002, 30, 1.96), "
                             "wilson_high(1.0000000000000002, 30, 1.96)").fetchone()
    assert high == 1.0 and 0.88 < low < 0.89  # 30 / (30 + 1.96^2) = 0.8865
    low, high = conn.execute("SELECT wilson_low(-1e-17, 30, 1.96), "
                             "wilson_high(-1e-17, 30, 1.96)").fetchone()
    assert low == 0.0 and 0.11 < high < 0.12  # 1.96^2 / (30 + 1.96^2) = 0.1135


def test_an_approved_and_a_not_yet_validated_assessment__only_the_later_one_is_used(study):
    # two assessments of one municipality, one approved and one whose status is not set yet
    # (NULL): the later is used, the other superseded; E is the later one's value, not a blend
    from tests.quality_world import rows, scored_world

    bundled, _ = study
    definition = make_study(bundled, [service("AL", {"al_q": 1})], ["G"], suppress_below=1,
                            flag_below=1, villages="strata")
    geo = geography({"G": {"G1": {("f", "30_44"): 100}}})
    citizen = [interview(k, "G1", al_q="5") for k in range(1, 5)]
    lsg = [{"_id": 900, "municipality": "G", "al_ind": "20", "assessment_date": "2026-05-01",
            "_validation_status": "validation_status_approved"},
           {"_id": 901, "municipality": "G", "al_ind": "60", "assessment_date": "2026-05-03"}]
    conn = scored_world(definition, geo, citizen, lsg)
    used = rows(conn, "SELECT submission_id, excluded_reason FROM stg_assessments ORDER BY 1")
    assert used == [{"submission_id": 900, "excluded_reason": "superseded_by_a_later_assessment"},
                    {"submission_id": 901, "excluded_reason": None}]
    assert cell(conn, "AL")["effectiveness"] == pytest.approx(60)
