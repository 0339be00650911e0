"""The sample plan: interviews per municipality from the margin of error, allocation to villages in
proportion to adult population, and quotas by sex × age group — all computed, never typed.

n0 = z² · p(1−p) / e² with p = 0.5, times the design effect, with the finite-population
correction n = n0 / (1 + (n0 − 1) / N), rounded up and kept within [min, max] interviews.
Allocations use the largest-remainder method so the parts always add up to the whole.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

from forms.definition import Definition, Geography, SamplePlanSettings


@dataclass(frozen=True)
class VillageQuota:
    village: str
    adults: int
    interviews: int
    quotas: dict[tuple[str, str], int]  # (sex, age group) -> interviews


@dataclass(frozen=True)
class MunicipalityPlan:
    municipality: str
    adults: int
    interviews: int
    margin_of_error: float  # achieved ± on a 50% proportion with the design effect, in points
    team: str
    enumerators: tuple[str, ...]
    fieldwork_days: int
    interviews_per_enumerator_day: int
    villages: tuple[VillageQuota, ...]


@dataclass(frozen=True)
class SamplePlan:
    municipalities: dict[str, MunicipalityPlan]

    @property
    def interviews(self) -> int:
        return sum(plan.interviews for plan in self.municipalities.values())


def required_interviews(settings: SamplePlanSettings, adults: int) -> int:
    """Interviews needed in a municipality of ``adults`` for the definition's margin of error."""
    z = NormalDist().inv_cdf(0.5 + settings.confidence_level / 2)
    n0 = z * z * 0.25 / settings.margin_of_error**2 * settings.design_effect
    n = n0 / (1 + (n0 - 1) / adults) if adults > 0 else n0
    return max(settings.min_interviews, min(settings.max_interviews, math.ceil(n), adults))


def achieved_margin(settings: SamplePlanSettings, interviews: int, adults: int) -> float:
    """± points on a 50% proportion that ``interviews`` give (design effect and FPC included)."""
    z = NormalDist().inv_cdf(0.5 + settings.confidence_level / 2)
    fpc = (adults - interviews) / (adults - 1) if adults > 1 else 0
    return 100 * z * math.sqrt(0.25 * settings.design_effect / interviews * max(fpc, 0))


def largest_remainder(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` into whole numbers that add up to ``total``."""
    whole = sum(weights)
    if total == 0 or whole <= 0:
        return [0] * len(weights)
    exact = [total * w / whole for w in weights]
    parts = [math.floor(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def plan_sample(definition: Definition, geography: Geography) -> SamplePlan:
    settings = definition.sample_plan
    teams = {code: team for team in settings.teams for code in team.municipalities}
    plans: dict[str, MunicipalityPlan] = {}
    for code, municipality in geography.municipalities.items():
        adults = municipality.adults
        interviews = required_interviews(settings, adults)
        per_village = largest_remainder(interviews, [v.adults for v in municipality.villages])
        villages = []
        for village, count in zip(municipality.villages, per_village, strict=True):
            cells = list(village.population)
            quotas = largest_remainder(count, [village.population[c] for c in cells])
            villages.append(VillageQuota(village.code, village.adults, count, dict(zip(cells, quotas, strict=True))))
        team = teams[code]
        # the team's days are shared among its municipalities in proportion to their interviews,
        # in whole days that add up to the window (each rounded alone could add up past it)
        shares = largest_remainder(settings.fieldwork_days, [
            required_interviews(settings, geography.municipalities[m].adults)
            for m in team.municipalities])
        days = max(1, shares[team.municipalities.index(code)])
        per_day = math.ceil(interviews / (days * len(team.enumerators)))
        plans[code] = MunicipalityPlan(
            code, adults, interviews, achieved_margin(settings, interviews, adults), team.code,
            team.enumerators, days, per_day, tuple(villages))
    return SamplePlan(plans)


def write_sample_plan(plan: SamplePlan, definition: Definition, geography: Geography, path: Path) -> None:
    """Write one row per village × sex × age group with its interview quota (CSV, UTF-8 with BOM
    so Excel shows Cyrillic)."""
    villages = geography.villages
    labels = {(s.code, g.code): (s.label, g.label) for s in definition.sexes for g in definition.age_groups}
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["municipality_code", "municipality_ru", "municipality_ky", "municipality_en",
                      "team", "fieldwork_days", "interviews_per_enumerator_day",
                      "village_code", "village_ru", "village_ky", "village_en", "village_adults",
                      "village_interviews", "sex", "age_group", "label_ru", "label_ky", "label_en",
                      "quota"])
        for code, mplan in plan.municipalities.items():
            m = geography.municipalities[code]
            for vq in mplan.villages:
                v = villages[vq.village]
                for cell, quota in vq.quotas.items():
                    sex, age = labels[cell]
                    out.writerow([code, m.name.ru, m.name.ky, m.name.en, mplan.team,
                                  mplan.fieldwork_days, mplan.interviews_per_enumerator_day,
                                  v.code, v.name.ru, v.name.ky, v.name.en, vq.adults, vq.interviews,
                                  cell[0], cell[1], f"{sex.ru}, {age.ru}", f"{sex.ky}, {age.ky}",
                                  f"{sex.en}, {age.en}", quota])
