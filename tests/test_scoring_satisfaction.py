"""Satisfaction S, its design-based variance, design effect and Wilson interval, worked out by hand
on interviews written in the test and checked against samplics and statsmodels, through the real
models (``warehouse.scoring.score``)."""

from __future__ import annotations

import math
import warnings
from fractions import Fraction as F

import duckdb
import numpy as np
import pytest
from scipy.stats import norm
from scipy.stats import t as student_t

from tests.scoring_world import geography, interview, service, write_synced
from tests.scoring_world import study as make_study
from warehouse.scoring import score

# Municipality M: village M1 has 300 adults and 3 interviews (weight 100 each), M2 200 adults and
# 4 interviews (weight 50); everyone is a woman of 30-44, the only group with adults, so raking
# keeps the base weights. One item, a1 (codes 8 and 9 are not in the base).
M = {"M1": {("f", "30_44"): 300}, "M2": {("f", "30_44"): 200}}
ANSWERS_M = [("M1", "5"), ("M1", "2"), ("M1", "9"), ("M2", "4"), ("M2", "8"), ("M2", "1"),
             ("M2", "3")]
# Municipality N: one village of 400 adults, 4 interviews (weight 100), two items: b1 weight 2,
# b2 weight 1.
N = {"N1": {("f", "30_44"): 400}}
ANSWERS_N = [("5", "4"), ("4", "2"), ("1", "9"), ("2", "4")]
# Municipality P: village P1 (100 adults) has one interview, P2 (300 adults) three: weight 100
# each. Item a1: 5 | 4, 2, 1. Only the last interview of P2 uses service B (b1 5, b2 9).
P = {"P1": {("f", "30_44"): 100}, "P2": {("f", "30_44"): 300}}
ANSWERS_P = [("P1", {"a1": "5"}), ("P2", {"a1": "4"}), ("P2", {"a1": "2"}),
             ("P2", {"a1": "1", "b1": "5", "b2": "9"})]


def scored(definition, geo, citizen, lsg=()) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect()
    write_synced(conn, citizen, list(lsg))
    score(conn, definition, geo)
    return conn


def row(conn, table: str, **keys) -> dict:
    where = " AND ".join(f"{k} = ?" for k in keys)
    cursor = conn.execute(f"SELECT * FROM {table} WHERE {where}", list(keys.values()))
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    assert len(rows) == 1, rows
    return dict(zip(names, rows[0], strict=True))


@pytest.fixture(scope="module")
def world(study):
    bundled, _ = study
    definition = make_study(
        bundled, [service("A", {"a1": 1}), service("B", {"b1": 2, "b2": 1})], ["M", "N", "P"],
        suppress_below=1, flag_below=2, villages="strata")
    geo = geography({"M": M, "N": N, "P": P})
    citizen = [interview(i, v, a1=code) for i, (v, code) in enumerate(ANSWERS_M, start=1)]
    citizen += [interview(100 + i, "N1", b1=b1, b2=b2)
                for i, (b1, b2) in enumerate(ANSWERS_N, start=1)]
    citizen += [interview(200 + i, v, **answers) for i, (v, answers) in enumerate(ANSWERS_P)]
    return scored(definition, geo, citizen)


def test_top2box_leaves_codes_8_and_9_out_of_the_base_and_weights_the_rest(world):
    # valid answers: M1 5 (w 100), 2 (100); M2 4 (50), 1 (50), 3 (50) -> n 5, weight 350;
    # top-2: 100 + 50 -> p = 150 / 350 = 3/7; mean score (500 + 200 + 200 + 50 + 150) / 350 = 22/7,
    # mean index (22/7 - 1) / 4 x 100 = 53.571...
    item = row(world, "fct_item_scores", municipality_code="M", item_code="a1")
    assert (item["n"], item["weight_sum"]) == (5, 350)
    assert item["top_box_share"] == pytest.approx(3 / 7)
    assert item["mean_score"] == pytest.approx(22 / 7)
    g = row(world, "gap_scores", municipality_code="M", service_code="A")
    assert g["n"] == 5
    assert g["satisfaction"] == pytest.approx(100 * 3 / 7)
    assert g["satisfaction_mean_index"] == pytest.approx((22 / 7 - 1) / 4 * 100)


