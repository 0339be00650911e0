"""The simulated world behind the fieldwork: what is true, who answers, and who asks.

For every municipality × service that applies there is a true satisfaction level (the share of
users answering 4–5 before demographic and village shifts), a usage rate, an importance weight
and a true effectiveness level that the LSG's indicator values are drawn to match. A few cells are
*designed* (see :data:`ARCHETYPES`) so that every gap status and every quadrant occurs with wide
margins whatever the seed; in one of them (:data:`SPARSE_ARCHETYPES`) the LSG could not produce
most records, so its assessment holds too few indicator values for an effectiveness score. The
other cells are drawn from the seed, and redrawn (rejection sampling, still a function of the seed)
until their expected satisfaction, their realised effectiveness and their gap each lie at least
:data:`MIN_MARGIN` points from the cut that decides their quadrant or gap status.

Respondents are drawn per village in proportion to the sample plan, but the sex × age group of each
respondent follows the population times a response propensity (women and older people are found
at home more often, young men less), and satisfaction depends on age and sex — so weighting back
to the population margins changes the results, as in real fieldwork.

Everything here is a pure function of (definition, geography, seed).
"""

from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass, field

from forms.definition import Definition, Geography, Indicator, Method, Municipality, Service
from forms.sample_plan import SamplePlan, largest_remainder

__all__ = [
    "ARCHETYPES",
    "AGE_SHIFT",
    "SEX_SHIFT",
    "MIN_MARGIN",
    "PROPENSITY",
    "SPARSE_ARCHETYPES",
    "Cell",
    "Enumerator",
    "Respondent",
    "World",
    "cut_margins",
    "draw_respondents",
    "effectiveness",
    "expected_satisfaction",
    "fabricated",
    "indicator_score",
    "item_distribution",
    "make_world",
]

# Designed cells: (name, base satisfaction top-2 share %, effectiveness %). With a gap threshold of
# 10 and a quadrant cut of 50 each lies 15+ points from every cut (aligned ones sit at a gap of 0).
# In order of the base they need: aligned cells have at most the gap threshold as margin, so they
# get the most-used services (largest bases) first; insufficient_data does not depend on S at all.
ARCHETYPES: tuple[tuple[str, float, float], ...] = (
    ("maintain_aligned", 75, 75),
    ("fix_first_aligned", 24, 24),
    ("maintain_exceeds", 92, 67),
    ("fix_first_underrecognised", 8, 33),
    ("communicate_underrecognised", 28, 76),
    ("expectation_risk_exceeds", 78, 24),
    ("insufficient_data", 66, 58),
)
# Archetypes whose LSG could not produce most records: their assessment holds fewer indicator values
# than method.min_effectiveness_coverage needs (the indicator questions are optional), so E is
# missing and the gap status is insufficient_data.
SPARSE_ARCHETYPES = frozenset({"insufficient_data"})
# Undesigned cells are redrawn until S, E and |S − E| lie this many points from their cuts.
MIN_MARGIN = 8.0
MAX_REDRAWS = 400  # then the draw with the widest margin is kept (truth.json records every margin)
# Services preferred for designed cells: used by most people, so their bases are large.
DESIGN_SERVICES = ("WAT", "RD", "LGT", "SWM", "ADM", "PUB")

# Satisfaction shifts in points of the top-2 share, and the response propensity of each group.
# Older people and women (both over-represented in the sample) are more satisfied, so an
# unweighted share overstates satisfaction by a few points and weighting corrects it. The shifts
# are centred on each municipality's population (World.offset), so a cell's base level is its
# population value.
AGE_SHIFT = {"18_29": -10.0, "30_44": -3.0, "45_59": 4.0, "60plus": 10.0}
SEX_SHIFT = {"f": 3.0, "m": -3.0}
PROPENSITY = {
    ("f", "18_29"): 0.9, ("f", "30_44"): 1.2, ("f", "45_59"): 1.4, ("f", "60plus"): 1.6,
    ("m", "18_29"): 0.4, ("m", "30_44"): 0.7, ("m", "45_59"): 0.9, ("m", "60plus"): 1.2,
}
# Planted faults (see _enumerators): the share of a fabricating enumerator's interviews made up,
# a pleasing enumerator's chance of moving a 1-4 answer one point up, the share of interviews
# whose phone got no GPS fix.
FABRICATED_SHARE = 0.1
INFLATED_SHARE = 0.6
NO_FIX_SHARE = 0.015
VILLAGE_SD = 4.0  # village effect on satisfaction, points (the clustering the design effect sees)
MISSING_8 = 0.02  # share of users answering 8 (does not use this aspect) on an item
MISSING_9 = 0.05  # share answering 9 (hard to say)
# Typical usage rates (share of adults using the service) and importance weights.
USAGE = {"WAT": 0.92, "SAN": 0.45, "SWM": 0.7, "LGT": 0.85, "RD": 0.95, "PUB": 0.6, "KG": 0.3,
         "CUL": 0.4, "SPO": 0.35, "CEM": 0.45, "PAS": 0.4, "SOC": 0.2, "ADM": 0.6, "IRR": 0.55}
