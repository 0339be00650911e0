"""Survey weights: base weights, raking to the sex × age margins, the fallback to separate
margins, trimming then re-raking — worked out by hand, raking checked against samplics, and the
weights the models write (``fct_weights``, ``fct_weighting``)."""

from __future__ import annotations

import warnings

import duckdb
import numpy as np
import pytest

from aimak.errors import ScoringError
from tests.scoring_world import geography, interview, service, write_synced
from tests.scoring_world import study as make_study
from warehouse.scoring import score
from warehouse.weights import rake, weigh

ONE_AGE = np.zeros(1)


def weights_of(village, cell, sex, age, village_adults, cell_adults, sex_adults, age_adults,
               low=0.3, high=3.0):
    arrays = [np.asarray(a, dtype=int) for a in (village, cell, sex, age)]
    floats = [np.asarray(a, dtype=float) for a in (village_adults, cell_adults, sex_adults,
                                                   age_adults)]
    return weigh(*arrays, *floats, low, high)


def test_raking_to_sex_margins_within_villages_by_hand():
    # villages A (f 100, m 100) and B (f 50, m 150), one woman and one man interviewed in each:
    # base weights 200 / 2 = 100. Villages already on target; sex f: 200 -> 150 (x 0.75),
    # m: 200 -> 250 (x 1.25) -> 75, 125, 75, 125, which keeps each village at 200: done.
    result = weights_of([0, 0, 1, 1], [0, 1, 0, 1], [0, 1, 0, 1], [0, 0, 0, 0],
                        [200, 200], [150, 250], [150, 250], [400])
    assert result.scheme == "village+sex×age"
    assert result.base == pytest.approx([100, 100, 100, 100])
    assert result.weights == pytest.approx([75, 125, 75, 125])
    assert result.converged and result.trimmed == 0 and result.within_trim_bounds


def unbalanced_sample(seed=7):
    """Three villages × four sex-age cells, interviews far off the population's shares."""
    rng = np.random.default_rng(seed)
    village = np.repeat([0, 1, 2], [30, 45, 25])
    cell = rng.choice(4, size=100, p=[0.45, 0.1, 0.35, 0.1])
    village_cells = np.array([[400, 380, 210, 160], [900, 950, 500, 420], [150, 170, 90, 60]],
                             dtype=float)
    return village, cell, village_cells