def test_linearised_variance_with_villages_as_strata_by_hand(world):
    # u_i = w_i (y_i - p) / W with p = 3/7, W = 350: M1 (8, -6, 0)/49, M2 (4, 0, -3, -3)/49
    # (the 9 and the 8 are out of the domain: u = 0, still interviews of their village).
    # M1: n_h 3, sum 2/49, sum of squares 100/2401 -> 3/2 (100/2401 - (2/49)^2/3) = 148/2401
    # M2: n_h 4, sum -2/49, sum of squares 34/2401 -> 4/3 (34/2401 - (2/49)^2/4) = 44/2401
    # V = 192/2401; degrees of freedom 7 interviews - 2 villages = 5.
    # Villages as PSUs instead: U = (2/49, -2/49), C = 2 -> 2/1 x 8/2401 = 16/2401.
    s = row(world, "fct_satisfaction", municipality_code="M", service_code="A")
    assert s["variance_p"] == pytest.approx(float(F(192, 2401)), rel=1e-12)
    assert s["degrees_of_freedom"] == 5 and s["villages"] == 2 and s["villages_missing"] == 0
    assert s["variance_p_villages_as_psus"] == pytest.approx(float(F(16, 2401)), rel=1e-12)
    # the mean score: u_i = w_i (x_i - 22/7) / 350: M1 (26, -16, 0)/49, M2 (6, 0, -15, -1)/49
    # M1: 3/2 (932/2401 - (10/49)^2/3) = 1348/2401; M2: 4/3 (262/2401 - (10/49)^2/4) = 316/2401
    assert s["variance_mean_score"] == pytest.approx(float(F(1664, 2401)), rel=1e-12)


def test_villages_as_clusters_by_default__variance_df_deff_and_interval_by_hand(study):
    # M again with the definition's default method.villages: clusters. Cluster totals of u
    # (above): U_M1 = 2/49, U_M2 = -2/49, C = 2 villages -> V = 2/1 x (4 + 4)/2401 = 16/2401, with
    # C - 1 = 1 degree of freedom. SRS variance 3/49 (below) -> deff = (16/2401)/(3/49) = 16/147.
    # Wilson base n p (1 - p) / ((n - 1) V) = 5 x 12/49 / (4 x 16/2401) = 2940/64 = 45.9375,
    # at the t quantile on 1 degree of freedom (12.706).
    bundled, _ = study
    definition = make_study(bundled, [service("A", {"a1": 1})], ["M"], suppress_below=1,
                            flag_below=2)
    assert definition.method.villages == "clusters"
    citizen = [interview(i, v, a1=code) for i, (v, code) in enumerate(ANSWERS_M, start=1)]
    conn = scored(definition, geography({"M": M}), citizen)
    s = row(conn, "fct_satisfaction", municipality_code="M", service_code="A")
    assert s["variance_design"] == "clusters" and s["degrees_of_freedom"] == 1
    assert s["variance_p"] == pytest.approx(float(F(16, 2401)), rel=1e-12)
    assert s["variance_p_villages_as_strata"] == pytest.approx(float(F(192, 2401)), rel=1e-12)
    g = row(conn, "gap_scores", municipality_code="M", service_code="A")
    assert g["design_effect"] == pytest.approx(16 / 147, rel=1e-12)
    assert g["wilson_base"] == pytest.approx(2940 / 64, rel=1e-12)
    low, high = wilson(3 / 7, 2940 / 64, student_t.ppf(0.975, 1))
    assert (g["top2box_ci_low"], g["top2box_ci_high"]) == pytest.approx((100 * low, 100 * high))


def test_one_village_as_clusters__falls_back_to_the_respondents_as_units(world, study):
    # N has a single village: a cluster variance needs two, so the strata formula (here: the
    # respondents of the one village) is used and the design says so
    bundled, _ = study
    definition = make_study(bundled, [service("B", {"b1": 2, "b2": 1})], ["N"], suppress_below=1,
                            flag_below=2)
    citizen = [interview(100 + i, "N1", b1=b1, b2=b2) for i, (b1, b2) in enumerate(ANSWERS_N, start=1)]
    s = row(scored(definition, geography({"N": N}), citizen), "fct_satisfaction",
            municipality_code="N", service_code="B")
    strata = row(world, "fct_satisfaction", municipality_code="N", service_code="B")
    assert s["variance_design"] == "strata" and s["degrees_of_freedom"] == 3
    assert s["variance_p"] == pytest.approx(strata["variance_p"], rel=1e-12)


