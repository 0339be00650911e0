"""The bundled study copied to forty municipalities, one field team each: the study the report
benchmarks (bench/report.py, bench/study_report.py) write their deliverables for. A module, not a
benchmark: `make bench` runs it and it does nothing."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from forms import BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY  # noqa: E402
from forms.build import load_study  # noqa: E402
from forms.definition import Definition, Geography, Team, Text  # noqa: E402

MUNICIPALITIES = 40
ENUMERATORS = 5  # per team


def study() -> tuple[Definition, Geography]:
    """The bundled study with its municipalities copied under new codes (AKM -> AKM0 … AKM9, its
    villages AKM01 -> AKM001 …) until there are :data:`MUNICIPALITIES`, one team each."""
    definition, geography = load_study(BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY)
    municipalities = {}
    for copy in range(MUNICIPALITIES // len(geography.municipalities)):
        for m in geography.municipalities.values():
            code = f"{m.code}{copy}"
            villages = tuple(dataclasses.replace(
                v, code=code + v.code[len(m.code):], municipality=code, name=_numbered(v.name, copy))
                for v in m.villages)
            municipalities[code] = dataclasses.replace(m, code=code, name=_numbered(m.name, copy),
                                                       villages=villages)
    teams = tuple(Team(f"T{code}", f"S{code}", tuple(f"E{code}{i}" for i in range(1, ENUMERATORS + 1)),
                       (code,)) for code in municipalities)
    definition = dataclasses.replace(
        definition, sample_plan=dataclasses.replace(definition.sample_plan, teams=teams))
    return definition, dataclasses.replace(geography, municipalities=municipalities)


def _numbered(text: Text, copy: int) -> Text:
    return text if copy == 0 else text.map(f"{{}} {copy + 1}")
