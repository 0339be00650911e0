"""Drafted recommendations: what to do follows the quadrant, or why a cell has no gap; the evidence
names the gap, the service's rank among residents' priorities, its lowest-rated aspect, its
weakest indicator and the focus groups' strongest theme with the participants' own suggestion;
drafts come by importance, in the chosen language, always marked as drafts."""

from __future__ import annotations

import dataclasses

import pytest

from reports.mart_rows import Cell
from reports.marts import Marts
from reports.recommendations import SENTENCES, draft_recommendations, recommendations_for
from tests import report_world as world


@pytest.fixture(scope="module")
def marts(study):
    return Marts(world.build(study[0]), "en", world.definition(study[0]))


def cell(**changes) -> Cell:
    """A cell of municipality M, service X (S 70 on 100, E 40, importance 50), changed."""
    base = Cell(round="r1", municipality_code="M", municipality="M", service_code="X",
                service="Water", service_order=1, n=100, satisfaction=70.0,
                satisfaction_ci_low=60.0, satisfaction_ci_high=78.0, satisfaction_mean_index=65.0,
                importance=50.0, importance_n=100, effectiveness=40.0, effectiveness_coverage=1.0,
                effectiveness_indicators=2, effectiveness_indicators_expected=2,
                effectiveness_unverified=0, assessed=True, gap=30.0, gap_ci_low=20.0,
                gap_ci_high=38.0, gap_status="perception_exceeds", quadrant="expectation_risk",
                suppressed=False, unreliable=False, gap_established=True, gap_material=True,
                design_effect=1.2, effective_n=80.0)
    return dataclasses.replace(base, **changes)


def draft(marts, c: Cell, lang: str = "en"):
    return draft_recommendations([c], [], [], [], [], marts.method(), lang)["M"][0]


@pytest.mark.parametrize(("changes", "starts"), [
    ({"quadrant": "fix_first"}, "Improve «Water» first: few residents are satisfied (S 70%)"),
    ({"quadrant": "communicate"}, "Tell residents what is done in «Water»"),
    ({"quadrant": "expectation_risk"}, "Strengthen «Water» before residents' expectations turn"),
    ({"quadrant": "maintain"}, "Keep «Water» at its level"),
    ({"quadrant": None, "gap": None, "n": 0, "satisfaction": None, "suppressed": True},
     "Check whether «Water» is provided and used: no respondent rated it (n = 0)."),
    ({"quadrant": None, "gap": None, "n": 3, "suppressed": True},
     "Gather more views on «Water»: too few respondents rated it (n = 3, at least 4 needed)"),
    ({"quadrant": None, "gap": None, "assessed": False, "effectiveness": None},
     "Carry out the LSG effectiveness assessment"),
    ({"quadrant": None, "gap": None, "effectiveness": None, "effectiveness_indicators": 1,
      "effectiveness_indicators_expected": 4, "effectiveness_coverage": 0.25},
     "Complete the LSG's records for «Water»: 1 of 4 indicators were reported (at least 50% needed)"),
])
def test_what_to_do_follows_the_quadrant_or_why_there_is_no_gap(marts, changes, starts):
    d = draft(marts, cell(**changes))
    assert d.action.startswith(starts)
    assert d.text.startswith("[DRAFT] " + starts) and d.draft


@pytest.mark.parametrize(("changes", "sentence"), [
    ({}, "Residents rate the service 30 points above what the LSG's records show (the gap is "
         "established)."),
    ({"gap": -25.0, "gap_status": "performance_underrecognised", "gap_established": False},
     "Residents rate the service 25 points below what the LSG's records show (but its interval "
     "includes 0: not established)."),
    ({"gap": 4.0, "gap_status": "aligned"}, "Residents' view and the LSG's records agree "
                                            "(within 10 points)."),
    ({"unreliable": True, "n": 6}, "The base is small (n = 6): read with caution."),
])
def test_the_evidence_states_the_gap_and_whether_it_is_established(marts, changes, sentence):
    assert sentence in draft(marts, cell(**changes)).evidence


def test_drafts_come_by_importance_and_rank_only_services_with_an_importance(marts):
    cells = [cell(service_code="A", service="A", importance=10.0, service_order=1),
             cell(service_code="B", service="B", importance=None, service_order=2),
             cell(service_code="C", service="C", importance=60.0, service_order=3),
             cell(service_code="D", service="D", importance=10.0, service_order=4)]
    drafts = draft_recommendations(cells, [], [], [], [], marts.method(), "en")["M"]
    assert [(d.service_code, d.rank) for d in drafts] == [("C", 1), ("A", 2), ("D", 3), ("B", None)]
    assert "Priority 1 of 3 for residents: 60% name it among their most important services." in \
        drafts[0].evidence


def test_the_evidence_names_the_weakest_aspect_and_indicator_and_the_focus_groups_words(marts):
    drafts = recommendations_for(marts, "r1")
    wa = drafts["A"][0]
    assert wa.service_code == "WA" and wa.rank == 1
    assert wa.evidence == (  # on ten interviews the interval of +30 reaches below 0
        "Residents rate the service 30 points above what the LSG's records show (but its "
        "interval includes 0: not established).",
        "Priority 1 of 3 for residents: 70% name it among their most important services.",
        "Residents are least satisfied with the wa_2 (60% satisfied, n = 10).",
        "Weakest indicator: wa_ind: 40 % (floor 0, target 100).",
        "Focus groups (LSG staff): theme «Access» (sentiment: negative); raised in 1 of 1 "
        "sessions, 6 of 8 participants agreed.",
        f"Participants suggested: “{world.SUGGESTION}”",
    )
    ro = drafts["A"][1]  # its only theme is positive: still named, with no suggestion typed
    assert any(e.startswith("Focus groups (LSG staff): theme «Quality» (sentiment: positive)")
               for e in ro.evidence)


@pytest.mark.parametrize("lang", ["ru", "ky", "en"])
def test_every_draft_is_marked_in_its_language(marts, lang):
    d = draft(marts, cell(), lang)
    assert d.mark == SENTENCES["mark"].get(lang) and d.text.startswith(d.mark + " ")
    assert d.action == SENTENCES["action.expectation_risk"].get(lang).format(
        service="Water", s="70", e="40")