IMPORTANCE = {"WAT": 5.0, "RD": 4.0, "SWM": 2.5, "LGT": 2.0, "KG": 2.0, "IRR": 2.0, "PAS": 1.5,
              "SAN": 1.5, "SOC": 1.2, "ADM": 1.0, "PUB": 1.0, "SPO": 0.8, "CUL": 0.7, "CEM": 0.6}
# (share of 4 and 5 within top-2), (shares of 1, 2, 3 within the rest)
TOP_SPLIT = (0.55, 0.45)
LOW_SPLIT = (0.25, 0.35, 0.40)


@dataclass(frozen=True)
class Cell:
    """The truth of one municipality × service."""

    municipality: str
    service: str
    base_top2: float  # % of users answering 4–5 before shifts
    item_offsets: dict[str, float]  # item code -> points added to base_top2
    usage: float  # share of adults using the service
    no_service: float  # share of the non-users who say there is no such service in the village
    importance_weight: float
    effectiveness_target: float  # % the indicator values were drawn to match
    indicator_values: dict[str, float | str]  # indicator code -> value (str 'yes'/'no' for yes_no)
    archetype: str | None = None


@dataclass(frozen=True)
class Enumerator:
    code: str
    team: str
    supervisor: str
    speed: float  # interview duration multiplier (fast ones ~0.45)
    straight_liner: bool  # gives one answer to all items of a service block
    late_sender: float  # chance of sending after the working day ends
    resend: float  # chance of resending a submission (a duplicate)
    language: str  # UI language of the phone
    deviceid: str
    fabricates: float = 0.0  # share of interviews made up away from the village, in minutes
    inflates: float = 0.0  # chance of recording a 1-4 answer one point higher than was said


@dataclass(frozen=True)
class Respondent:
    number: int
    municipality: str
    village: str
    sex: str
    age: int
    age_group: str
    hh_size: int
    years_here: int
    consent: bool


@dataclass
class World:
    definition: Definition
    geography: Geography
    seed: int
    cells: dict[tuple[str, str], Cell]
    enumerators: dict[str, Enumerator]
    village_effect: dict[str, float]
    services_of: dict[str, tuple[str, ...]] = field(default_factory=dict)  # municipality -> codes
    offset: dict[str, float] = field(default_factory=dict)  # municipality -> mean shift (points)
    round: str = ""  # the study round simulated (fieldsim.rounds: another than the definition's)

    @property
    def draws(self) -> str:
        """Seeds the sample, the schedule and the answers: the baseline's are the seed alone, a
        follow-up round draws a new sample (fieldsim.rounds)."""
        if self.round in ("", self.definition.study.round):
            return str(self.seed)
        return f"{self.seed}:{self.round}"

    def cell(self, municipality: str, service: str) -> Cell:
        return self.cells[(municipality, service)]


def applicable_services(definition: Definition, municipality: Municipality) -> tuple[Service, ...]:
    return tuple(s for s in definition.services if s.applies_to.matches(municipality))


def make_world(definition: Definition, geography: Geography, seed: int) -> World:
    """Draw the village effects, the truth of every municipality × service and the enumerators."""
    rng = random.Random(f"world:{seed}")
    designed = _design(definition, geography)
    village_effect = {v: rng.gauss(0, VILLAGE_SD) for v in sorted(geography.villages)}
    offset = {}
    for m in geography.municipalities.values():
        total = sum(n * (village_effect[v.code] + AGE_SHIFT.get(g, 0.0) + SEX_SHIFT.get(s, 0.0))
                    for v in m.villages for (s, g), n in v.population.items())
        offset[m.code] = total / max(1, m.adults)
    world = World(definition, geography, seed, {}, {}, village_effect, {}, offset,
                  definition.study.round)
    for m in geography.municipalities.values():
        services = applicable_services(definition, m)
        world.services_of[m.code] = tuple(s.code for s in services)
        for service in services:
            archetype = designed.get((m.code, service.code))
            usage = min(0.98, max(0.12, USAGE.get(service.code, 0.5) + rng.uniform(-0.08, 0.08)))
            cell = Cell(
                municipality=m.code,
                service=service.code,
                base_top2=0.0,
                item_offsets={},
                usage=usage,
                no_service=rng.uniform(0.1, 0.4),
                importance_weight=IMPORTANCE.get(service.code, 1.0) * rng.uniform(0.7, 1.3),
                effectiveness_target=0.0,
                indicator_values={},
                archetype=archetype,
            )
            if archetype is not None:
                cell = _designed_cell(definition, service, cell, rng)
            else:
                cell = _drawn_cell(world, service, cell, rng)
            world.cells[(m.code, service.code)] = cell
    world.enumerators = _enumerators(definition, rng)
    return world