def test_design_effect_is_the_design_variance_over_the_srs_one(world):
    # SRS variance of a share of n = 5 as survey's svymean(deff = TRUE) has it:
    # p (1 - p) / (n - 1) = (12/49) / 4 = 3/49; deff = (192/2401) / (3/49) = 64/49;
    # effective n = 5 / deff = 245/64 = 3.828125
    g = row(world, "gap_scores", municipality_code="M", service_code="A")
    assert g["design_effect"] == pytest.approx(64 / 49, rel=1e-12)
    assert g["effective_n"] == pytest.approx(245 / 64, rel=1e-12)
    assert g["wilson_base"] == pytest.approx(245 / 64, rel=1e-12)


def wilson(p: float, n: float, z: float) -> tuple[float, float]:
    """Wilson's score interval written out: (p + z²/2n ± z √(p(1-p)/n + z²/4n²)) / (1 + z²/n)."""
    centre, spread = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n), (centre + spread) / (1 + z * z / n)


def test_wilson_interval_on_the_effective_base_with_t_on_the_design_df(world):
    from statsmodels.stats.proportion import proportion_confint

    g = row(world, "gap_scores", municipality_code="M", service_code="A")
    t5 = student_t.ppf(0.975, 5)  # 2.5706
    low, high = wilson(3 / 7, 245 / 64, t5)
    assert (g["top2box_ci_low"], g["top2box_ci_high"]) == pytest.approx((100 * low, 100 * high))
    # statsmodels' Wilson interval at the level whose normal quantile is t5
    alpha = 2 * (1 - norm.cdf(t5))
    ref = proportion_confint(3 / 7 * 245 / 64, 245 / 64, alpha=alpha, method="wilson")
    assert (g["satisfaction_ci_low"], g["satisfaction_ci_high"]) == pytest.approx(
        (100 * ref[0], 100 * ref[1]), rel=1e-9)
    assert g["satisfaction_ci_low"] < g["satisfaction"] < g["satisfaction_ci_high"]


def test_mean_index_interval_is_t_times_25_standard_errors_kept_within_0_100(world):
    # index 53.571 +- t5 x 25 x sqrt(1664/2401) = 53.571 +- 53.50 -> (0.072, 100 after the cut)
    g = row(world, "gap_scores", municipality_code="M", service_code="A")
    half = student_t.ppf(0.975, 5) * 25 * math.sqrt(1664 / 2401)
    index = (22 / 7 - 1) / 4 * 100
    assert g["mean_index_ci_low"] == pytest.approx(index - half)
    assert g["mean_index_ci_high"] == 100


def test_multi_item_satisfaction_weights_items_and_takes_deff_against_its_own_srs_variance(world):
    # b1 (weight 2/3): 5 4 1 2 -> p1 = 1/2, mean 3; b2 (weight 1/3): 4 2 9 4 -> 9 left out,
    # p2 = 2/3, mean 10/3. S = 2/3 x 1/2 + 1/3 x 2/3 = 5/9; mean 2/3 x 3 + 1/3 x 10/3 = 28/9,
    # index (28/9 - 1) / 4 x 100 = 52.78. Linearised u = sum_k a_k w (y - p_k) / W_k with
    # W1 = 400, W2 = 300: (13, 1, -9, -5)/108; one village of 4: V = 4/3 x 276/11664 = 368/11664,
    # 3 degrees of freedom. Equal weights in one village is a simple random sample: the SRS
    # variance of S is also 368/11664, so deff = 1, although S (1 - S) / (n - 1) = 20/243 is far
    # above V: averaging two items is more precise than one share of 4 answers. The Wilson base
    # n / deff_b = 4 (20/81) / (3 x 368/11664) = 10.43 interviews' worth of a single share.
    s = row(world, "fct_satisfaction", municipality_code="N", service_code="B")
    assert s["satisfaction"] == pytest.approx(100 * 5 / 9)
    assert s["satisfaction_mean_index"] == pytest.approx((28 / 9 - 1) / 4 * 100)
    assert s["variance_p"] == pytest.approx(368 / 11664, rel=1e-12)
    assert s["degrees_of_freedom"] == 3 and s["n"] == 4 and s["items"] == 2
    g = row(world, "gap_scores", municipality_code="N", service_code="B")
    assert g["design_effect"] == pytest.approx(1.0, rel=1e-12)
    assert g["effective_n"] == pytest.approx(4.0)
    base = 4 * (20 / 81) / (3 * 368 / 11664)
    assert g["wilson_base"] == pytest.approx(base, rel=1e-12)
    low, high = wilson(5 / 9, base, student_t.ppf(0.975, 3))
    assert (g["top2box_ci_low"], g["top2box_ci_high"]) == pytest.approx((100 * low, 100 * high))


