"""The expected scores of a simulated world, computed the way DESIGN.md section 5 scores the data.

Satisfaction S is the *expected population value*: for each item the share answering a top-box
code (``method.top_box``) among users, codes marked ``missing`` (8, 9) left out, averaged over the
adult population of every village × sex × age group (usage does not depend on the group, so users
are proportional to adults), then the weighted mean of the service's items. The mean index is
(mean − 1) / 4 × 100 on the same base. Effectiveness E scores each indicator value 0–100 by
clamp((x − floor) / (target − floor)) (the same formula mirrors lower-is-better indicators;
yes/no scores 100 or 0) and takes the weighted mean. G = S − E, its status and the quadrant follow
``method.gap_threshold`` and ``method.quadrant_cut``; below ``method.min_effectiveness_coverage``
E is missing, the status is ``insufficient_data`` and there is no quadrant. Each cell's ``margin``
is its distance in points to the nearest of those cuts (S and E to the quadrant cut, |S − E| to the
gap threshold), so a scorer knows how robust each expected status is. Importance is the exact
probability of naming the service among the top priorities under the simulated choice model.

These are population truths of a clean fieldwork. The simulated data also carry the faults of a
real one — the straight-lining enumerator, who copies a respondent's first item answer to every
item of a service block, an enumerator who makes some interviews up at home in minutes, one who
records answers higher than said, phones without a GPS fix — and the expected values do not model
them: a scorer's data-quality checks should flag those interviews rather than the truth absorb
them ("enumerators" says who does what).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fieldsim.personas import (
    AGE_SHIFT,
    ARCHETYPES,
    MIN_MARGIN,
    PROPENSITY,
    SEX_SHIFT,
    SPARSE_ARCHETYPES,
    World,
    cut_margins,
    effectiveness,
    expected_satisfaction,
    indicator_score,
)
from forms.definition import Definition

__all__ = [
    "GAP_STATUSES",
    "PRIORITY_COUNTS",
    "QUADRANTS",
    "CellTruth",
    "expected_cells",
    "gap_status",
    "indicator_score",
    "quadrant",
    "truth_document",
    "write_truth",
]

GAP_STATUSES = ("aligned", "perception_exceeds", "performance_underrecognised", "insufficient_data")
QUADRANTS = ("maintain", "communicate", "expectation_risk", "fix_first")
# How many priorities a respondent names (probabilities); capped by importance.max_choices.
PRIORITY_COUNTS = {1: 0.1, 2: 0.2, 3: 0.7}


@dataclass(frozen=True)
class CellTruth:
    municipality: str
    service: str
    satisfaction: float
    satisfaction_mean_index: float
    importance: float
    effectiveness: float | None
    effectiveness_coverage: float
    indicator_scores: dict[str, float]
    gap: float | None
    gap_status: str
    quadrant: str | None
    usage: float
    archetype: str | None
    margins: dict[str, float]

    @property
    def margin(self) -> float | None:
        """Distance to the nearest cut deciding the status and quadrant; None when E is missing
        (insufficient_data is decided by the coverage, not by a cut)."""
        return None if self.effectiveness is None else min(self.margins.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "municipality_code": self.municipality,
            "service_code": self.service,
            "expected_satisfaction": round(self.satisfaction, 2),
            "expected_satisfaction_mean_index": round(self.satisfaction_mean_index, 2),
            "expected_importance": round(self.importance, 2),
            "expected_effectiveness": _r(self.effectiveness),
            "effectiveness_coverage": round(self.effectiveness_coverage, 3),
            "indicator_scores": {k: round(v, 2) for k, v in self.indicator_scores.items()},
            "expected_gap": _r(self.gap),
            "gap_status": self.gap_status,
            "quadrant": self.quadrant,
            "margin": _r(self.margin),
            "margins": {k: round(v, 2) for k, v in self.margins.items()},
            "usage_rate": round(self.usage, 3),
            "designed": self.archetype,
        }


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def gap_status(gap: float | None, threshold: float) -> str:
    if gap is None:
        return "insufficient_data"
    if abs(gap) <= threshold:
        return "aligned"
    return "perception_exceeds" if gap > 0 else "performance_underrecognised"


def quadrant(satisfaction: float, effectiveness: float, cut: float) -> str:
    if effectiveness >= cut:
        return "maintain" if satisfaction >= cut else "communicate"
    return "expectation_risk" if satisfaction >= cut else "fix_first"


def _importance(world: World, municipality: str) -> dict[str, float]:
    """Exact inclusion probabilities of weighted sampling without replacement of k services."""
    codes = world.services_of[municipality]
    weights = {c: world.cell(municipality, c).importance_weight for c in codes}
    most = world.definition.importance.max_choices
    counts = {k: p for k, p in PRIORITY_COUNTS.items() if k <= most}
    norm = sum(counts.values())
    out = dict.fromkeys(codes, 0.0)
    total = sum(weights.values())
    for k, pk in counts.items():
        for seq in itertools.permutations(codes, min(k, len(codes))):
            p, left = 1.0, total
            for c in seq:
                p *= weights[c] / left
                left -= weights[c]
            for c in seq:
                out[c] += pk / norm * p
    return {c: 100 * v for c, v in out.items()}


def expected_cells(world: World) -> list[CellTruth]:
    method = world.definition.method
    out = []
    for m in sorted(world.services_of):
        importance = _importance(world, m)
        for code in world.services_of[m]:
            cell = world.cell(m, code)
            s, mean_index = expected_satisfaction(world, cell)
            service = world.definition.service(code)
            e, coverage, scores = effectiveness(service, cell.indicator_values,
                                                method.min_effectiveness_coverage)
            g = None if e is None else s - e
            out.append(CellTruth(
                municipality=m, service=code, satisfaction=s, satisfaction_mean_index=mean_index,
                importance=importance[code], effectiveness=e, effectiveness_coverage=coverage,
                indicator_scores=scores, gap=g, gap_status=gap_status(g, method.gap_threshold),
                quadrant=None if e is None else quadrant(s, e, method.quadrant_cut),
                margins=cut_margins(s, e, method),
                usage=cell.usage, archetype=cell.archetype))
    return out


def truth_document(world: World, cells: list[CellTruth], *, respondents: int,
                   fieldwork: dict[str, Any] | None = None,
                   changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything a scorer needs to be checked against, as plain JSON data; ``changes``: a
    follow-up round's true change from the baseline (fieldsim.rounds.change_truth)."""
    definition: Definition = world.definition
    method = definition.method
    coverage: dict[str, dict[str, list[list[str]]]] = {
        "gap_status": {s: [] for s in GAP_STATUSES}, "quadrant": {q: [] for q in QUADRANTS}}
    for c in cells:
        # every cell has a gap status (insufficient_data when E is missing)
        coverage["gap_status"][c.gap_status].append([c.municipality, c.service])
        if c.quadrant:
            coverage["quadrant"][c.quadrant].append([c.municipality, c.service])
    return {
        "about": ("Synthetic truth of a simulated fieldwork (fieldsim). Expected values are "
                  "population values: a weighted, clean estimate converges to them."),
        "study": {"code": definition.study.code, "round": world.round or definition.study.round},
        "seed": world.seed,
        "respondents": respondents,
        "method": {"gap_threshold": method.gap_threshold, "quadrant_cut": method.quadrant_cut,
                   "min_effectiveness_coverage": method.min_effectiveness_coverage,
                   "top_box": list(method.top_box), "satisfaction": "top2box among users, "
                   "codes marked missing (8, 9) left out, population-weighted over village × sex "
                   "× age group; mean index (mean − 1) / 4 × 100",
                   "effectiveness": "weighted mean of clamp((x − floor) / (target − floor)) × 100; "
                   "yes/no 100/0; missing (insufficient_data, no quadrant) when the share of the "
                   "service's indicators present is below min_effectiveness_coverage",
                   "importance": "% naming the service among the top priorities",
                   "margin": "points from the nearest cut: S and E to quadrant_cut, |S - E| to "
                   "gap_threshold (margins holds each); null when E is missing",
                   "min_margin_of_undesigned_cells": MIN_MARGIN},
        "cells": [c.as_dict() for c in cells],
        "coverage": coverage,
        "designed": {name: {"base_satisfaction": s, "effectiveness_target": e,
                            "too_few_indicator_values": name in SPARSE_ARCHETYPES,
                            "cells": [[c.municipality, c.service] for c in cells
                                      if c.archetype == name]}
                     for name, s, e in ARCHETYPES},
        "effectiveness_inputs": {
            m: {k: v for code in world.services_of[m]
                for k, v in world.cell(m, code).indicator_values.items()}
            for m in sorted(world.services_of)},
        "population_model": {
            "satisfaction_shift_by_age_group": AGE_SHIFT, "satisfaction_shift_by_sex": SEX_SHIFT,
            "response_propensity": {f"{s}_{g}": p for (s, g), p in PROPENSITY.items()},
            "village_effect": {k: round(v, 2) for k, v in world.village_effect.items()},
        },
        "enumerators": {e.code: {"team": e.team, "speed": round(e.speed, 2),
                                 "straight_liner": e.straight_liner,
                                 "fabricates": e.fabricates, "inflates": e.inflates,
                                 "late_sender": e.late_sender, "language": e.language}
                        for e in world.enumerators.values()},
        "fieldwork": fieldwork or {},
        **({"changes": changes} if changes else {}),
    }


def write_truth(path: Path, document: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
    return path
