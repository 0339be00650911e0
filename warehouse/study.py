"""The study definition and geography as warehouse tables, so marts join on codes.

``dim_municipality``, ``dim_village``, ``dim_population`` (adults by village × sex × age group),
``dim_service``, ``dim_service_municipality`` (which services apply where), ``dim_item``
(services and items with a small integer key each besides their code, which the 3.4 million item
answers at 200,000 interviews carry instead of the text),
``dim_indicator``, ``dim_scale`` (every answer code with its labels and whether it is left out
of the base), ``dim_enumerator``, ``plan_quota`` (the sample plan's interviews per village and
sex × age group), ``plan_focus_groups`` (sessions per municipality by group type) and ``study_method`` (one row: every scoring setting of ``method:`` and
``quality:``). A service, item or indicator added to ``indicators.yaml`` flows through the marts
with no code change, because the marts read these tables instead of naming columns.
"""

from __future__ import annotations

from dataclasses import asdict
from statistics import NormalDist

import duckdb
import numpy as np

from forms.definition import QUALITY_RULES, Definition, Geography
from forms.sample_plan import plan_sample

LANGS = ("ru", "ky", "en")


def _texts(prefix: str, text) -> dict[str, str]:
    return {f"{prefix}_{lang}": text.get(lang) for lang in LANGS}


def _column(values: list) -> np.ndarray:
    """One column as the numpy array DuckDB scans, typed as a data frame would type it: booleans,
    integers (floats when some are missing), floats, else objects (text, lists, None)."""
    present = [v for v in values if v is not None]
    missing = len(present) < len(values)
    if present and not missing and all(isinstance(v, bool) for v in present):
        return np.array(values, dtype=bool)
    if present and not any(isinstance(v, bool) for v in present) \
            and all(isinstance(v, int | float) for v in present):
        if not missing and all(isinstance(v, int) for v in present):
            return np.array(values, dtype=np.int64)
        return np.array([np.nan if v is None else v for v in values], dtype=float)
    column = np.empty(len(values), dtype=object)
    column[:] = values  # element by element: a list stays one value
    return column


def _table(rows: list[dict], columns: list[str] | None = None) -> dict[str, np.ndarray]:
    """Rows (dicts with the same keys) as columns DuckDB can scan without pandas."""
    names = columns or (list(rows[0]) if rows else [])
    return {name: _column([row[name] for row in rows]) for name in names}


def study_frames(definition: Definition, geography: Geography) -> dict[str, dict[str, np.ndarray]]:
    """Every dimension table as columns (name -> numpy array; plain data, easy to test)."""
    method = definition.method
    municipalities, villages, population = [], [], []
    for m in geography.municipalities.values():
        rayon = geography.rayons[m.rayon]
        municipalities.append({
            "municipality_code": m.code, "rayon_code": m.rayon, "oblast_code": rayon.oblast,
            "municipality_type": m.type, "features": " ".join(sorted(m.features)),
            "adults": m.adults, **_texts("name", m.name),
            **_texts("rayon", rayon.name), **_texts("oblast", geography.oblasts[rayon.oblast].name)})
        for v in m.villages:
            villages.append({"village_code": v.code, "municipality_code": m.code,
                             "adults": v.adults, **_texts("name", v.name)})
            for (sex, group), adults in v.population.items():
                population.append({"village_code": v.code, "municipality_code": m.code,
                                   "sex": sex, "age_group": group, "adults": adults})
    services, applies, items, indicators = [], [], [], []
    for order, s in enumerate(definition.services, start=1):
        services.append({"service_code": s.code, "service_key": order, "prefix": s.prefix, "core": s.core,
                         "applies_to": str(s.applies_to), "sort_order": order,
                         "items": len(s.items), "indicators": len(s.indicators),
                         **_texts("name", s.name)})
        for m in geography.municipalities.values():
            if s.applies_to.matches(m):
                applies.append({"municipality_code": m.code, "service_code": s.code})
        for i, item in enumerate(s.items, start=1):
            items.append({"item_code": item.code, "item_key": len(items) + 1,
                          "service_code": s.code, "weight": item.weight,
                          "sort_order": order * 100 + i, **_texts("text", item.text)})
        for i, ind in enumerate(s.indicators, start=1):
            indicators.append({
                "indicator_code": ind.code, "service_code": s.code, "unit": ind.unit,
                "answer": ind.answer, "direction": ind.direction, "floor": ind.floor,
                "target": ind.target, "weight": ind.weight, "sort_order": order * 100 + i,
                **_texts("text", ind.text), **_texts("unit_label", definition.units[ind.unit].label),
                **_texts("evidence", ind.evidence)})
    scales = [{"scale": name, "code": c.code, "missing": c.missing, "sort_order": i,
               **_texts("label", c.label)}
              for name, scale in definition.scales.items() for i, c in enumerate(scale.choices)]
    enumerators = [{"enumerator_code": code, "team_code": team.code, "supervisor": team.supervisor,
                    "municipalities": " ".join(team.municipalities)}
                   for team in definition.sample_plan.teams for code in team.enumerators]
    plan = plan_sample(definition, geography)
    quota = [{"municipality_code": mp.municipality, "village_code": vq.village, "sex": sex,
              "age_group": group, "interviews": n}
             for mp in plan.municipalities.values() for vq in mp.villages
             for (sex, group), n in vq.quotas.items()]
    quality = definition.quality
    settings = {
        "study_code": definition.study.code, "definition_round": definition.study.round,
        "fieldwork_start": definition.study.fieldwork_start,
        "fieldwork_end": definition.study.fieldwork_end,
        **{k: v for k, v in asdict(method).items() if k != "top_box"},
        "top_box": list(method.top_box),
        "z": NormalDist().inv_cdf(0.5 + method.confidence_level / 2),
        "fieldwork_days": definition.sample_plan.fieldwork_days,
        "max_priorities": definition.importance.max_choices,
        "focus_groups_per_municipality": sum(definition.sample_plan.focus_groups.values()),
        "exclude_not_approved": quality.exclude["not_approved"],
        "exclude_no_consent": quality.exclude["no_consent"],
        "quality_rules": list(QUALITY_RULES),  # in the order a reason to leave out is chosen
        "exclude_rules": [rule for rule in QUALITY_RULES if quality.exclude[rule]],
        **{k: v for k, v in asdict(quality).items() if k != "exclude"},
    }
    return {
        "dim_municipality": _table(municipalities),
        "dim_village": _table(villages),
        "dim_population": _table(population),
        "dim_service": _table(services),
        "dim_service_municipality": _table(applies),
        "dim_item": _table(items),
        "dim_indicator": _table(indicators),
        "dim_scale": _table(scales),
        "dim_enumerator": _table(enumerators),
        "plan_quota": _table(quota),
        "plan_focus_groups": _table(
            [{"group_type": group, "sessions": n}
             for group, n in definition.sample_plan.focus_groups.items()],
            ["group_type", "sessions"]),
        "study_method": _table([settings]),
    }


def write_study_tables(conn: duckdb.DuckDBPyConnection, definition: Definition,
                       geography: Geography) -> list[str]:
    """(Re)create every dimension table from the definition, inside the caller's transaction."""
    names = []
    for name, frame in study_frames(definition, geography).items():
        conn.register("_study_frame", frame)
        conn.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _study_frame')
        conn.unregister("_study_frame")
        names.append(name)
    return names