def _designed_cell(definition: Definition, service: Service, cell: Cell,
                   rng: random.Random) -> Cell:
    _, top2, eff = next(a for a in ARCHETYPES if a[0] == cell.archetype)
    values = indicator_values(definition, service, eff, rng)
    if cell.archetype in SPARSE_ARCHETYPES:
        values = _too_few(values, service, definition.method.min_effectiveness_coverage, rng)
    return dataclasses.replace(cell, base_top2=top2, item_offsets=_item_offsets(service, rng),
                               effectiveness_target=eff, indicator_values=values)


def _too_few(values: dict[str, float | str], service: Service, min_coverage: float,
             rng: random.Random) -> dict[str, float | str]:
    """Keep the most indicator values whose coverage still falls short of ``min_coverage``."""
    n = len(service.indicators)
    keep = max(0, math.ceil(min_coverage * n - 1e-9) - 1)
    kept = set(rng.sample([i.code for i in service.indicators], keep))
    return {k: v for k, v in values.items() if k in kept}


def _drawn_cell(world: World, service: Service, cell: Cell, rng: random.Random) -> Cell:
    """Draw base satisfaction, effectiveness and indicator values; redraw until every cut is at
    least MIN_MARGIN points away (or keep the widest-margin draw after MAX_REDRAWS)."""
    definition = world.definition
    method = definition.method
    best: tuple[float, Cell] | None = None
    for _ in range(MAX_REDRAWS):
        top2, eff = rng.uniform(15, 88), rng.uniform(12, 92)
        candidate = dataclasses.replace(
            cell, base_top2=top2, item_offsets=_item_offsets(service, rng),
            effectiveness_target=eff,
            indicator_values=indicator_values(definition, service, eff, rng))
        s, _ = expected_satisfaction(world, candidate)
        e, _, _ = effectiveness(service, candidate.indicator_values,
                                method.min_effectiveness_coverage)
        margin = min(cut_margins(s, e, method).values())
        if margin >= MIN_MARGIN:
            return candidate
        if best is None or margin > best[0]:
            best = (margin, candidate)
    assert best is not None
    return best[1]


def _design(definition: Definition, geography: Geography) -> dict[tuple[str, str], str]:
    """Spread the archetypes over municipalities and high-usage services, twice if room allows:
    every archetype once, then again, each time in ARCHETYPES order on the most-used services left
    (so the narrow-margin aligned cells get the largest bases)."""
    slots = []
    codes = sorted(geography.municipalities)
    for rank in range(len(DESIGN_SERVICES)):
        for i, code in enumerate(codes):
            service = DESIGN_SERVICES[(rank + i) % len(DESIGN_SERVICES)]
            m = geography.municipalities[code]
            try:
                applies = definition.service(service).applies_to.matches(m)
            except KeyError:
                applies = False
            if applies:
                slots.append((code, service))
    slots.sort(key=lambda slot: -USAGE.get(slot[1], 0.5))  # stable: municipalities stay spread
    chosen: dict[tuple[str, str], str] = {}
    for slot, archetype in zip(slots, [a[0] for a in ARCHETYPES] * 2, strict=False):
        chosen[slot] = archetype
    return chosen


def _item_offsets(service: Service, rng: random.Random) -> dict[str, float]:
    raw = [rng.uniform(-5, 5) for _ in service.items]
    weights = [item.weight for item in service.items]
    mean = sum(r * w for r, w in zip(raw, weights, strict=True)) / sum(weights)
    return {item.code: r - mean for item, r in zip(service.items, raw, strict=True)}


