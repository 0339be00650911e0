"""Rounds: Newcombe's interval and its p-value, Benjamini–Hochberg, the ``gap_changes`` model on
small hand-made marts, the simulator's follow-up round, and two simulated rounds end to end."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from math import erfc
from statistics import NormalDist

import duckdb
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep
from typer.testing import CliRunner

from aimak.errors import SimulationError
from fieldsim.fieldwork import default_start, plan_fieldwork
from fieldsim.personas import draw_respondents, make_world
from fieldsim.rounds import (
    LEVEL_RANGE,
    change_truth,
    check_deployed_round,
    deployed_round,
    shifts,
    world_of_round,
    write_round_definition,
)
from fieldsim.run_parameters import RunParameters
from fieldsim.truth import expected_cells
from forms import BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY
from forms.build import build_forms, load_study
from forms.sample_plan import plan_sample
from warehouse.changes import (
    benjamini_hochberg,
    build_gap_changes,
    newcombe,
    newcombe_p_value,
    wilson,
)
from warehouse.models import SQL_DIR

FOLLOW_UP = "r2027_followup"
Z95 = NormalDist().inv_cdf(0.975)


# --- Wilson, Newcombe, the p-value, Benjamini–Hochberg ------------------------------------------

def test_wilson_interval_matches_a_hand_calculation():
    # p = 0.6, n = 100, z = 1.96: z²/n = 0.038416
    # centre = (0.6 + 0.019208) / 1.038416 = 0.596301
    # half   = 1.96 / 1.038416 * sqrt(0.6 * 0.4 / 100 + 0.038416 / 400) = 0.094300
    low, high = wilson(0.6, 100, 1.96)
    assert (float(low), float(high)) == pytest.approx((0.502001, 0.690600), abs=1e-6)


def test_newcombe_interval_matches_a_hand_calculation_from_two_wilson_intervals():
    # before 48/80 = 0.6: Wilson (z 1.96) 0.490453 to 0.700383; after 56/70 = 0.8: 0.691831 to 0.876954
    # low  = 0.2 - sqrt((0.8 - 0.691831)² + (0.700383 - 0.6)²) = 0.2 - sqrt(0.011700 + 0.010077)
    #      = 0.052429
    # high = 0.2 + sqrt((0.876954 - 0.8)² + (0.6 - 0.490453)²) = 0.2 + sqrt(0.005922 + 0.012001)
    #      = 0.333875
    low, high = newcombe(0.6, 80, 0.8, 70, 1.96)
    assert (float(low), float(high)) == pytest.approx((0.052429, 0.333875), abs=1e-6)


# Newcombe (1998), Statistics in Medicine 17: 873-890, Table II, method 10 (the hybrid score
# interval), 95%: (a, m, b, n) is a/m minus b/n; (a) and (b) are also the values the R package
# propint checks against the paper.
NEWCOMBE_TABLE_II = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
]


@pytest.mark.parametrize(("counts", "published"), NEWCOMBE_TABLE_II)
def test_newcombe_interval_reproduces_newcombe_1998_table_ii(counts, published):
    a, m, b, n = counts
    low, high = newcombe(b / n, n, a / m, m, Z95)
    assert (round(float(low), 4), round(float(high), 4)) == published


def test_newcombe_interval_agrees_with_statsmodels_on_a_grid_of_counts():
    rng = np.random.default_rng(11)
    for _ in range(200):
        n1, n2 = rng.integers(5, 400, size=2)
        x1, x2 = rng.integers(0, n1 + 1), rng.integers(0, n2 + 1)
        # statsmodels: the interval of count1/nobs1 - count2/nobs2
        expected = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")
        got = newcombe(x2 / n2, n2, x1 / n1, n1, Z95)
        assert [float(v) for v in got] == pytest.approx([float(v) for v in expected], abs=1e-9)


def test_p_value_is_the_level_at_which_the_interval_reaches_zero():
    before, n_before = np.array([0.6, 0.45, 0.3, 0.7]), np.array([80, 200, 55.5, 120])
    after, n_after = np.array([0.8, 0.52, 0.1, 0.69]), np.array([70, 150, 40.2, 90])
    p = newcombe_p_value(before, n_before, after, n_after)
    z = np.array([NormalDist().inv_cdf(1 - v / 2) for v in p])
    low, high = newcombe(before, n_before, after, n_after, z)
    nearest = np.where(after > before, low, high)
    assert nearest == pytest.approx(0, abs=1e-9)
    # a little wider (smaller alpha) it holds 0, a little narrower it does not
    for factor, holds in ((1.001, True), (0.999, False)):
        low, high = newcombe(before, n_before, after, n_after, z * factor)
        assert list((low <= 0) & (high >= 0)) == [holds] * 4


def test_p_value_is_one_for_no_change_and_tiny_for_a_complete_reversal():
    p = newcombe_p_value(np.array([0.4, 0.0]), np.array([50, 10]), np.array([0.4, 1.0]),
                         np.array([80, 10]))
    assert p[0] == 1.0
    assert 0 < p[1] < 1e-4


def test_benjamini_hochberg_matches_a_hand_calculation():
    # sorted: 0.005, 0.01, 0.03, 0.04, 0.5 (m = 5); m p_(k) / k = 0.025, 0.025, 0.05, 0.05, 0.5;
    # the running minimum from the largest down leaves them as they are. The missing p-value
    # is not part of the family (m stays 5) and stays missing.
    q = benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.005, 0.5, np.nan]))
    assert q[:5] == pytest.approx([0.025, 0.05, 0.05, 0.025, 0.5])
    assert np.isnan(q[5])
    # where the running minimum matters: p = 0.012, 0.013, 0.014, 0.04 (m = 4) give
    # m p_(k) / k = 0.048, 0.026, 0.018667, 0.04; the minimum from the largest down makes the
    # first three 0.018667
    assert benjamini_hochberg(np.array([0.012, 0.013, 0.014, 0.04])) == pytest.approx(
        [0.0186667, 0.0186667, 0.0186667, 0.04], abs=1e-7)


def test_benjamini_hochberg_agrees_with_statsmodels():
    p = np.random.default_rng(5).beta(0.4, 2, size=300)
    assert benjamini_hochberg(p) == pytest.approx(multipletests(p, method="fdr_bh")[1], abs=1e-12)


# --- the gap_changes model on small hand-made marts ----------------------------------------------

def _cell(rnd, municipality, service, *, n=60, p=50.0, variance_p=0.0025, index=50.0,
          variance_mean=0.0016, e=40.0, suppressed=False):
    gap = None if suppressed else p - e
    status = None if gap is None else ("aligned" if abs(gap) <= 10 else
                                       "perception_exceeds" if gap > 0 else
                                       "performance_underrecognised")
    return {"round": rnd, "municipality_code": municipality, "service_code": service, "n": n,
            "suppressed": suppressed, "unreliable": 25 <= n < 50, "satisfaction": p,
            "satisfaction_top2box": p, "satisfaction_mean_index": index, "effectiveness": e,
            "gap": gap, "gap_status": status or "insufficient_data",
            "quadrant": None, "variance_p": variance_p, "variance_mean_score": variance_mean}


def _marts(cells: list[dict], dates: dict[str, str], *, headline: str = "top2box",
           assessed: dict[str, str] | None = None) -> duckdb.DuckDBPyConnection:
    """A warehouse holding just what gap_changes reads: gap_scores and fct_satisfaction rows,
    one used interview per round on its date, LSG assessments, and the method (z = 1.96)."""
    conn = duckdb.connect()
    frame = pd.DataFrame(cells)
    conn.register("cells", frame)
    conn.execute("""CREATE TABLE gap_scores AS SELECT round, municipality_code, service_code, n,
        suppressed, unreliable, satisfaction, satisfaction_top2box, satisfaction_mean_index,
        effectiveness, gap, gap_status, quadrant FROM cells""")
    conn.execute("""CREATE TABLE fct_satisfaction AS SELECT round, municipality_code,
        service_code, variance_p, variance_mean_score FROM cells WHERE NOT suppressed""")
    conn.execute("CREATE TABLE fct_interviews (round VARCHAR, interview_date DATE, used BOOLEAN)")
    for rnd, day in dates.items():
        conn.execute("INSERT INTO fct_interviews VALUES (?, ?, true)", [rnd, day])
    conn.execute("""CREATE TABLE stg_assessments (round VARCHAR, assessment_date DATE,
                                                  excluded_reason VARCHAR)""")
    for rnd, day in (assessed or {}).items():
        conn.execute("INSERT INTO stg_assessments VALUES (?, ?, NULL)", [rnd, day])
    conn.execute(f"""CREATE TABLE study_method AS SELECT 1.96 AS z, 0.95 AS confidence_level,
                     '{headline}' AS headline_satisfaction""")
    build_gap_changes(conn)
    return conn


def _changes(conn) -> pd.DataFrame:
    return conn.execute("SELECT * FROM gap_changes ORDER BY ALL").df()


def _check_rows(conn) -> list:
    sql = (SQL_DIR / "checks" / "changes_agree_with_their_intervals.sql").read_text()
    return conn.execute(sql).fetchall()


def test_rounds_follow_their_first_interview_not_the_spelling_of_their_codes():
    cells = [_cell(r, "AKM", "WAT") for r in ("r1_followup", "r2_baseline", "r0_assessed")]
    conn = _marts(cells, {"r2_baseline": "2025-03-02", "r1_followup": "2026-03-02"},
                  assessed={"r0_assessed": "2024-05-01"})
    rounds = conn.execute("SELECT round, position, dated_by FROM dim_round ORDER BY position").fetchall()
    assert rounds == [("r0_assessed", 1, "assessments"), ("r2_baseline", 2, "interviews"),
                      ("r1_followup", 3, "interviews")]
    pairs = conn.execute("SELECT round_before, round_after FROM gap_changes ORDER BY ALL").fetchall()
    assert pairs == [("r0_assessed", "r2_baseline"), ("r2_baseline", "r1_followup")]


def test_a_round_without_any_date_is_not_compared():
    cells = [_cell(r, "AKM", "WAT") for r in ("a", "b")]
    conn = _marts(cells, {"a": "2026-01-05"})
    assert conn.execute("SELECT position FROM dim_round WHERE round = 'b'").fetchone() == (None,)
    assert _changes(conn).empty


def test_the_change_in_s_is_newcombes_interval_on_the_effective_bases_not_on_n():
    # before S = 50% with V = 0.0025 -> base 0.5 * 0.5 / 0.0025 = 100; after S = 70% with
    # V = 0.0021 -> base 0.7 * 0.3 / 0.0021 = 100 (n is 60 in both, so a base of n would differ).
    # Wilson on 100 at z 1.96: before 0.403830 to 0.596170; after 0.604150 to 0.781052
    # low  = 0.2 - sqrt((0.7 - 0.604150)² + (0.596170 - 0.5)²) = 0.064221
    # high = 0.2 + sqrt((0.781052 - 0.7)² + (0.5 - 0.403830)²) = 0.325770
    conn = _marts([_cell("a", "AKM", "WAT", p=50, variance_p=0.0025, e=40),
                   _cell("b", "AKM", "WAT", p=70, variance_p=0.0021, e=55)],
                  {"a": "2026-01-05", "b": "2026-06-01"})
    row = _changes(conn).iloc[0]
    assert row.effective_n_before == pytest.approx(100) and row.effective_n_after == pytest.approx(100)
    assert row.satisfaction_change == pytest.approx(20)
    assert (row.satisfaction_change_ci_low, row.satisfaction_change_ci_high) == pytest.approx(
        (6.4221, 32.5770), abs=1e-4)
    assert row.change_method == "newcombe_hybrid_score"
    assert row.p_value < 0.05 and row.significant and row.satisfaction_change_status == "improved"
    assert row.effectiveness_change == pytest.approx(15)
    assert row.gap_change == pytest.approx(5)  # (70 - 55) - (50 - 40)
    assert (row.gap_status_before, row.gap_status_after) == ("aligned", "perception_exceeds")
    assert _check_rows(conn) == []


def test_a_cell_suppressed_in_either_round_has_no_change_in_s_but_keeps_its_change_in_e():
    conn = _marts([_cell("a", "AKM", "WAT", n=20, suppressed=True, e=30),
                   _cell("b", "AKM", "WAT", p=80, e=60),
                   _cell("a", "AKM", "RD", p=50), _cell("b", "AKM", "RD", n=10, suppressed=True)],
                  {"a": "2026-01-05", "b": "2026-06-01"})
    rows = _changes(conn).set_index("service_code")
    assert list(rows.suppressed) == [True, True]
    for column in ("satisfaction_change", "satisfaction_change_ci_low", "p_value",
                   "p_value_adjusted", "gap_change", "effective_n_before"):
        assert rows[column].isna().all(), column
    assert not rows.significant.any() and rows.satisfaction_change_status.isna().all()
    assert rows.loc["WAT", "effectiveness_change"] == pytest.approx(30)


def test_only_cells_scored_in_both_rounds_are_compared():
    conn = _marts([_cell("a", "AKM", "WAT"), _cell("b", "AKM", "WAT"),
                   _cell("a", "AKM", "RD"), _cell("b", "KSR", "RD")],
                  {"a": "2026-01-05", "b": "2026-06-01"})
    assert conn.execute("SELECT municipality_code, service_code FROM gap_changes").fetchall() == [
        ("AKM", "WAT")]


def test_benjamini_hochberg_runs_over_the_cells_of_one_comparison_only():
    services = ["S1", "S2", "S3", "S4"]
    before = [40, 40, 40, 40]
    after = {"b": [58, 44, 40, 47], "c": [58, 44, 40, 47]}
    cells = [_cell("a", "AKM", s, p=p, n=200, variance_p=p / 100 * (1 - p / 100) / 200)
             for s, p in zip(services, before, strict=True)]
    for rnd in ("b", "c"):
        cells += [_cell(rnd, "AKM", s, p=p, n=200, variance_p=p / 100 * (1 - p / 100) / 200)
                  for s, p in zip(services, after[rnd], strict=True)]
    # round c repeats b's shares, so its changes from b are all 0 (p = 1): if the two comparisons
    # shared one family, the adjusted p-values of a -> b would be larger
    conn = _marts(cells, {"a": "2026-01-05", "b": "2026-06-01", "c": "2026-09-01"})
    rows = _changes(conn)
    first = rows[rows.round_before == "a"].sort_values("service_code")
    assert first.p_value_adjusted.to_numpy() == pytest.approx(
        benjamini_hochberg(first.p_value.to_numpy()))
    assert list(first.significant) == list(first.p_value_adjusted <= 0.05)
    assert first.satisfaction_change_status.tolist()[2] == "no_significant_change"
    assert first.satisfaction_change_status.tolist()[0] == "improved"
    second = rows[rows.round_before == "b"]
    assert (second.p_value == 1).all() and (second.p_value_adjusted == 1).all()
    assert _check_rows(conn) == []


def test_the_mean_index_headline_uses_the_normal_interval_of_a_difference():
    # index 40 -> 50, variance of the mean score 0.0016 in each round: se = 25 * 0.04 = 1 point
    # se of the difference sqrt(1 + 1) = 1.414214; interval 10 -+ 1.96 * 1.414214 = 7.228141 to
    # 12.771859; p = 2 (1 - Phi(10 / 1.414214)) = erfc(5)
    conn = _marts([_cell("a", "AKM", "WAT", index=40), _cell("b", "AKM", "WAT", index=50)],
                  {"a": "2026-01-05", "b": "2026-06-01"}, headline="mean_index")
    row = _changes(conn).iloc[0]
    assert row.change_method == "normal_difference"
    assert row.satisfaction_change == pytest.approx(10)
    assert (row.satisfaction_change_ci_low, row.satisfaction_change_ci_high) == pytest.approx(
        (7.228141, 12.771859), abs=1e-6)
    assert row.p_value == pytest.approx(erfc(5), rel=1e-9)  # erfc(z / sqrt 2), z = 10 / sqrt 2


def test_the_check_finds_a_p_value_that_disagrees_with_its_interval():
    conn = _marts([_cell("a", "AKM", "WAT", p=50), _cell("b", "AKM", "WAT", p=70)],
                  {"a": "2026-01-05", "b": "2026-06-01"})
    conn.execute("UPDATE gap_changes SET p_value = 0.2, p_value_adjusted = 0.2")
    assert len(_check_rows(conn)) == 1


# --- the simulator's follow-up round --------------------------------------------------------------

@pytest.fixture(scope="module")
def baseline_world():
    definition, geography = load_study(BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY)
    return make_world(definition, geography, 2026)


def test_follow_up_shifts_are_seeded_and_every_trend_occurs(baseline_world):
    shifted = shifts(baseline_world, FOLLOW_UP)
    assert shifted == shifts(baseline_world, FOLLOW_UP)
    assert shifted != shifts(baseline_world, "r2028_endline")
    assert {s.satisfaction_trend for s in shifted.values()} == {"improve", "worsen", "stay"}
    assert {s.effectiveness_trend for s in shifted.values()} == {"improve", "worsen", "stay"}
    world = world_of_round(baseline_world.definition, baseline_world.geography, 2026, FOLLOW_UP)
    for key, shift in shifted.items():
        assert (shift.satisfaction_points > 0, shift.satisfaction_points < 0) == (
            shift.satisfaction_trend == "improve", shift.satisfaction_trend == "worsen")
        assert shift.satisfaction_trend == "stay" or abs(shift.satisfaction_points) >= 15
        assert LEVEL_RANGE[0] <= world.cells[key].base_top2 <= LEVEL_RANGE[1]
        if shift.effectiveness_trend == "stay":
            assert world.cells[key].indicator_values == baseline_world.cells[key].indicator_values


def test_follow_up_truth_is_the_change_of_the_expected_cells(baseline_world):
    world = world_of_round(baseline_world.definition, baseline_world.geography, 2026, FOLLOW_UP)
    truth = change_truth(world)
    before = {(c.municipality, c.service): c for c in expected_cells(baseline_world)}
    after = {(c.municipality, c.service): c for c in expected_cells(world)}
    assert truth["baseline_round"] == "r2026_baseline" and truth["round"] == FOLLOW_UP
    assert len(truth["cells"]) == len(before)
    for row in truth["cells"]:
        key = (row["municipality_code"], row["service_code"])
        assert row["satisfaction_change"] == pytest.approx(
            after[key].satisfaction - before[key].satisfaction)
        if row["satisfaction_trend"] == "stay":
            assert row["satisfaction_change"] == 0
        else:  # a 15-point move of the base level moves S by at least 10 points
            assert abs(row["satisfaction_change"]) > 10
            assert (row["satisfaction_change"] > 0) == (row["satisfaction_trend"] == "improve")
    assert change_truth(baseline_world) is None


def test_the_definitions_own_round_is_the_baseline_world_and_sample(baseline_world):
    definition, geography = baseline_world.definition, baseline_world.geography
    for code in (None, definition.study.round):
        world = world_of_round(definition, geography, 2026, code)
        assert world.cells == baseline_world.cells and world.draws == "2026"


def test_a_follow_up_interviews_a_new_sample(baseline_world):
    definition, geography = baseline_world.definition, baseline_world.geography
    plan = plan_sample(definition, geography)
    world = world_of_round(definition, geography, 2026, FOLLOW_UP)
    first = draw_respondents(baseline_world, plan, 200)
    second = draw_respondents(world, plan, 200)
    # the same villages (the plan), other people
    assert [r.village for r in first] == [r.village for r in second]
    assert [(r.sex, r.age) for r in first] != [(r.sex, r.age) for r in second]


def test_follow_up_fieldwork_comes_after_the_baseline_and_both_end_before_today(baseline_world):
    definition, geography = baseline_world.definition, baseline_world.geography
    plan = plan_sample(definition, geography)
    today = dt.date(2026, 12, 3)
    world = world_of_round(definition, geography, 2026, FOLLOW_UP)
    baseline = plan_fieldwork(baseline_world, plan, draw_respondents(baseline_world, plan, 300),
                              start=default_start(today))
    follow_up = plan_fieldwork(world, plan, draw_respondents(world, plan, 300),
                               start=default_start(today, follow_up=True))
    last_baseline = max(max(v.sent, v.edit_at or v.sent) for v in baseline)
    assert last_baseline < min(v.start for v in follow_up)
    assert max(max(v.sent, v.edit_at or v.sent) for v in follow_up).date() < today


def test_a_round_copy_of_the_definition_changes_the_round_and_nothing_else(tmp_path):
    copy = write_round_definition(BUNDLED_DEFINITION, FOLLOW_UP, tmp_path / "indicators.yaml")
    original, geography = load_study(BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY)
    changed, _ = load_study(copy, BUNDLED_GEOGRAPHY)
    assert changed.study.round == FOLLOW_UP
    assert changed == dataclasses.replace(
        original, study=dataclasses.replace(original.study, round=FOLLOW_UP))
    old, new = BUNDLED_DEFINITION.read_text().splitlines(), copy.read_text().splitlines()
    assert [(a, b) for a, b in zip(old, new, strict=True) if a != b] == [
        ("  round: r2026_baseline", f"  round: {FOLLOW_UP}")]  # comments and layout kept


def test_a_round_code_that_is_not_a_code_is_refused(tmp_path):
    with pytest.raises(SimulationError, match="'2027 follow-up' is not a code"):
        write_round_definition(BUNDLED_DEFINITION, "2027 follow-up", tmp_path / "x.yaml")
    assert not (tmp_path / "x.yaml").exists()


@pytest.fixture(scope="module")
def built_forms(tmp_path_factory):
    out = tmp_path_factory.mktemp("forms")
    return {f.form_id: f.xml for f in build_forms(BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY, out,
                                                  validate=False).forms}


def test_the_round_of_a_form_is_read_from_its_study_round_calculate(built_forms):
    assert {fid: deployed_round(path) for fid, path in built_forms.items()} == dict.fromkeys(
        built_forms, "r2026_baseline")
    check_deployed_round(built_forms, "r2026_baseline")


def test_forms_of_another_round_are_refused_naming_both_rounds_and_the_fix(built_forms):
    with pytest.raises(SimulationError) as caught:
        check_deployed_round(built_forms, FOLLOW_UP)
    message = str(caught.value)
    assert "carries round 'r2026_baseline', not 'r2027_followup'" in message
    assert "aimak forms deploy" in message and "--round r2026_baseline" in message


def test_an_outbox_of_another_round_is_not_sent_by_a_run_of_this_one(tmp_path):
    kept = RunParameters(2026, 300, dt.date(2026, 11, 9), BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY,
                         round_code=FOLLOW_UP)
    with pytest.raises(SimulationError, match="--seed 2026 --respondents 300 --round r2027_followup"):
        kept.check(2026, 300, None)
    kept.check(2026, 300, FOLLOW_UP)


def test_simulate_command_passes_the_round_to_the_simulator(monkeypatch):
    from fieldsim import simulate as simulate_module
    from flows.cli import app

    seen = {}

    class Done:
        def summary(self):
            return "simulated"

    def fake(url, token, **kwargs):
        seen.update(kwargs)
        return Done()

    monkeypatch.setattr(simulate_module, "simulate", fake)
    result = CliRunner().invoke(app, ["simulate", "--server", "http://127.0.0.1:9", "--token", "t",
                                      "--round", FOLLOW_UP])
    assert result.exit_code == 0, result.output
    assert seen["round_code"] == FOLLOW_UP


# --- two simulated rounds, end to end ---------------------------------------------------------

RESPONDENTS = 800
LARGE = 15.0  # points: every designed improvement or decline is at least this large


@pytest.fixture(scope="module")
def two_rounds(tmp_path_factory):
    """The baseline and a follow-up simulated on the local server, synced and scored."""
    from etl.deploy import deploy_forms
    from etl.http import HttpClient
    from etl.kobo import KoboClient
    from etl.sync import deployed_assets, sync_form
    from fieldsim.server import LocalServer
    from fieldsim.simulate import simulate
    from flows.follow_up import run_follow_up
    from warehouse.db import connect, landing_dir
    from warehouse.scoring import score
    from warehouse.store import WarehouseStore

    root = tmp_path_factory.mktemp("rounds")
    warehouse = root / "warehouse.duckdb"
    with LocalServer(root / "server") as server:
        kobo = KoboClient(HttpClient(server.api_url, server.token))
        build_forms(BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY, root / "forms", validate=False)
        baseline_forms = deploy_forms(kobo, root / "forms")
        simulate(server.api_url, server.token, respondents=RESPONDENTS, out_dir=root / "baseline")
        try:  # the follow-up before its forms are deployed: refused
            simulate(server.api_url, server.token, respondents=RESPONDENTS,
                     out_dir=root / "refused", round_code=FOLLOW_UP)
            refusal = None
        except SimulationError as err:
            refusal = str(err)
        follow_up = run_follow_up(root / FOLLOW_UP, FOLLOW_UP, lambda forms: deploy_forms(kobo, forms),
                                  server.api_url, server.token, respondents=RESPONDENTS)
        with connect(warehouse) as conn:
            store = WarehouseStore(conn, landing_dir(warehouse))
            for asset in deployed_assets(kobo):
                sync_form(kobo, store, asset)
    conn = duckdb.connect(str(warehouse))
    score(conn, *load_study(BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY))
    truth = json.loads(follow_up.simulation.truth_path.read_text(encoding="utf-8"))
    yield {"conn": conn, "truth": truth, "refusal": refusal, "baseline_forms": baseline_forms,
           "follow_up": follow_up}
    conn.close()


@pytest.mark.java
@pytest.mark.slow
def test_a_follow_up_on_forms_of_the_baseline_is_refused(two_rounds):
    assert "carries round 'r2026_baseline', not 'r2027_followup'" in two_rounds["refusal"]


@pytest.mark.java
@pytest.mark.slow
def test_the_follow_up_redeploys_the_same_assets(two_rounds):
    before = {d.form_id: d.asset_uid for d in two_rounds["baseline_forms"]}
    after = two_rounds["follow_up"].deployed
    assert {d.form_id: d.asset_uid for d in after} == before
    assert {d.action for d in after} == {"redeployed"}


@pytest.mark.java
@pytest.mark.slow
def test_two_simulated_rounds_are_ordered_by_their_fieldwork(two_rounds):
    rows = two_rounds["conn"].execute(
        "SELECT round, position, first_day, last_day FROM dim_round ORDER BY position").fetchall()
    assert [r[:2] for r in rows] == [("r2026_baseline", 1), (FOLLOW_UP, 2)]
    assert rows[0][3] < rows[1][2] and rows[1][3] < dt.date.today()


@pytest.mark.java
@pytest.mark.slow
def test_every_cell_scored_in_both_rounds_has_a_change_row(two_rounds):
    conn = two_rounds["conn"]
    both = set(conn.execute("""SELECT municipality_code, service_code FROM gap_scores
        GROUP BY ALL HAVING count(DISTINCT round) = 2""").fetchall())
    rows = conn.execute("""SELECT round_before, round_after, municipality_code, service_code
                           FROM gap_changes""").fetchall()
    assert len(both) == len(two_rounds["truth"]["changes"]["cells"]) > 40
    assert {r[2:] for r in rows} == both and len(rows) == len(both)
    assert {r[:2] for r in rows} == {("r2026_baseline", FOLLOW_UP)}


def _joined(two_rounds) -> pd.DataFrame:
    changes = two_rounds["conn"].execute("SELECT * FROM gap_changes").df()
    truth = pd.DataFrame(two_rounds["truth"]["changes"]["cells"])
    return changes.merge(truth, on=["municipality_code", "service_code"], suffixes=("", "_true"))


@pytest.mark.java
@pytest.mark.slow
def test_the_sign_of_every_large_true_change_in_s_is_recovered(two_rounds):
    rows = _joined(two_rounds)
    large = rows[(rows.satisfaction_change_true.abs() >= LARGE) & ~rows.suppressed]
    assert len(large) >= 20
    wrong = large[np.sign(large.satisfaction_change) != np.sign(large.satisfaction_change_true)]
    assert wrong.empty, wrong[["municipality_code", "service_code", "satisfaction_change",
                               "satisfaction_change_true"]]
    # and most of them are found significant after the adjustment
    assert large.significant.mean() >= 0.7


@pytest.mark.java
@pytest.mark.slow
def test_the_change_in_effectiveness_is_the_true_one(two_rounds):
    rows = _joined(two_rounds)
    known = rows[rows.effectiveness_change_true.notna()]
    assert len(known) >= 40
    assert known.effectiveness_change.to_numpy() == pytest.approx(
        known.effectiveness_change_true.to_numpy(), abs=1e-6)
    assert rows[rows.effectiveness_change_true.isna()].effectiveness_change.isna().all()