def test_a_village_with_a_single_interview_adds_its_square_as_surveys_lonely_psu_adjust(world):
    # P: p = 200 / 400 = 1/2, u = 100 (y - 1/2) / 400 = +-1/8. P1's lone interview: (1/8)^2 = 1/64;
    # P2 (1/8, -1/8, -1/8): 3/2 (3/64 - (1/8)^2 / 3) = 1/16. V = 5/64, 4 - 2 = 2 degrees of freedom
    s = row(world, "fct_satisfaction", municipality_code="P", service_code="A")
    assert s["satisfaction"] == pytest.approx(50.0)
    assert s["variance_p"] == pytest.approx(5 / 64, rel=1e-12)
    assert s["degrees_of_freedom"] == 2


def test_a_single_answer_gets_wilsons_interval_on_n_1_and_no_design_effect(world):
    # B in P: one user, b1 = 5 (b2's 9 is out, so b1 is S's only item): S = 100, u = 0, V = 0;
    # the SRS variance needs n > 1, so no deff; Wilson on n = 1 with t2: (1 / (1 + t2^2), 1)
    g = row(world, "gap_scores", municipality_code="P", service_code="B")
    assert (g["n"], g["satisfaction_items"], g["satisfaction"]) == (1, 1, 100.0)
    assert g["design_effect"] is None and g["effective_n"] is None and g["wilson_base"] == 1
    t2 = student_t.ppf(0.975, 2)
    assert g["satisfaction_ci_low"] == pytest.approx(100 / (1 + t2 * t2))
    assert g["satisfaction_ci_high"] == pytest.approx(100.0)


def test_a_service_nobody_uses_has_no_estimate_and_insufficient_data(world):
    # nobody in N answered A's item (and nobody in M B's): n 0, no S, suppressed
    g = row(world, "gap_scores", municipality_code="N", service_code="A")
    assert g["n"] == 0 and g["satisfaction"] is None and g["satisfaction_ci_low"] is None
    assert g["suppressed"] and g["gap_status"] == "insufficient_data" and g["quadrant"] is None


# ---- against samplics, on a fixed dataset with villages, raked weights and a domain -----------

def samplics_variance(y, weight, domain, stratum=None, psu=None) -> tuple[float, float]:
    """samplics' Taylor estimate of the weighted mean of y in the domain and its variance."""
    y = np.where(domain, y, 1.0)  # outside the domain y is never used (samplics divides by it)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from samplics import PopParam, TaylorEstimator
        from samplics.utils import SinglePSUEst
    est = TaylorEstimator(PopParam.mean)
    est.estimate(y=y, samp_weight=weight, stratum=stratum, psu=psu, domain=domain,
                 single_psu=SinglePSUEst.error)
    return est.point_est[True], est.variance[True]


@pytest.fixture(scope="module")
def larger(study):
    """Three villages of unequal size, interviews drawn with a fixed seed: sex and age groups
    off the population's shares (so raking moves the weights), about a third non-users of C."""
    bundled, _ = study
    rng = np.random.default_rng(20261109)
    pop = {"L1": {("f", "18_29"): 120, ("m", "18_29"): 140, ("f", "60plus"): 90, ("m", "60plus"): 60},
           "L2": {("f", "18_29"): 300, ("m", "18_29"): 320, ("f", "60plus"): 200, ("m", "60plus"): 150},
           "L3": {("f", "18_29"): 60, ("m", "18_29"): 70, ("f", "60plus"): 50, ("m", "60plus"): 30}}
    counts = {"L1": 14, "L2": 22, "L3": 9}
    cells = [("f", "18_29"), ("m", "18_29"), ("f", "60plus"), ("m", "60plus")]
    citizen, number = [], 0
    for village, count in counts.items():
        for _ in range(count):
            number += 1
            sex, age = cells[rng.choice(4, p=[0.35, 0.15, 0.35, 0.15])]
            answers = {}
            if rng.random() < 0.7:  # a user of C: items c1, c2 (some 8/9)
                answers["c1"] = str(rng.choice(["1", "2", "3", "4", "5", "9"]))
                answers["c2"] = str(rng.choice(["1", "2", "3", "4", "5", "8"]))
            answers["d1"] = str(rng.choice(["1", "2", "3", "4", "5"]))  # everyone: D, 2 items
            answers["d2"] = str(rng.choice(["2", "3", "4", "5"]))
            citizen.append(interview(number, village, sex, age, **answers))
    definition = make_study(bundled, [service("C", {"c1": 1}), service("C2", {"c2": 1}),
                                      service("D", {"d1": 1, "d2": 1})], ["L"], suppress_below=1,
                            flag_below=2, villages="strata")
    conn = scored(definition, geography({"L": pop}), citizen)
    frame = conn.execute("""
        SELECT w.submission_id, w.village_code, w.weight, d.item_code, a.code, a.valid,
               a.satisfied, a.score
        FROM fct_weights w LEFT JOIN stg_item_answers a USING (submission_id)
        LEFT JOIN dim_item d USING (item_key)""").df()
    return conn, frame