def indicator_values(definition: Definition, service: Service, target: float,
                     rng: random.Random) -> dict[str, float | str]:
    """Values whose weighted 0–100 scores average about ``target`` (yes/no: yes when ≥ 50)."""
    inds = service.indicators
    if not inds:
        return {}
    total = sum(i.weight for i in inds)
    fixed = {i.code: (100.0 if target >= 50 else 0.0) for i in inds if i.answer == "yes_no"}
    rest = [i for i in inds if i.answer != "yes_no"]
    rest_weight = sum(i.weight for i in rest)
    wanted = target
    if rest_weight:
        wanted = (target * total - sum(fixed[i.code] * i.weight for i in inds if i.code in fixed))
        wanted /= rest_weight
    jitter = [rng.uniform(-8, 8) for _ in rest]
    if rest:
        mean = sum(j * i.weight for j, i in zip(jitter, rest, strict=True)) / rest_weight
        jitter = [j - mean for j in jitter]
    values: dict[str, float | str] = {}
    for ind in inds:
        if ind.answer == "yes_no":
            values[ind.code] = "yes" if fixed[ind.code] else "no"
            continue
        score = min(100.0, max(0.0, wanted + jitter[rest.index(ind)])) / 100
        x = ind.floor + score * (ind.target - ind.floor)
        unit = definition.units[ind.unit]
        if unit.min is not None:
            x = max(x, unit.min)
        if unit.max is not None:
            x = min(x, unit.max)
        values[ind.code] = float(round(x)) if ind.answer == "integer" else round(x, 1)
    return values


def _enumerators(definition: Definition, rng: random.Random) -> dict[str, Enumerator]:
    """Habits: the third enumerator of each team is fast, the fourth of the last team
    straight-lines, the fifth sends late; everyone resends now and then. In the first team the
    first enumerator makes up some interviews at home in a few minutes (:func:`fabricated`) and
    the second records answers higher than said: faults the data-quality rules must find."""
    out: dict[str, Enumerator] = {}
    for t, team in enumerate(definition.sample_plan.teams):
        for i, code in enumerate(team.enumerators):
            fast = i == 2
            out[code] = Enumerator(
                code=code,
                team=team.code,
                supervisor=team.supervisor,
                speed=0.45 if fast else rng.uniform(0.85, 1.2),
                straight_liner=(t == len(definition.sample_plan.teams) - 1 and i == 3),
                late_sender=0.6 if i == 4 else 0.05,
                resend=0.02,
                language="ky" if (i + t) % 2 else "ru",
                deviceid=f"collect:SIM{rng.getrandbits(48):012X}",
                fabricates=FABRICATED_SHARE if (t == 0 and i == 0) else 0.0,
                inflates=INFLATED_SHARE if (t == 0 and i == 1) else 0.0,
            )
    return out


def fabricated(world: World, respondent: Respondent, enumerator: Enumerator) -> bool:
    """Whether the enumerator made this interview up (a pure function of the seed and the
    respondent, so the schedule and the answers agree without sharing a random stream)."""
    if not enumerator.fabricates or not respondent.consent:
        return False
    return random.Random(f"fabricated:{world.seed}:{respondent.number}").random() < enumerator.fabricates


def satisfaction_top2(world: World, cell: Cell, item: str, village: str, sex: str,
                      age_group: str) -> float:
    """True top-2 share (0–1) of users in one village × sex × age group for one item."""
    points = (cell.base_top2 + cell.item_offsets.get(item, 0.0) + world.village_effect[village]
              + AGE_SHIFT.get(age_group, 0.0) + SEX_SHIFT.get(sex, 0.0)
              - world.offset.get(cell.municipality, 0.0))
    return min(0.98, max(0.02, points / 100))


def item_distribution(top2: float) -> dict[str, float]:
    """Probabilities of the satisfaction codes 1–5, 8 and 9 for a top-2 share among substantive
    answers of ``top2`` (8 and 9 are left out of the base, so they do not change it)."""
    substantive = 1 - MISSING_8 - MISSING_9
    p = {"4": top2 * TOP_SPLIT[0], "5": top2 * TOP_SPLIT[1]}
    for code, share in zip(("1", "2", "3"), LOW_SPLIT, strict=True):
        p[code] = (1 - top2) * share
    out = {code: p[code] * substantive for code in ("1", "2", "3", "4", "5")}
    out["8"], out["9"] = MISSING_8, MISSING_9
    return out


