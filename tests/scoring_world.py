"""A study written straight into a warehouse in the shapes a sync leaves behind, for scoring.

The scoring tests (``tests/test_scoring_*.py``) and ``bench/coverage.py`` put interviews and LSG
assessments into the typed tables (``submissions_citizen_survey``, ``submissions_lsg_assessment``)
and the long ``answers`` / ``select_multiple`` tables exactly as ``aimak sync`` names them, so the
real ``warehouse.scoring.score`` runs every model on them: nothing between the synced tables and
``gap_scores`` is skipped. A small :class:`Definition` and :class:`Geography` are made from plain
data (a study of one or two services, one municipality of a few villages) so that every number in
a test can be worked out by hand.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import duckdb
import pandas as pd

from forms.definition import (
    EXCLUSIONS,
    AppliesTo,
    Definition,
    Geography,
    Indicator,
    Municipality,
    Oblast,
    Quality,
    Rayon,
    SatisfactionItem,
    Service,
    Team,
    Text,
    Village,
)
from warehouse.schema import migrate
from warehouse.sources import CITIZEN, LSG

ROUND = "r1"
SEXES = ("f", "m")
AGES = ("18_29", "30_44", "45_59", "60plus")
META_COLUMNS = {  # column of the typed table -> key of a row dict (or a computed default)
    "_id": "_id", "_uuid": "_uuid", "_instance_id": "_instance_id",
    "_submission_time": "_submission_time", "_validation_status": "_validation_status",
    "study_round": "study_round", "start": "start", "end": "end",
}
CITIZEN_COLUMNS = ("municipality", "village", "enumerator", "consent", "resp_sex", "resp_age",
                   "resp_age_group", "gps_latitude", "gps_longitude", "gps_accuracy")
LSG_COLUMNS = ("municipality", "assessor", "assessment_date")
START = dt.datetime(2026, 11, 9, 9, 0, tzinfo=dt.UTC)


def text(value: str) -> Text:
    return Text(value, value, value)


def service(code: str, items: Mapping[str, float],
            indicators: Iterable[Indicator] | None = None) -> Service:
    """A service asked everywhere, with items (code -> weight) and indicators (by default one,
    ``<code>_ind``, scored 0-100 from floor 0 to target 100)."""
    if indicators is None:
        indicators = [indicator(f"{code.lower()}_ind", code)]
    return Service(code=code, core=True, applies_to=AppliesTo("all"), name=text(code),
                   usage=text(code),
                   items=tuple(SatisfactionItem(c, text(c), w) for c, w in items.items()),
                   indicators=tuple(indicators))


def indicator(code: str, service_code: str, *, floor: float = 0, target: float = 100,
              direction: str = "higher", answer: str = "decimal", weight: float = 1) -> Indicator:
    return Indicator(code=code, service=service_code, text=text(code), unit="percent",
                     answer=answer, direction=direction, floor=floor, target=target,
                     weight=weight, evidence=text("register"))


def study(bundled: Definition, services: Iterable[Service], municipalities: Iterable[str],
          quality_rules: bool = False, **method: Any) -> Definition:
    """The bundled definition with other services, method settings and one team for the
    municipalities; quality rules off unless asked (the statistics tests score every interview
    with consent, not approved, and a place and profile)."""
    exclude = {rule: (rule in ("not_approved", "no_consent") or quality_rules)
               for rule in EXCLUSIONS}
    team = Team("T1", "S01", ("E01", "E02"), tuple(municipalities))
    return dataclasses.replace(
        bundled, services=tuple(services),
        method=dataclasses.replace(bundled.method, **method),
        sample_plan=dataclasses.replace(bundled.sample_plan, teams=(team,)),
        quality=dataclasses.replace(Quality(), exclude=exclude),
        study=dataclasses.replace(bundled.study, round=ROUND))


def geography(municipalities: Mapping[str, Mapping[str, Mapping[tuple[str, str], int]]]
              ) -> Geography:
    """{municipality: {village: {(sex, age group): adults}}}; cells not given have no adults."""
    out = {}
    for code, villages in municipalities.items():
        out[code] = Municipality(code=code, name=text(code), rayon="R1", type="rural",
                                 features=frozenset(), villages=tuple(
            Village(code=v, name=text(v), municipality=code,
                    population={(s, a): int(cells.get((s, a), 0)) for s in SEXES for a in AGES})
            for v, cells in villages.items()))
    return Geography({"O1": Oblast("O1", text("O1"))}, {"R1": Rayon("R1", text("R1"), "O1")}, out)


def interview(number: int, village: str, sex: str = "f", age_group: str = "30_44",
              municipality: str | None = None, **answers: Any) -> dict[str, Any]:
    """One consenting citizen interview: place, profile and answers (question -> value; a list
    for a select_multiple such as ``priority_services``)."""
    return {"_id": number, "municipality": municipality or village.rstrip("0123456789"),
            "village": village, "resp_sex": sex, "resp_age_group": age_group, "consent": "yes",
            **answers}


def asset_of(form: str) -> str:
    """The asset uid a test gives the study form ``form``."""
    return f"asset-{form}"


def register_form(conn: duckdb.DuckDBPyConnection, form: str, tables: Mapping[str, str]) -> None:
    """Record the form as a sync does: its asset in ``forms`` and the name of each of its tables
    (repeat path -> table) in ``form_tables``, which is how the scores find them."""
    uid = asset_of(form)
    conn.execute("INSERT INTO forms VALUES (?, ?, ?, NULL, '{}', now()) ON CONFLICT DO NOTHING",
                 [form, uid, form])
    for path, table in tables.items():
        conn.execute("INSERT INTO form_tables VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                     [uid, form, path, table])


def write_synced(conn: duckdb.DuckDBPyConnection, citizen: list[dict[str, Any]],
                 lsg: list[dict[str, Any]] = ()) -> None:
    """Create the warehouse's tables and write the interviews and assessments as a sync would:
    one typed row per submission plus every answer in ``answers`` (and ``select_multiple``)."""
    migrate(conn)
    long_rows: list[tuple] = []
    choice_rows: list[tuple] = []
    for form, rows, columns in ((CITIZEN, citizen, CITIZEN_COLUMNS), (LSG, lsg, LSG_COLUMNS)):
        typed = []
        for index, row in enumerate(rows, start=1):
            sid = int(row["_id"])
            start = row.get("start", START + dt.timedelta(minutes=30 * index))
            record = {
                "_index": index, "_id": sid, "_uuid": row.get("_uuid", f"uuid-{form}-{sid}"),
                "_instance_id": row.get("_instance_id", f"uuid:{form}-{sid}"),
                "_submission_time": row.get("_submission_time", start.replace(tzinfo=None)),
                "_validation_status": row.get("_validation_status"),
                "study_round": row.get("study_round", ROUND),
                "start": start, "end": row.get("end", start + dt.timedelta(minutes=25)),
            }
            defaults = {"gps_latitude": 41.5, "gps_longitude": 73.0, "gps_accuracy": 5.0,
                        "enumerator": "E01", "assessor": "A", "assessment_date": start.date()}
            record.update({c: row.get(c, defaults.get(c)) for c in columns})
            typed.append(record)
            for question, value in row.items():
                if question in record and question not in ("resp_sex", "resp_age_group",
                                                           "municipality", "village", "consent"):
                    continue
                if value is None:
                    continue
                if isinstance(value, (list, tuple)):
                    choice_rows += [(form, sid, "", index, question, str(c)) for c in value]
                    value = " ".join(str(c) for c in value)
                long_rows.append((form, sid, "", index, question, str(value)))
        frame = pd.DataFrame(typed)
        if not typed:
            continue
        conn.register("_typed", frame)
        conn.execute(f'CREATE OR REPLACE TABLE "submissions_{form}" AS SELECT * FROM _typed')
        conn.unregister("_typed")
        register_form(conn, form, {"": f"submissions_{form}"})
    answers = pd.DataFrame(long_rows, columns=["form_id", "submission_id", "repeat_path", "_index",
                                               "question", "value"])
    choices = pd.DataFrame(choice_rows, columns=["form_id", "submission_id", "repeat_path",
                                                 "_index", "question", "choice"])
    conn.register("_answers", answers)
    conn.execute("""INSERT INTO answers (form_id, submission_id, repeat_path, _index, question,
                                         value, value_numeric, asset_uid)
                    SELECT *, TRY_CAST(value AS DOUBLE), 'asset-' || form_id FROM _answers""")
    conn.unregister("_answers")
    conn.register("_choices", choices)
    conn.execute("""INSERT INTO select_multiple (form_id, submission_id, repeat_path, _index,
                                                 question, choice, asset_uid)
                    SELECT *, 'asset-' || form_id FROM _choices""")
    conn.unregister("_choices")
