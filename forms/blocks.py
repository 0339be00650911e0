"""Pieces the three form builders share: metadata rows, the location cascade, choice lists."""

from __future__ import annotations

from collections.abc import Iterable

from forms import LANGUAGES
from forms.definition import Definition, Geography, Scale, Service, Text
from forms.xlsform import ChoiceRow, Row

LOCATION_LEVELS = ("oblast", "rayon", "municipality", "village")


def same(value: str) -> Text:
    """A text that reads the same in every language (codes, numbers)."""
    return Text(value, value, value)


def join(*parts: Text, sep: str = " ") -> Text:
    """Join texts language by language."""
    return Text(*(sep.join(part.get(lang) for part in parts) for lang in LANGUAGES))


def metadata_rows(definition: Definition) -> list[Row]:
    """start/end/today/deviceid/audit, and the study round as a constant every row carries."""
    return [
        Row("start", "start"),
        Row("end", "end"),
        Row("today", "today"),
        Row("deviceid", "deviceid"),
        Row("audit", "audit"),
        Row("calculate", "study_round", calculation=f"'{definition.study.round}'"),
    ]


def location_rows(definition: Definition, levels: Iterable[str] = LOCATION_LEVELS) -> list[Row]:
    """Cascading selects: each level's choices are filtered by the level above."""
    rows = []
    previous = None
    for level in levels:
        rows.append(Row(f"select_one {level}", level, label=definition.text(level), required="yes",
                        choice_filter=f"{previous}=${{{previous}}}" if previous else ""))
        previous = level
    return rows


def location_choices(geography: Geography, levels: Iterable[str] = LOCATION_LEVELS) -> list[ChoiceRow]:
    levels = tuple(levels)
    rows: list[ChoiceRow] = []
    if "oblast" in levels:
        rows += [ChoiceRow("oblast", o.code, o.name) for o in geography.oblasts.values()]
    if "rayon" in levels:
        rows += [ChoiceRow("rayon", r.code, r.name, {"oblast": r.oblast})
                 for r in geography.rayons.values()]
    if "municipality" in levels:
        rows += [ChoiceRow("municipality", m.code, m.name, {"rayon": m.rayon})
                 for m in geography.municipalities.values()]
    if "village" in levels:
        rows += [ChoiceRow("village", v.code, v.name, {"municipality": v.municipality})
                 for m in geography.municipalities.values() for v in m.villages]
    return rows


def scale_choices(scale: Scale, list_name: str | None = None) -> list[ChoiceRow]:
    return [ChoiceRow(list_name or scale.name, c.code, c.label) for c in scale.choices]


def service_choices(definition: Definition) -> list[ChoiceRow]:
    return [ChoiceRow("services", s.code, s.name) for s in definition.services]


def applies_condition(service: Service, geography: Geography) -> str | None:
    """XPath true where the service applies to the chosen municipality; '' everywhere; None nowhere."""
    if service.applies_to.kind == "all":
        return ""
    codes = [m.code for m in geography.municipalities.values() if service.applies_to.matches(m)]
    if not codes:
        return None
    if len(codes) == len(geography.municipalities):
        return ""
    return f"selected('{' '.join(codes)}', ${{municipality}})"


def both(*conditions: str) -> str:
    """AND of the non-empty conditions."""
    kept = [c for c in conditions if c]
    return " and ".join(f"({c})" if " or " in c else c for c in kept)


def bounds_constraint(low: float | None, high: float | None) -> str:
    parts = []
    if low is not None:
        parts.append(f". >= {_num(low)}")
    if high is not None:
        parts.append(f". <= {_num(high)}")
    return " and ".join(parts)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