def expected_satisfaction(world: World, cell: Cell) -> tuple[float, float]:
    """Population value of S (top-box share among users, codes marked missing left out, averaged
    over the adults of every village × sex × age group; weighted mean of the items) and of the
    mean index (mean − 1) / 4 × 100."""
    definition = world.definition
    top_box = set(definition.method.top_box)
    missing = {c.code for c in definition.scales["satisfaction"].choices if c.missing}
    service = definition.service(cell.service)
    villages = world.geography.municipalities[cell.municipality].villages
    s_sum = m_sum = w_sum = 0.0
    for item in service.items:
        top = mean = adults = 0.0
        for village in villages:
            for (sex, group), n in village.population.items():
                dist = item_distribution(satisfaction_top2(world, cell, item.code, village.code,
                                                           sex, group))
                base = sum(p for code, p in dist.items() if code not in missing)
                top += n * sum(p for code, p in dist.items() if code in top_box) / base
                mean += n * sum(int(c) * p for c, p in dist.items() if c not in missing) / base
                adults += n
        s_sum += item.weight * 100 * top / adults
        m_sum += item.weight * (mean / adults - 1) / 4 * 100
        w_sum += item.weight
    return s_sum / w_sum, m_sum / w_sum


def indicator_score(indicator: Indicator, value: float | str) -> float:
    """0–100 score of one indicator value (DESIGN.md 5.5)."""
    if indicator.answer == "yes_no":
        return 100.0 if str(value) == "yes" else 0.0
    share = (float(value) - indicator.floor) / (indicator.target - indicator.floor)
    return 100.0 * min(1.0, max(0.0, share))


def effectiveness(service: Service, values: dict[str, float | str],
                  min_coverage: float) -> tuple[float | None, float, dict[str, float]]:
    """(E, coverage, indicator scores) from the indicator values present (DESIGN.md 5.5): E is the
    weighted mean of the available scores, None below ``min_coverage``."""
    scores = {i.code: indicator_score(i, values[i.code])
              for i in service.indicators if i.code in values}
    weights = {i.code: i.weight for i in service.indicators}
    coverage = len(scores) / len(service.indicators) if service.indicators else 0.0
    e = None
    if scores and coverage >= min_coverage:
        e = sum(scores[k] * weights[k] for k in scores) / sum(weights[k] for k in scores)
    return e, coverage, scores


def cut_margins(satisfaction: float, effectiveness: float | None,
                method: Method) -> dict[str, float]:
    """Distance in points to each cut that decides the quadrant and gap status: S and E to
    ``quadrant_cut``, |S − E| to ``gap_threshold`` (only S when E is missing)."""
    out = {"satisfaction": abs(satisfaction - method.quadrant_cut)}
    if effectiveness is not None:
        out["effectiveness"] = abs(effectiveness - method.quadrant_cut)
        out["gap"] = abs(abs(satisfaction - effectiveness) - method.gap_threshold)
    return out


def scaled_interviews(plan: SamplePlan, total: int | None) -> dict[str, dict[str, int]]:
    """Interviews per municipality and village: the plan, scaled to ``total`` when given."""
    codes = list(plan.municipalities)
    per_m = [plan.municipalities[c].interviews for c in codes]
    if total is not None:
        per_m = largest_remainder(total, per_m)
    out: dict[str, dict[str, int]] = {}
    for code, n in zip(codes, per_m, strict=True):
        villages = plan.municipalities[code].villages
        parts = largest_remainder(n, [v.interviews for v in villages])
        out[code] = {v.village: k for v, k in zip(villages, parts, strict=True)}
    return out


def draw_respondents(world: World, plan: SamplePlan, total: int | None, *,
                     refusal_rate: float = 0.03) -> list[Respondent]:
    """Respondents village by village; sex × age group ∝ population × response propensity."""
    rng = random.Random(f"respondents:{world.draws}")
    ages = {g.code: (g.min, min(g.max, 88)) for g in world.definition.age_groups}
    villages = world.geography.villages
    out: list[Respondent] = []
    for municipality, per_village in scaled_interviews(plan, total).items():
        for village_code, n in per_village.items():
            village = villages[village_code]
            cells = sorted(village.population)
            weights = [village.population[c] * PROPENSITY.get(c, 1.0) for c in cells]
            for _ in range(n):
                sex, group = rng.choices(cells, weights)[0]
                low, high = ages[group]
                age = rng.randint(low, high)
                out.append(Respondent(
                    number=len(out) + 1, municipality=municipality, village=village_code,
                    sex=sex, age=age, age_group=group,
                    hh_size=max(1, min(15, round(rng.gauss(5, 2)))),
                    years_here=rng.randint(0, age - 18) if rng.random() < 0.3 else age - rng.randint(0, 5),
                    consent=rng.random() >= refusal_rate,
                ))
    return out
