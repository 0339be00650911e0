"""Persona → answer maps for the three forms, as an enumerator would enter them.

The maps use question names (values inside repeats as lists, one per instance); only questions a
phone would show get an answer, so skipped blocks stay absent. JavaRosa then checks every answer
against the deployed form's relevance, constraints and choice filters. Media questions get a file
name; the bytes travel as attachments (:func:`image_bytes`).
"""

from __future__ import annotations

import hashlib
import math
import random
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

from fieldsim import phrases
from fieldsim.personas import (
    NO_FIX_SHARE,
    Enumerator,
    Respondent,
    World,
    fabricated,
    item_distribution,
    satisfaction_top2,
)
from fieldsim.truth import PRIORITY_COUNTS

__all__ = ["Answers", "citizen_answers", "focus_group_answers", "image_bytes", "lsg_answers",
           "village_point"]

PARTICIPANT_ROLES = {"lsg_staff": ("head", "deputy", "specialist", "specialist", "council"),
                     "residents": ("resident", "resident", "resident", "activist", "other")}
GOVERNANCE = {"yes_no_dk": (("yes", 0.42), ("no", 0.46), ("dk", 0.12)),
              "trust": (("1", 0.08), ("2", 0.17), ("3", 0.3), ("4", 0.28), ("5", 0.1), ("9", 0.07))}


@dataclass
class Answers:
    """One form's answers, repeat counts and the media files its answers name."""

    values: dict[str, Any]
    repeats: dict[str, Any] = field(default_factory=dict)
    media: dict[str, bytes] = field(default_factory=dict)


def _pick(rng: random.Random, dist: dict[str, float] | tuple[tuple[str, float], ...]) -> str:
    items = list(dist.items()) if isinstance(dist, dict) else list(dist)
    return rng.choices([c for c, _ in items], [p for _, p in items])[0]


def _unit(text: str) -> float:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def village_point(village: str) -> tuple[float, float]:
    """A stable synthetic location for a village (inside Kyrgyzstan's bounding box)."""
    return 40.6 + 2.0 * _unit(f"lat:{village}"), 71.0 + 6.5 * _unit(f"lon:{village}")


def _geopoint(village: str, rng: random.Random) -> str:
    lat, lon = village_point(village)
    lat += rng.uniform(-0.01, 0.01)
    lon += rng.uniform(-0.01, 0.01)
    return f"{lat:.6f} {lon:.6f} {rng.uniform(800, 2200):.1f} {rng.uniform(3, 15):.1f}"


def _citizen_gps(world: World, r: Respondent, enumerator: Enumerator, honest: str) -> str | None:
    """The interview's location: ``honest`` (near the village), none when the phone got no fix,
    or 25-40 km away (the enumerator's home) for an interview made up there."""
    faults = random.Random(f"gps:{world.seed}:{r.number}")
    if fabricated(world, r, enumerator):
        lat, lon = village_point(r.village)
        bearing = 2 * math.pi * _unit(f"home:{enumerator.code}")
        km = 25 + 15 * _unit(f"home-km:{enumerator.code}")
        lat += km / 111.2 * math.cos(bearing)
        lon += km / (111.2 * math.cos(math.radians(lat))) * math.sin(bearing)
        return f"{lat:.6f} {lon:.6f} {faults.uniform(800, 2200):.1f} {faults.uniform(3, 15):.1f}"
    if faults.random() < NO_FIX_SHARE:
        return None
    return honest


def _location(world: World, municipality: str, village: str | None) -> dict[str, str]:
    m = world.geography.municipalities[municipality]
    out = {"oblast": world.geography.rayons[m.rayon].oblast, "rayon": m.rayon,
           "municipality": municipality}
    if village:
        out["village"] = village
    return out


def priorities(world: World, municipality: str, rng: random.Random) -> list[str]:
    """Top priorities: weighted draws without replacement (the model truth.py scores)."""
    most = world.definition.importance.max_choices
    counts = {k: p for k, p in PRIORITY_COUNTS.items() if k <= most}
    k = int(_pick(rng, {str(c): p for c, p in counts.items()}))
    pool = {c: world.cell(municipality, c).importance_weight for c in world.services_of[municipality]}
    chosen = []
    for _ in range(min(k, len(pool))):
        code = rng.choices(list(pool), list(pool.values()))[0]
        chosen.append(code)
        del pool[code]
    return chosen


