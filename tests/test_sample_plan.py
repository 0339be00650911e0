"""The sample plan is computed from the definition: interviews from the margin of error, villages
in proportion to adult population, quotas by sex × age group — parts always add up."""

from __future__ import annotations

import csv
import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from forms.definition import SamplePlanSettings, Team
from forms.sample_plan import largest_remainder, plan_sample, required_interviews, write_sample_plan


def settings(**changes) -> SamplePlanSettings:
    base = dict(margin_of_error=0.05, confidence_level=0.95, design_effect=1.5, min_interviews=300,
                max_interviews=800, fieldwork_days=10, focus_groups={}, teams=())
    base.update(changes)
    return SamplePlanSettings(**base)


def test_required_interviews__follows_the_margin_of_error_with_fpc():
    # n0 = 1.96² · 0.25 / 0.05² · 1.5 = 576.2; with N = 5000: 576.2 / (1 + 575.2/5000) = 516.8
    assert required_interviews(settings(), 10**9) == 577
    assert required_interviews(settings(), 5000) == 517
    assert required_interviews(settings(margin_of_error=0.04), 10**9) == 800  # capped at max
    assert required_interviews(settings(margin_of_error=0.1), 10**9) == 300  # raised to min


@given(st.integers(min_value=0, max_value=2000),
       st.lists(st.integers(min_value=0, max_value=5000), min_size=1, max_size=12))
def test_largest_remainder__parts_add_up_and_stay_within_one_of_exact(total, weights):
    parts = largest_remainder(total, weights)
    whole = sum(weights)
    if whole == 0:
        assert parts == [0] * len(weights)
        return
    assert sum(parts) == total
    for part, weight in zip(parts, weights, strict=True):
        assert abs(part - total * weight / whole) < 1


def test_plan__villages_and_quotas_add_up_to_the_municipality(study):
    definition, geography = study
    plan = plan_sample(definition, geography)
    assert set(plan.municipalities) == set(geography.municipalities)
    for _code, mplan in plan.municipalities.items():
        assert 300 <= mplan.interviews <= 800
        assert sum(v.interviews for v in mplan.villages) == mplan.interviews
        for vq in mplan.villages:
            assert sum(vq.quotas.values()) == vq.interviews
        biggest = max(mplan.villages, key=lambda v: v.adults)
        smallest = min(mplan.villages, key=lambda v: v.adults)
        assert biggest.interviews >= smallest.interviews
        assert mplan.margin_of_error <= 100 * definition.sample_plan.margin_of_error + 1e-9
        assert mplan.interviews_per_enumerator_day * mplan.fieldwork_days * len(mplan.enumerators) >= mplan.interviews


def test_plan_file__one_row_per_village_sex_and_age_group(study, tmp_path):
    definition, geography = study
    plan = plan_sample(definition, geography)
    path = tmp_path / "plan.csv"
    write_sample_plan(plan, definition, geography, path)
    with path.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    cells = len(definition.sexes) * len(definition.age_groups)
    assert len(rows) == len(geography.villages) * cells
    assert sum(int(r["quota"]) for r in rows) == plan.interviews


def test_plan__a_team_s_days_add_up_to_the_window_however_many_municipalities_it_has(study):
    # three municipalities of about 540 interviews each: 10 days rounded one by one give 3 + 3 + 3;
    # shared as whole parts of the window they give 4 + 3 + 3 (and a lighter day in the first)
    definition, geography = study
    team = Team("T1", "S01", ("E01", "E02", "E03", "E04", "E05"), ("AKM", "KSR", "CHN"))
    rest = Team("T2", "S02", ("E06",), ("KMD",))
    definition = dataclasses.replace(definition, sample_plan=dataclasses.replace(
        definition.sample_plan, teams=(team, rest)))
    plan = plan_sample(definition, geography)
    days = [plan.municipalities[code].fieldwork_days for code in team.municipalities]
    assert sum(days) == definition.sample_plan.fieldwork_days == 10
    assert days == [4, 3, 3]
