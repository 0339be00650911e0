"""Later rounds of the simulated study: shifted truths, a new sample, forms that carry the round.

The simulated study's baseline is the round its definition names (``study.round``). Any other
round code is a follow-up of that baseline: the same world (municipalities, villages, enumerators,
usage and importance) in which every municipality × service has moved by a seeded shift, drawn
per cell and separately for satisfaction and effectiveness — a third of them improve, a third
worsen, a third stay — with a fresh sample of respondents and fieldwork
``fieldwork.FOLLOW_UP_WEEKS`` after the baseline's. ``truth.json`` of a follow-up holds, besides
the round's own truth, every cell's truth in the baseline and the true change
(:func:`change_truth`), so ``gap_changes`` can be checked against it.

The round itself reaches the data only through the forms: their ``study_round`` calculate is a
constant of the definition they were built from (``forms/blocks.py``). A follow-up therefore
needs forms built from a copy of the definition with the new round (:func:`write_round_definition`)
and deployed over the same assets; the simulator refuses to fill forms that carry another round
than the one it simulates (:func:`check_deployed_round`).
"""

from __future__ import annotations

import dataclasses
import random
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from aimak.errors import SimulationError
from fieldsim.personas import SPARSE_ARCHETYPES, World, indicator_values, make_world
from fieldsim.truth import expected_cells
from forms.build import load_study
from forms.definition import Definition, Geography
from forms.yamlsource import load_yaml

TRENDS = ("improve", "worsen", "stay")
SATISFACTION_SHIFT = (15.0, 30.0)  # points of a cell's base top-2 share, improving or worsening
EFFECTIVENESS_SHIFT = (12.0, 30.0)  # points of a cell's effectiveness target
LEVEL_RANGE = (5.0, 95.0)  # a shifted level stays inside; a shift that would leave it turns round
ROUND_FIELD = "study_round"


@dataclasses.dataclass(frozen=True)
class Shift:
    """The designed change of one municipality × service from the baseline to a follow-up."""

    satisfaction_trend: str  # improve | worsen | stay
    satisfaction_points: float  # added to the base top-2 share
    effectiveness_trend: str
    effectiveness_points: float  # added to the effectiveness target (0 when E is kept missing)


def is_follow_up(definition: Definition, round_code: str | None) -> bool:
    return round_code is not None and round_code != definition.study.round


def _moved(level: float, trend: str, span: tuple[float, float], rng: random.Random) -> float:
    """Points to add to ``level`` for ``trend``; a move that would leave LEVEL_RANGE turns round."""
    size = rng.uniform(*span)
    if trend == "stay":
        return 0.0
    sign = 1.0 if trend == "improve" else -1.0
    if not LEVEL_RANGE[0] <= level + sign * size <= LEVEL_RANGE[1]:
        sign = -sign
    return sign * size


def shifts(world: World, round_code: str) -> dict[tuple[str, str], Shift]:
    """The seeded shift of every cell of the baseline ``world`` for the follow-up ``round_code``."""
    rng = random.Random(f"round:{world.seed}:{round_code}")
    out = {}
    for key in sorted(world.cells):
        cell = world.cells[key]
        s_trend, e_trend = rng.choice(TRENDS), rng.choice(TRENDS)
        s_points = _moved(cell.base_top2, s_trend, SATISFACTION_SHIFT, rng)
        e_points = _moved(cell.effectiveness_target, e_trend, EFFECTIVENESS_SHIFT, rng)
        if cell.archetype in SPARSE_ARCHETYPES:  # its LSG still cannot produce the records
            e_trend, e_points = "stay", 0.0
        s_trend = _named(s_points, s_trend)
        out[key] = Shift(s_trend, s_points, _named(e_points, e_trend), e_points)
    return out


def _named(points: float, trend: str) -> str:
    """The trend a shift really has (a turned-round move changes its name)."""
    if trend == "stay":
        return trend
    return "improve" if points > 0 else "worsen"


def follow_up_world(baseline: World, round_code: str) -> World:
    """The world of the follow-up ``round_code``: ``baseline`` with every cell shifted."""
    rng = random.Random(f"indicators:{baseline.seed}:{round_code}")
    definition = baseline.definition
    cells = {}
    for key, shift in shifts(baseline, round_code).items():
        cell = baseline.cells[key]
        values = cell.indicator_values
        target = cell.effectiveness_target + shift.effectiveness_points
        if shift.effectiveness_points:
            values = indicator_values(definition, definition.service(cell.service), target, rng)
        cells[key] = dataclasses.replace(
            cell, base_top2=cell.base_top2 + shift.satisfaction_points,
            effectiveness_target=target, indicator_values=values)
    return dataclasses.replace(baseline, cells=cells, round=round_code)


def world_of_round(definition: Definition, geography: Geography, seed: int,
                   round_code: str | None) -> World:
    """The simulated world of ``round_code`` (None or the definition's own: the baseline)."""
    world = make_world(definition, geography, seed)
    return follow_up_world(world, round_code) if is_follow_up(definition, round_code) else world