def citizen_answers(world: World, r: Respondent, enumerator: Enumerator,
                    rng: random.Random) -> Answers:
    v: dict[str, Any] = {"enumerator": enumerator.code, **_location(world, r.municipality, r.village),
                         "gps": _citizen_gps(world, r, enumerator, _geopoint(r.village, rng)),
                         "consent": "yes" if r.consent else "no"}
    if v["gps"] is None:
        del v["gps"]
    if not r.consent:
        return Answers(v)
    v.update(resp_sex=r.sex, resp_age=r.age, hh_size=r.hh_size, years_here=r.years_here)
    for code in world.services_of[r.municipality]:
        cell = world.cell(r.municipality, code)
        service = world.definition.service(code)
        if rng.random() < cell.usage:
            v[f"{service.prefix}_use"] = "1"
        else:
            v[f"{service.prefix}_use"] = "3" if rng.random() < cell.no_service else "2"
            continue
        line = None
        for item in service.items:
            dist = item_distribution(satisfaction_top2(world, cell, item.code, r.village, r.sex,
                                                       r.age_group))
            answer = _pick(rng, dist)
            if enumerator.straight_liner:
                line = line or answer
                answer = line
            elif (enumerator.inflates and answer in ("1", "2", "3", "4")
                  and rng.random() < enumerator.inflates):
                answer = str(int(answer) + 1)
            v[item.code] = answer
    v["priority_services"] = priorities(world, r.municipality, rng)
    for item in world.definition.governance_items:
        v[item.code] = _pick(rng, GOVERNANCE.get(item.scale, GOVERNANCE["yes_no_dk"]))
    return Answers(v)


def lsg_answers(world: World, municipality: str, assessor: str, date: str, language: str,
                rng: random.Random, stamp_ms: int) -> Answers:
    """The assessment: every indicator's true value, most verified by a document, some photographed."""
    v: dict[str, Any] = {"assessor": assessor, **_location(world, municipality, None),
                         "assessment_date": date,
                         "lsg_informant": phrases.informant(language, rng)}
    media: dict[str, bytes] = {}
    for code in world.services_of[municipality]:
        for ind, value in world.cell(municipality, code).indicator_values.items():
            v[ind] = value if isinstance(value, str) else _number(value)
            verified = rng.random() < 0.75
            v[f"{ind}_verified"] = "yes" if verified else "no"
            if verified:
                v[f"{ind}_doc"] = phrases.document(language, rng)
                if rng.random() < 0.4:
                    name = f"{stamp_ms + len(media) * 1371}.png"
                    v[f"{ind}_photo"] = name
                    media[name] = image_bytes(f"{municipality}:{ind}")
    if rng.random() < 0.5:
        v["comments"] = ("Данные сверены с документами айыл окмоту." if language == "ru"
                         else "Маалыматтар айыл өкмөтүнүн документтери менен салыштырылды.")
    return Answers(v, media=media)


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.1f}"


