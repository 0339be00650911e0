"""The simulated world (fieldsim.personas, truth, fieldwork, answers) without Java or a server."""

from __future__ import annotations

import collections
import datetime as dt
import random

import pytest

from fieldsim.answers import citizen_answers, image_bytes, lsg_answers
from fieldsim.fieldwork import TZ, plan_fieldwork, working_days
from fieldsim.personas import (
    ARCHETYPES,
    MIN_MARGIN,
    SPARSE_ARCHETYPES,
    draw_respondents,
    item_distribution,
    make_world,
    satisfaction_top2,
)
from fieldsim.simulate import DEFAULT_SEED, openrosa_base
from fieldsim.truth import (
    GAP_STATUSES,
    QUADRANTS,
    expected_cells,
    indicator_score,
    truth_document,
)
from forms.sample_plan import plan_sample


@pytest.fixture(scope="module")
def world(study):
    definition, geography = study
    return make_world(definition, geography, DEFAULT_SEED)


@pytest.fixture(scope="module")
def cells(world):
    return expected_cells(world)


def test_same_seed_gives_the_same_world_and_another_seed_another(study, world):
    definition, geography = study
    again = make_world(definition, geography, DEFAULT_SEED)
    other = make_world(definition, geography, DEFAULT_SEED + 1)
    assert again.cells == world.cells
    assert again.enumerators == world.enumerators
    assert other.cells != world.cells
    plan = plan_sample(definition, geography)
    assert draw_respondents(world, plan, 200) == draw_respondents(again, plan, 200)


def test_demo_seed_shows_every_gap_status_and_quadrant_with_margins(world, cells):
    method = world.definition.method
    assert {c.gap_status for c in cells} >= set(GAP_STATUSES)
    assert {c.quadrant for c in cells} - {None} >= set(QUADRANTS)
    designed = [c for c in cells if c.archetype]
    assert {c.archetype for c in designed} == {a[0] for a in ARCHETYPES}
    assert {c.gap_status for c in designed} == set(GAP_STATUSES)
    assert {c.quadrant for c in designed} - {None} == set(QUADRANTS)
    for c in designed:  # far enough from every cut that sampling noise cannot flip them
        assert abs(c.satisfaction - method.quadrant_cut) >= 15, c
        if c.archetype in SPARSE_ARCHETYPES:
            continue
        assert abs(c.effectiveness - method.quadrant_cut) >= 15, c
        if c.gap_status == "aligned":
            assert abs(c.gap) <= method.gap_threshold - 5, c
        else:
            assert abs(c.gap) >= method.gap_threshold + 10, c


def test_insufficient_data_cells_hold_too_few_indicator_values_so_e_and_quadrant_are_missing(
        world, cells):
    method = world.definition.method
    sparse = [c for c in cells if c.archetype in SPARSE_ARCHETYPES]
    assert sparse
    assert [c for c in cells if c.gap_status == "insufficient_data"] == sparse
    for c in sparse:
        service = world.definition.service(c.service)
        values = world.cell(c.municipality, c.service).indicator_values
        assert set(values) < {i.code for i in service.indicators}
        assert len(values) / len(service.indicators) < method.min_effectiveness_coverage
        assert c.effectiveness_coverage < method.min_effectiveness_coverage
        assert (c.effectiveness, c.gap, c.quadrant, c.margin) == (None, None, None, None)


def test_lsg_answers_leave_the_missing_indicators_blank(world, cells):
    sparse = next(c for c in cells if c.gap_status == "insufficient_data")
    service = world.definition.service(sparse.service)
    answers = lsg_answers(world, sparse.municipality, "A. Asanov", "2026-11-10", "ru",
                          random.Random(3), 0).values
    present = world.cell(sparse.municipality, sparse.service).indicator_values
    for ind in service.indicators:
        if ind.code in present:
            assert ind.code in answers and f"{ind.code}_verified" in answers
        else:
            assert not any(k.startswith(ind.code) for k in answers), ind.code