def change_truth(world: World, cells: list | None = None) -> dict[str, Any] | None:
    """For a follow-up world: every cell's baseline truth, its own and the designed trend and
    true change; None for the baseline. ``cells``: the follow-up's expected cells if known."""
    definition = world.definition
    if not is_follow_up(definition, world.round):
        return None
    baseline = make_world(definition, world.geography, world.seed)
    trend = shifts(baseline, world.round)
    before = {(c.municipality, c.service): c for c in expected_cells(baseline)}
    rows = []
    for after in cells if cells is not None else expected_cells(world):
        key = (after.municipality, after.service)
        was, shift = before[key], trend[key]
        both_e = after.effectiveness is not None and was.effectiveness is not None
        rows.append({
            "municipality_code": after.municipality, "service_code": after.service,
            "satisfaction_trend": shift.satisfaction_trend,
            "effectiveness_trend": shift.effectiveness_trend,
            "satisfaction_before": was.satisfaction, "satisfaction_after": after.satisfaction,
            "satisfaction_change": after.satisfaction - was.satisfaction,
            "effectiveness_before": was.effectiveness, "effectiveness_after": after.effectiveness,
            "effectiveness_change": after.effectiveness - was.effectiveness if both_e else None,
            "gap_change": after.gap - was.gap if both_e else None,
            "gap_status_before": was.gap_status, "gap_status_after": after.gap_status,
            "quadrant_before": was.quadrant, "quadrant_after": after.quadrant,
        })
    return {"baseline_round": definition.study.round, "round": world.round,
            "about": "true change from the baseline round to this one, per municipality x "
                     "service: after minus before, in points (population values)",
            "cells": rows}


def deployed_round(xform: Path) -> str | None:
    """The round an XForm's ``study_round`` calculate stamps on every instance (None: none)."""
    try:
        root = ET.parse(xform).getroot()
    except (OSError, ET.ParseError) as err:
        raise SimulationError(f"{xform}: cannot read the downloaded form ({err}).") from err
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] != "bind":
            continue
        if element.get("nodeset", "").rsplit("/", 1)[-1] == ROUND_FIELD:
            match = re.fullmatch(r"\s*'([^']*)'\s*|\s*\"([^\"]*)\"\s*", element.get("calculate", ""))
            return (match.group(1) or match.group(2) or "") if match else None
    return None


def check_deployed_round(xforms: dict[str, Path], wanted: str) -> None:
    """Refuse to simulate ``wanted`` on forms that carry another round (SimulationError)."""
    for form_id, path in sorted(xforms.items()):
        found = deployed_round(path)
        if found is None:
            raise SimulationError(f"the deployed form {form_id} has no {ROUND_FIELD} calculate, "
                                  "so its submissions belong to no round. Fix: deploy forms "
                                  "built by 'aimak forms build'.")
        if found != wanted:
            raise SimulationError(
                f"the deployed form {form_id} carries round {found!r}, not {wanted!r}: its "
                f"submissions would not belong to {wanted!r}. Fix: build the forms from a copy of "
                f"the definition whose study.round is {wanted} (aimak forms build --definition "
                f"COPY) and deploy them (aimak forms deploy), or simulate the deployed round "
                f"(--round {found}).")


def write_round_definition(source: Path, round_code: str, dest: Path) -> Path:
    """Copy the study definition ``source`` to ``dest`` with ``study.round`` set to
    ``round_code``; everything else, comments included, stays as it is. A fieldwork window
    (``study.fieldwork_start``/``fieldwork_end``) is dropped: it belongs to the source's round."""
    document, issues = load_yaml(source)
    study = document.get("study") if isinstance(document, dict) else None
    if issues or not isinstance(study, dict) or "round" not in study:
        raise SimulationError(f"{source}: no study.round to replace (fix the definition: "
                              "'aimak forms build' says what is wrong).")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", round_code):
        raise SimulationError(f"round code {round_code!r} is not a code: use lower-case letters, "
                              "digits and '_', starting with a letter (e.g. r2027_followup).")
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    index = study.line_of("round") - 1
    old = re.escape(str(study["round"]))
    lines[index], count = re.subn(rf"(\bround\s*:\s*)(['\"]?){old}\2", rf"\g<1>{round_code}",
                                  lines[index], count=1)
    if not count:
        raise SimulationError(f"{source}:{index + 1}: study.round is not on a line of its own; "
                              "write it as 'round: CODE' to let the follow-up be derived.")
    for key in ("fieldwork_start", "fieldwork_end"):
        if key in study:
            lines[study.line_of(key) - 1] = ""
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text("".join(lines), encoding="utf-8")
    return dest


def load_round(definition: Path, geography: Path) -> str:
    """The round a definition file names."""
    study, _ = load_study(definition, geography)
    return study.study.round