def test_raking_hits_every_margin_and_converges_to_the_weights_samplics_rakes():
    village, cell, village_cells = unbalanced_sample()
    sex, age = cell // 2, cell % 2  # cells (sex, age): 0 = (0, 0), 1 = (0, 1), 2 = (1, 0), 3 = (1, 1)
    cells = village_cells.sum(axis=0)
    result = weights_of(village, cell, sex, age, village_cells.sum(axis=1), cells,
                        [cells[0] + cells[1], cells[2] + cells[3]], [cells[0] + cells[2],
                                                                     cells[1] + cells[3]],
                        low=0.01, high=100)
    assert result.converged and result.iterations > 1
    assert np.bincount(village, result.weights) == pytest.approx(village_cells.sum(axis=1),
                                                                 rel=1e-9)
    assert np.bincount(cell, result.weights) == pytest.approx(cells, rel=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from samplics import SampleWeight
    control = {"village": dict(enumerate(village_cells.sum(axis=1))), "cell": dict(enumerate(cells))}
    theirs = SampleWeight().rake(samp_weight=result.base, margins={"village": village, "cell": cell},
                                 control=control, tol=1e-13, ctrl_tol=1e-13, max_iter=10_000)
    assert result.weights == pytest.approx(np.asarray(theirs), rel=1e-6)


def test_a_sex_by_age_cell_with_adults_but_no_interview_falls_back_to_separate_margins():
    # one village; cells f18 100, f60 100, m18 100, m60 50 adults; interviews f18, f60, m18, m18
    # (no man of 60+). Separate margins: sex f 200, m 150; age 18-29 200, 60+ 150. The raked
    # weights are base x a_sex x b_age: m18 + m18 = 150 -> 75 each; f18 = 200 - 150 = 50;
    # f60 = 150.
    result = weights_of([0, 0, 0, 0], [0, 1, 2, 2], [0, 0, 1, 1], [0, 1, 0, 0],
                        [350], [100, 100, 100, 50], [200, 150], [200, 150])
    assert result.scheme == "village+sex+age"
    assert result.weights == pytest.approx([50, 150, 75, 75], rel=1e-8)


def test_an_age_group_nobody_was_interviewed_in_yet_has_its_adults_carried_by_the_others():
    # early fieldwork: one village of 400 adults (f18 100, f60 100, m18 100, m60 100), interviews
    # f18, f18, m18 only: nobody of 60+. Sex margin f 200, m 200; the age margin's 60+ adults (200)
    # are carried by 18-29, whose target becomes 400. Raked: f18 + f18 = 200 -> 100 each, m18 200;
    # the weights still sum to the 400 adults.
    result = weights_of([0, 0, 0], [0, 0, 2], [0, 0, 1], [0, 0, 0],
                        [400], [100, 100, 100, 100], [200, 200], [200, 200])
    assert result.scheme == "village+sex+age"
    assert result.weights == pytest.approx([100, 100, 200], rel=1e-8)
    assert result.weights.sum() == pytest.approx(400)


def test_trimming_then_reraking_reaches_the_only_weights_on_the_margins_within_the_bounds():
    # villages V1 (f 100, m 100), V2 (f 100, m 100); V1: one woman, one man; V2: one woman, five
    # men. Raked weights are r_village x s_cell: with A = V1 f, the margins give V1 m = V2 f =
    # 200 - A, V2 men (200 - (200 - A)) / 5 = A / 5, and r x s form A x A/5 = (200 - A)^2, so
    # A = 200 sqrt 5 / (1 + sqrt 5) = 138.2, V1 m = V2 f = 61.8, men 27.6 each. Mean weight 400 / 8 = 50, bounds [15, 100]: V1's woman is above 100.
    # On the margins V1 f = A, V1 m = 200 - A, V2 f = 200 - A, V2 men A / 5 each; within the
    # bounds A <= 100 and 200 - A <= 100: A = 100, the weights 100, 100, 100, 20 x 5.
    result = weights_of([0, 0, 1, 1, 1, 1, 1, 1], [0, 1, 0, 1, 1, 1, 1, 1],
                        [0, 1, 0, 1, 1, 1, 1, 1], [0] * 8, [200, 200], [200, 200], [200, 200],
                        [400], low=0.3, high=2.0)
    untrimmed = weights_of([0, 0, 1, 1, 1, 1, 1, 1], [0, 1, 0, 1, 1, 1, 1, 1],
                           [0, 1, 0, 1, 1, 1, 1, 1], [0] * 8, [200, 200], [200, 200],
                           [200, 200], [400], low=0.01, high=100)
    golden = 200 * 5 ** 0.5 / (1 + 5 ** 0.5)
    assert untrimmed.weights == pytest.approx([golden, 200 - golden, 200 - golden]
                                              + [golden / 5] * 5)
    assert result.trimmed == 1 and result.within_trim_bounds and result.converged
    assert result.weights == pytest.approx([100, 100, 100, 20, 20, 20, 20, 20], rel=1e-8)


def test_trimming_gives_way_to_the_margins_when_one_interview_carries_a_village():
    # V1 900 adults, one interview; V2 100 adults, nine: weights 900 and 11.1; the mean is 100,
    # the bounds [30, 300]; any weight within them misses V1's 900, so the margins win
    result = weights_of([0] + [1] * 9, [0] * 10, [0] * 10, [0] * 10, [900, 100], [1000], [1000],
                        [1000])
    assert not result.within_trim_bounds and result.trimmed == 10
    assert result.weights == pytest.approx([900] + [100 / 9] * 9)


def test_rake_reports_no_convergence_when_the_sweeps_run_out():
    village, cell, village_cells = unbalanced_sample()
    base = np.ones(len(village))
    margins = [(village, village_cells.sum(axis=1)), (cell, village_cells.sum(axis=0))]
    _, sweeps, converged = rake(base, margins, iterations=1)
    assert (sweeps, converged) == (1, False)


# ---- through the models ------------------------------------------------------------------------

def run(study, municipalities, citizen):
    bundled, _ = study
    definition = make_study(bundled, [service("A", {"a1": 1})], list(municipalities))
    conn = duckdb.connect()
    write_synced(conn, citizen)
    score(conn, definition, geography(municipalities))
    return conn


def test_base_weights_are_village_adults_over_interviews_scaled_up_for_a_village_without_any(study):
    # V1 300 adults and 3 interviews, V2 200 and 4, V3 500 and none: the interviewed villages
    # carry all 1,000 adults, 600 and 400 -> base weights 200 (V1) and 100 (V2); everyone is in
    # the one group with adults, so raking keeps them
    pop = {"M": {"M1": {("f", "30_44"): 300}, "M2": {("f", "30_44"): 200},
                 "M3": {("f", "30_44"): 500}}}
    citizen = [interview(i, v, a1="4") for i, v in enumerate(["M1"] * 3 + ["M2"] * 4, start=1)]
    conn = run(study, pop, citizen)
    got = conn.execute("SELECT village_code, base_weight, weight FROM fct_weights "
                       "ORDER BY submission_id").fetchall()
    assert got == [("M1", 200.0, 200.0)] * 3 + [("M2", 100.0, 100.0)] * 4
    villages = conn.execute("SELECT villages, villages_missing FROM fct_satisfaction").fetchone()
    assert villages == (2, 1)


def test_weighting_summary_reports_scheme_trimming_and_kish_design_effect(study):
    # village 1 (f 100, m 100) one woman one man; village 2 (f 50, m 150) the same: weights
    # 75, 125, 75, 125 (see the hand calculation above); mean 100, CV^2 = 625 / 10000 -> deff
    # 1.0625, efficiency 1 / 1.0625
    pop = {"M": {"M1": {("f", "30_44"): 100, ("m", "30_44"): 100},
                 "M2": {("f", "30_44"): 50, ("m", "30_44"): 150}}}
    citizen = [interview(1, "M1", "f", a1="4"), interview(2, "M1", "m", a1="4"),
               interview(3, "M2", "f", a1="4"), interview(4, "M2", "m", a1="4")]
    conn = run(study, pop, citizen)
    weights = [w for (w,) in conn.execute("SELECT weight FROM fct_weights ORDER BY submission_id")
               .fetchall()]
    assert weights == pytest.approx([75, 125, 75, 125])
    summary = conn.execute("SELECT scheme, converged, trimmed, within_trim_bounds, weight_sum, "
                           "design_effect_weighting, weighting_efficiency FROM fct_weighting"
                           ).fetchone()
    assert summary[:5] == ("village+sex×age", True, 0, True, pytest.approx(400))
    assert summary[5:] == pytest.approx((1.0625, 1 / 1.0625))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from samplics import SampleWeight
    assert summary[5] == pytest.approx(SampleWeight().calculate_deff_weight(np.array(weights)))


def test_an_interview_in_a_group_without_adults_stops_the_scoring_naming_it(study):
    pop = {"M": {"M1": {("f", "30_44"): 100}}}
    citizen = [interview(1, "M1", "f", a1="4"), interview(2, "M1", "m", a1="4")]
    with pytest.raises(ScoringError, match=r"municipality M: 1 interview\(s\) \(submission 2 "
                                           r"and others\) have sex 'm'.*geography\.csv"):
        run(study, pop, citizen)