@pytest.mark.parametrize("seed", [DEFAULT_SEED, 0, 1, 7, 99])
def test_undesigned_cells_lie_at_least_the_min_margin_from_every_cut(study, seed):
    definition, geography = study
    method = definition.method
    for c in expected_cells(make_world(definition, geography, seed)):
        if c.archetype:
            continue
        assert abs(c.satisfaction - method.quadrant_cut) >= MIN_MARGIN, c
        assert abs(c.effectiveness - method.quadrant_cut) >= MIN_MARGIN, c
        assert abs(abs(c.gap) - method.gap_threshold) >= MIN_MARGIN, c
        assert c.margin >= MIN_MARGIN


# indicator_values() draws each score within ±8 points of the target (centred, so the weighted
# mean is the target); only clamping to 0-100 or a unit's range and rounding move E off it
JITTER = 8.0


@pytest.mark.parametrize("seed", [DEFAULT_SEED, 0, 1, 7, 99])
def test_every_non_sparse_cell_has_all_its_indicator_values_and_meets_its_target(study, seed):
    # the LSG enters every indicator of a non-sparse cell, and the E scored from those values is
    # the effectiveness the cell was drawn (or designed) for, within the jitter
    definition, geography = study
    world = make_world(definition, geography, seed)
    checked = 0
    for c in expected_cells(world):
        cell = world.cell(c.municipality, c.service)
        service = definition.service(c.service)
        if cell.archetype in SPARSE_ARCHETYPES or not service.indicators:
            continue
        assert set(cell.indicator_values) == {i.code for i in service.indicators}, c
        assert c.effectiveness_coverage == 1.0
        assert set(c.indicator_scores) == set(cell.indicator_values)
        assert c.effectiveness is not None, c
        assert abs(c.effectiveness - cell.effectiveness_target) <= JITTER, c
        checked += 1
    assert checked


def test_truth_json_records_each_cells_margin_to_the_nearest_cut(world, cells):
    method = world.definition.method
    document = truth_document(world, cells, respondents=0)
    assert document["coverage"]["gap_status"]["insufficient_data"]
    for row in document["cells"]:
        s, e = row["expected_satisfaction"], row["expected_effectiveness"]
        if e is None:
            assert row["margin"] is None and row["gap_status"] == "insufficient_data"
            continue
        nearest = min(abs(s - method.quadrant_cut), abs(e - method.quadrant_cut),
                      abs(abs(s - e) - method.gap_threshold))
        assert row["margin"] == pytest.approx(nearest, abs=0.02)
        assert row["margin"] == min(row["margins"].values())


def test_respondents_over_represent_women_and_older_people(study, world):
    definition, geography = study
    people = draw_respondents(world, plan_sample(definition, geography), None)
    population = collections.Counter()
    for village in geography.villages.values():
        population.update(village.population)
    adults = sum(population.values())
    women_pop = sum(n for (sex, _), n in population.items() if sex == "f") / adults
    women_sample = sum(r.sex == "f" for r in people) / len(people)
    young_men_pop = population[("m", "18_29")] / adults
    young_men_sample = sum((r.sex, r.age_group) == ("m", "18_29") for r in people) / len(people)
    assert women_sample > women_pop + 0.08
    assert young_men_sample < young_men_pop * 0.7
    assert all(18 <= r.age <= 120 for r in people)


def test_unweighted_satisfaction_overstates_the_population_value(study, world, cells):
    definition, geography = study
    people = draw_respondents(world, plan_sample(definition, geography), None)
    truth = {(c.municipality, c.service): c.satisfaction for c in cells}
    for key in [("AKM", "WAT"), ("KSR", "RD"), ("CHN", "SWM")]:
        cell, service = world.cell(*key), definition.service(key[1])
        shares = [sum(satisfaction_top2(world, cell, i.code, r.village, r.sex, r.age_group)
                      for i in service.items) / len(service.items)
                  for r in people if r.municipality == key[0]]
        assert 100 * sum(shares) / len(shares) > truth[key] + 1.5  # so weighting matters


def test_item_distribution_keeps_the_top_box_share_among_substantive_answers():
    dist = item_distribution(0.37)
    assert sum(dist.values()) == pytest.approx(1.0)
    substantive = sum(p for c, p in dist.items() if c not in ("8", "9"))
    assert (dist["4"] + dist["5"]) / substantive == pytest.approx(0.37)