def focus_group_answers(world: World, municipality: str, group_type: str, *, date: str,
                        start: str, end: str, moderator: str, notetaker: str, language: str,
                        rng: random.Random, stamp_ms: int) -> Answers:
    """One session: roster, ranking by importance, themes whose sentiment follows the truth."""
    m = world.geography.municipalities[municipality]
    village = max(m.villages, key=lambda x: x.adults).code if group_type == "lsg_staff" \
        else rng.choice(m.villages).code
    staff = group_type == "lsg_staff"
    n = rng.randint(7, 11)
    roles = PARTICIPANT_ROLES["lsg_staff" if staff else "residents"]
    sexes = {"residents_women": ("f",), "residents_youth": ("f", "m")}.get(group_type, ("f", "m"))
    ages = {"residents_youth": ("18_29",), "residents_elders": ("60plus",)}.get(
        group_type, tuple(g.code for g in world.definition.age_groups))
    codes = [f"P{i + 1:02d}" for i in range(n)]
    v: dict[str, Any] = {
        **_location(world, municipality, village), "fg_date": date, "fg_start_time": start,
        "fg_end_time": end, "fg_group_type": group_type, "fg_moderator": moderator,
        "fg_notetaker": notetaker, "fg_language": language, "fg_consent_record": "no",
        "fg_p_code": codes, "fg_p_sex": [rng.choice(sexes) for _ in codes],
        "fg_p_age_group": [rng.choice(ages) for _ in codes],
        "fg_p_role": [roles[i % len(roles)] for i in range(n)],
    }
    everything = [s.code for s in world.definition.services]
    applicable = list(world.services_of[municipality])
    weights = {c: world.cell(municipality, c).importance_weight * rng.uniform(0.5, 1.5)
               for c in applicable}
    ranking = sorted(applicable, key=lambda c: -weights[c]) + [c for c in everything
                                                                if c not in weights]
    v["fg_ranking"] = ranking
    for code in ranking[:3]:
        prefix = world.definition.service(code).prefix
        cell = world.cell(municipality, code)
        v[f"{prefix}_fg_satisfaction"] = _score5(cell.base_top2, rng)
        if staff:
            v[f"{prefix}_fg_performance"] = _score5(cell.effectiveness_target, rng)
    themes = ranking[: rng.randint(3, 5)]
    lang = language if language in ("ru", "ky") else rng.choice(("ru", "ky"))
    theme_codes = [c.code for c in world.definition.scales["fg_theme"].choices]
    quotes = [rng.randint(1, 3) for _ in themes]
    rows: dict[str, list[Any]] = {k: [] for k in (
        "fg_theme_service", "fg_theme_code", "fg_theme_sentiment", "fg_theme_agreed",
        "fg_theme_summary", "fg_theme_recommendation", "fg_quote_text", "fg_quote_participant",
        "fg_quote_minute")}
    for code, k in zip(themes, quotes, strict=True):
        cell = world.cell(municipality, code)
        level = cell.effectiveness_target if staff else cell.base_top2
        sentiment = "positive" if level >= 60 else "negative" if level < 40 else "mixed"
        theme = rng.choice(theme_codes)
        name = world.definition.service(code).name.get(lang)
        rows["fg_theme_service"].append(code)
        rows["fg_theme_code"].append(theme)
        rows["fg_theme_sentiment"].append(sentiment)
        rows["fg_theme_agreed"].append(rng.randint(max(1, n // 3), n))
        rows["fg_theme_summary"].append(phrases.summary(lang, sentiment, theme, name))
        rows["fg_theme_recommendation"].append(phrases.recommendation(lang, name, rng))
        rows["fg_quote_text"].append([phrases.quote(lang, sentiment, rng) for _ in range(k)])
        rows["fg_quote_participant"].append([rng.choice(codes) for _ in range(k)])
        rows["fg_quote_minute"].append(sorted(rng.randint(1, 110) for _ in range(k)))
    v.update(rows)
    v["fg_observer_notes"] = ("Обсуждение активное, несколько участников доминировали."
                              if lang == "ru" else
                              "Талкуу жандуу өттү, бир нече катышуучу көбүрөөк сүйлөдү.")
    photo = f"{stamp_ms}.png"
    v["fg_flipchart_photo"] = photo
    return Answers(v, repeats={"fg_participant": n, "fg_theme": len(themes), "fg_quote": quotes},
                   media={photo: image_bytes(f"{municipality}:{group_type}:{date}")})


def _score5(level: float, rng: random.Random) -> str:
    return str(min(5, max(1, round(1 + 4 * level / 100 + rng.uniform(-0.6, 0.6)))))


def image_bytes(seed: str, width: int = 48, height: int = 32) -> bytes:
    """A small valid PNG (a colour gradient) standing in for a photo."""
    h = hashlib.sha256(seed.encode()).digest()
    r0, g0, b0 = h[0], h[1], h[2]
    raw = bytearray()
    for y in range(height):
        raw.append(0)
        for x in range(width):
            raw += bytes(((r0 + 4 * x) % 256, (g0 + 6 * y) % 256, (b0 + 2 * (x + y)) % 256))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(raw)))
            + chunk(b"IEND", b""))