def item_columns(frame, item):
    """One row per interview: weight, village, whether in the item's domain, top-box, score."""
    people = frame.drop_duplicates("submission_id").set_index("submission_id")[
        ["village_code", "weight"]].sort_index()
    answers = frame[(frame.item_code == item) & frame.valid].set_index("submission_id")
    domain = people.index.isin(answers.index)
    top = answers.satisfied.reindex(people.index).astype(float).to_numpy()
    sc = answers.score.reindex(people.index).to_numpy()
    return people, domain, top, sc


@pytest.mark.parametrize("item, svc", [("c1", "C"), ("c2", "C2")])
def test_variance_of_a_share_and_a_mean_in_a_domain_equals_samplics(larger, item, svc):
    conn, frame = larger
    people, domain, top, sc = item_columns(frame, item)
    assert people.weight.std() > 0 and 0 < domain.mean() < 1  # raked weights, a real domain
    ids = people.index.to_numpy()
    s = row(conn, "fct_satisfaction", municipality_code="L", service_code=svc)
    strata = dict(stratum=people.village_code.to_numpy(), psu=ids)
    p, var_p = samplics_variance(top, people.weight.to_numpy(), domain, **strata)
    mean, var_mean = samplics_variance(sc, people.weight.to_numpy(), domain, **strata)
    assert s["satisfaction"] == pytest.approx(100 * p, rel=1e-9)
    assert s["variance_p"] == pytest.approx(var_p, rel=1e-6)
    assert s["satisfaction_mean_index"] == pytest.approx((mean - 1) / 4 * 100, rel=1e-9)
    assert s["variance_mean_score"] == pytest.approx(var_mean, rel=1e-6)
    # villages as the PSUs (the definition's default, method.villages: clusters)
    _, var_psu = samplics_variance(top, people.weight.to_numpy(), domain,
                                   psu=people.village_code.to_numpy())
    assert s["variance_p_villages_as_psus"] == pytest.approx(var_psu, rel=1e-6)
    assert s["variance_p_villages_as_strata"] == pytest.approx(var_p, rel=1e-6)


def test_variance_of_a_two_item_satisfaction_everyone_answers_equals_samplics_on_its_mean(larger):
    # everyone answers d1 and d2: S = the weighted mean of (y1 + y2) / 2, a plain mean
    conn, frame = larger
    people, _, top1, _ = item_columns(frame, "d1")
    _, _, top2, _ = item_columns(frame, "d2")
    everyone = np.ones(len(people), dtype=bool)
    p, var = samplics_variance((top1 + top2) / 2, people.weight.to_numpy(), everyone,
                               stratum=people.village_code.to_numpy(),
                               psu=people.index.to_numpy())
    s = row(conn, "fct_satisfaction", municipality_code="L", service_code="D")
    assert s["satisfaction"] == pytest.approx(100 * p, rel=1e-9)
    assert s["variance_p"] == pytest.approx(var, rel=1e-6)


def test_with_the_mean_index_as_headline_s_its_interval_and_deff_are_the_mean_indexs(study):
    # M again, headline mean_index: S = 53.571, interval as above; the SRS variance of the mean
    # score is (weighted variance 36400 / 17150) / (n - 1 = 4) and V = 1664/2401 -> deff 64/49
    bundled, _ = study
    definition = make_study(bundled, [service("A", {"a1": 1})], ["M"], suppress_below=1,
                            flag_below=2, headline_satisfaction="mean_index", villages="strata")
    citizen = [interview(i, v, a1=code) for i, (v, code) in enumerate(ANSWERS_M, start=1)]
    g = row(scored(definition, geography({"M": M}), citizen), "gap_scores", service_code="A")
    assert g["satisfaction"] == pytest.approx((22 / 7 - 1) / 4 * 100)
    assert (g["satisfaction_ci_low"], g["satisfaction_ci_high"]) == (g["mean_index_ci_low"],
                                                                     g["mean_index_ci_high"])
    assert g["design_effect"] == pytest.approx((1664 / 2401) / (36400 / 17150 / 4))
    assert g["satisfaction_top2box"] == pytest.approx(100 * 3 / 7)
