"""A small scored study for the report tests, every number worked out by hand.

Services: WA (items wa_1, wa_2), RO (ro_1), SE (se_1), one indicator each scored 0-100 from
floor 0 to target 100. Bases: suppressed below 4, unreliable below 8. Villages as strata.

Round r1
- Municipality A (village A1), ten interviews with consent and one without:
  WA: wa_1 5 x8, 2 x2 (80 %); wa_2 4 x6, 1 x4 (60 %): S = 70, n = 10.
  RO: answered by five, 4 x2, 2 x3: S = 40, n = 5: unreliable.
  SE: everyone answers 8 (does not use): n = 0, suppressed.
  Priorities: WA named by seven, RO and SE by three each: importance 70, 30 and 30.
  LSG assessment: WA 40, RO 30, SE 50. So WA: G = +30, perception exceeds, expectation risk;
  RO: G = +10, aligned, fix first, unreliable; SE: suppressed, insufficient data.
  One focus group (LSG staff, eight people): WA access negative, six agreed, with quotes that
  look like formulas; RO quality positive, three agreed.
- Municipality B (village B1), ten interviews, no LSG assessment: WA S = 100, RO S = 0.

Round r2 (``two_rounds=True``): A again, ten interviews 40 days later, WA 5 x4, 2 x6 on both
items: S = 40; LSG WA 60: G = -20, performance under-recognised. B has no data in r2.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from forms.definition import Definition
from tests.quality_world import Session, Theme, scored_world
from tests.scoring_world import START, geography, interview, service
from tests.scoring_world import study as make_study

INJECTIONS = ['=HYPERLINK("http://example.org","click")', "+7 700 000 000", "-1+2", "@SUM(A1)"]
SUGGESTION = "=1+1 publish the water schedule"


def definition(bundled: Definition) -> Definition:
    return make_study(bundled, [service("WA", {"wa_1": 1, "wa_2": 1}), service("RO", {"ro_1": 1}),
                                service("SE", {"se_1": 1})], ["A", "B"],
                      suppress_below=4, flag_below=8, villages="strata", gap_threshold=10,
                      quadrant_cut=50, min_effectiveness_coverage=0.5)


GEOGRAPHY = geography({"A": {"A1": {("f", "30_44"): 100}}, "B": {"B1": {("f", "30_44"): 100}}})


def citizen_r1() -> list[dict]:
    rows = []
    for k in range(1, 11):
        answers = {"wa_1": "5" if k <= 8 else "2", "wa_2": "4" if k <= 6 else "1", "se_1": "8"}
        if k <= 5:
            answers["ro_1"] = "4" if k <= 2 else "2"
        answers["priority_services"] = (["WA"] if k <= 7 else ["SE"]) + (["RO"] if k <= 3 else [])
        rows.append(interview(k, "A1", municipality="A", **answers))
    rows.append({**interview(11, "A1", municipality="A", wa_1="5"), "consent": "no"})
    rows += [interview(20 + k, "B1", municipality="B", wa_1="5", wa_2="5", ro_1="3",
                       priority_services=["WA"]) for k in range(1, 11)]
    return rows


def citizen_r2() -> list[dict]:
    later = START + dt.timedelta(days=40)
    return [{**interview(100 + k, "A1", municipality="A", wa_1="5" if k <= 4 else "2",
                         wa_2="5" if k <= 4 else "2", priority_services=["WA"]),
             "study_round": "r2", "start": later + dt.timedelta(minutes=30 * k)}
            for k in range(1, 11)]


LSG_R1 = {"_id": 900, "municipality": "A", "wa_ind": "40", "ro_ind": "30", "se_ind": "50"}
LSG_R2 = {"_id": 901, "municipality": "A", "wa_ind": "60", "ro_ind": "30", "se_ind": "50",
          "study_round": "r2", "start": START + dt.timedelta(days=41)}

ROSTER = [(f"P{i}", "f" if i % 2 else "m", "30_44", "specialist") for i in range(1, 9)]
SESSIONS = [Session(50, "A", "lsg_staff", dt.date(2026, 11, 10), ROSTER, themes=[
    Theme("WA", "access", "negative", 6, quotes=[(text, "P1", 10 + i)
                                                 for i, text in enumerate(INJECTIONS)],
          recommendation=SUGGESTION),
    Theme("RO", "quality", "positive", 3, quotes=[("Дорогу починили", "P2", 40)]),
])]


def build(bundled: Definition, two_rounds: bool = False) -> duckdb.DuckDBPyConnection:
    """The scored warehouse of the module docstring (round r1, and r2 when asked)."""
    citizen = citizen_r1() + (citizen_r2() if two_rounds else [])
    lsg = [LSG_R1] + ([LSG_R2] if two_rounds else [])
    return scored_world(definition(bundled), GEOGRAPHY, citizen, lsg, SESSIONS)