def test_indicator_values_respect_units_and_score_near_the_target(world, cells):
    definition = world.definition
    for cell in world.cells.values():
        service = definition.service(cell.service)
        for ind in service.indicators:
            if ind.code not in cell.indicator_values:
                assert cell.archetype in SPARSE_ARCHETYPES
                continue
            value = cell.indicator_values[ind.code]
            if ind.answer == "yes_no":
                assert value in ("yes", "no")
                continue
            unit = definition.units[ind.unit]
            assert unit.min is None or value >= unit.min
            assert unit.max is None or value <= unit.max
            if ind.answer == "integer":
                assert float(value).is_integer()
    by_key = {(c.municipality, c.service): c for c in cells}
    for key, cell in world.cells.items():
        if cell.archetype in SPARSE_ARCHETYPES:
            assert by_key[key].effectiveness is None
            continue
        assert by_key[key].effectiveness == pytest.approx(cell.effectiveness_target, abs=12)


def test_indicator_score_mirrors_lower_is_better(world):
    kg = world.definition.service("KG")
    waiting = next(i for i in kg.indicators if i.direction == "lower")
    assert indicator_score(waiting, waiting.floor) == 0
    assert indicator_score(waiting, waiting.target) == 100
    assert indicator_score(waiting, (waiting.floor + waiting.target) / 2) == pytest.approx(50)


def test_fieldwork_runs_on_working_days_with_resends_edits_deletions_and_late_sending(study, world):
    definition, geography = study
    plan = plan_sample(definition, geography)
    people = draw_respondents(world, plan, 600)
    start = dt.date(2026, 11, 2)
    visits = plan_fieldwork(world, plan, people, start=start)
    days = set(working_days(start, definition.sample_plan.fieldwork_days))
    assert {v.start.date() for v in visits} <= days
    citizens = [v for v in visits if v.form == "citizen_survey"]
    assert len(citizens) == 600
    assert len({v.instance_id for v in visits}) == len(visits)
    assert sum(v.deleted for v in visits) == 2
    assert any(v.resend_at for v in visits) and any(v.edit_at for v in visits)
    late = [v for v in citizens if v.late]
    assert late and all(v.sent.astimezone(TZ).hour >= 19 or v.sent.date() > v.end.date()
                        for v in late)
    per_municipality = collections.Counter((v.municipality, v.form) for v in visits)
    for code in geography.municipalities:
        assert per_municipality[(code, "lsg_assessment")] == 1
        assert per_municipality[(code, "focus_group")] == sum(
            definition.sample_plan.focus_groups.values())
    fast = [e.code for e in world.enumerators.values() if e.speed < 0.6]
    assert fast and any(e.straight_liner for e in world.enumerators.values())


def test_citizen_answers_follow_the_form_rules(study, world):
    definition, geography = study
    people = draw_respondents(world, plan_sample(definition, geography), 300)
    rng = random.Random(1)
    liner = next(e for e in world.enumerators.values() if e.straight_liner)
    for person in people:
        answers = citizen_answers(world, person, liner, rng).values
        if not person.consent:
            assert "resp_sex" not in answers
            continue
        assert 18 <= answers["resp_age"] <= 120
        assert 1 <= len(answers["priority_services"]) <= definition.importance.max_choices
        for code in world.services_of[person.municipality]:
            service = definition.service(code)
            items = [answers.get(i.code) for i in service.items]
            if answers[f"{service.prefix}_use"] != "1":
                assert items == [None] * len(items)
            else:
                assert len(set(items)) == 1  # the straight-liner's habit
        applicable = set(world.services_of[person.municipality])
        for service in definition.services:
            if service.code not in applicable:
                assert f"{service.prefix}_use" not in answers


def test_photos_are_valid_png_files():
    data = image_bytes("x")
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data.endswith(b"IEND\xaeB`\x82")


def test_openrosa_base_follows_the_kobocat_host():
    assert openrosa_base("https://kf.kobotoolbox.org") == "https://kc.kobotoolbox.org"
    assert openrosa_base("https://eu.kobotoolbox.org/") == "https://kc-eu.kobotoolbox.org"
    assert openrosa_base("http://127.0.0.1:8000") == "http://127.0.0.1:8000"
