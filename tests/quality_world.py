"""What the quality, fieldwork and focus-group tests add to ``tests/scoring_world.py``'s synced
warehouse: the questions' labels (the too-short rule counts the questions a person saw, those with
a label), the instance names a supervisor searches for (kept in the raw payload, as a sync keeps
them), and focus-group sessions with their roster, themes, quotes and group scores in the tables
a sync writes (``submissions_focus_group``, ``repeat_focus_group__<repeat>`` linked by
``_index`` / ``_parent_index``, scores in ``answers``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any

import duckdb
import pandas as pd

from forms.definition import Definition, Geography
from tests.scoring_world import ROUND, START, asset_of, register_form, write_synced
from warehouse.scoring import score
from warehouse.sources import CITIZEN, FOCUS_GROUP


def with_quality(definition: Definition, **settings: Any) -> Definition:
    """The definition with quality thresholds (and ``exclude`` entries) changed."""
    exclude = {**definition.quality.exclude, **settings.pop("exclude", {})}
    return dataclasses.replace(definition, quality=dataclasses.replace(
        definition.quality, exclude=exclude, **settings))


def with_study(definition: Definition, **settings: Any) -> Definition:
    """The definition with study settings (e.g. the fieldwork window) changed."""
    return dataclasses.replace(definition, study=dataclasses.replace(definition.study, **settings))


def write_labels(conn: duckdb.DuckDBPyConnection, form: str, questions: Iterable[str]) -> None:
    """Give each question a label, as the deployed form does for every question a person sees."""
    rows = [(form, q, q, asset_of(form)) for q in questions]
    if rows:
        conn.executemany("INSERT INTO labels (form_id, question, choice, language, label, asset_uid, "
                         "repeat_path) VALUES (?, ?, NULL, 'en', ?, ?, '')", rows)


def write_instance_names(conn: duckdb.DuckDBPyConnection, form: str,
                         names: Mapping[int, str]) -> None:
    """Keep each submission's ``meta/instanceName`` in a raw payload, as a sync does."""
    uid = asset_of(form)
    register_form(conn, form, {})
    conn.executemany(
        "INSERT INTO raw_submissions (asset_uid, _id, _uuid, payload, payload_hash, first_seen, "
        "last_seen) VALUES (?, ?, ?, ?, 'hash', now(), now())",
        [(uid, sid, f"uuid-{sid}", json.dumps({"_id": sid, "meta/instanceName": name}))
         for sid, name in names.items()])


@dataclasses.dataclass
class Theme:
    service: str
    code: str
    sentiment: str
    agreed: int
    quotes: list[tuple[str, str, int]] = dataclasses.field(default_factory=list)  # text, who, minute
    summary: str = "summary"
    recommendation: str = "recommendation"


@dataclasses.dataclass
class Session:
    _id: int
    municipality: str
    group_type: str
    date: dt.date
    participants: list[tuple[str, str, str, str]]  # code, sex, age group, role
    themes: list[Theme] = dataclasses.field(default_factory=list)
    scores: dict[str, str] = dataclasses.field(default_factory=dict)  # question -> 1-5 code
    village: str | None = None
    validation_status: str | None = None
    study_round: str = ROUND


def write_focus_groups(conn: duckdb.DuckDBPyConnection, sessions: list[Session]) -> None:
    """Write the sessions into the focus-group tables a sync makes (call after write_synced)."""
    typed, participants, themes, quotes, answers = [], [], [], [], []
    for index, s in enumerate(sessions, start=1):
        start = dt.datetime.combine(s.date, dt.time(10), dt.UTC)
        typed.append({"_index": index, "_id": s._id, "_uuid": f"uuid-fg-{s._id}",
                      "_instance_id": f"uuid:fg-{s._id}", "_submission_time": start.replace(tzinfo=None),
                      "_validation_status": s.validation_status, "study_round": s.study_round,
                      "start": start, "end": start + dt.timedelta(minutes=90),
                      "municipality": s.municipality, "village": s.village or f"{s.municipality}1",
                      "fg_date": s.date, "fg_group_type": s.group_type, "fg_moderator": "M",
                      "fg_language": "ru", "fg_n_participants": str(len(s.participants))})
        for code, sex, age, role in s.participants:
            participants.append({"_index": len(participants) + 1, "_parent_index": index,
                                 "_parent_table_name": "submissions_focus_group",
                                 "_submission__id": s._id, "fg_p_code": code, "fg_p_sex": sex,
                                 "fg_p_age_group": age, "fg_p_role": role})
        for t in s.themes:
            theme_index = len(themes) + 1
            themes.append({"_index": theme_index, "_parent_index": index,
                           "_parent_table_name": "submissions_focus_group",
                           "_submission__id": s._id, "fg_theme_service": t.service,
                           "fg_theme_code": t.code, "fg_theme_sentiment": t.sentiment,
                           "fg_theme_agreed": t.agreed, "fg_theme_summary": t.summary,
                           "fg_theme_recommendation": t.recommendation})
            for text, who, minute in t.quotes:
                quotes.append({"_index": len(quotes) + 1, "_parent_index": theme_index,
                               "_parent_table_name": "repeat_focus_group__fg_theme",
                               "_submission__id": s._id, "fg_quote_text": text,
                               "fg_quote_participant": who, "fg_quote_minute": minute})
        answers += [(FOCUS_GROUP, s._id, "", index, q, v, float(v), asset_of(FOCUS_GROUP))
                    for q, v in s.scores.items()]
    for table, rows in (("submissions_focus_group", typed),
                        ("repeat_focus_group__fg_participant", participants),
                        ("repeat_focus_group__fg_theme", themes),
                        ("repeat_focus_group__fg_quote", quotes)):
        if rows:
            conn.register("_rows", pd.DataFrame(rows))
            conn.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _rows")
            conn.unregister("_rows")
    register_form(conn, FOCUS_GROUP, {"": "submissions_focus_group",
                                      "fg_participant": "repeat_focus_group__fg_participant",
                                      "fg_theme": "repeat_focus_group__fg_theme",
                                      "fg_theme/fg_quote": "repeat_focus_group__fg_quote"})
    if answers:
        conn.executemany("INSERT INTO answers (form_id, submission_id, repeat_path, _index, question, "
                         "value, value_numeric, asset_uid) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", answers)


def at(day: int, hour: float = 9.0) -> dt.datetime:
    """``START``'s date plus ``day`` days, at ``hour`` UTC."""
    return START.replace(hour=0) + dt.timedelta(days=day, hours=hour)


def scored_world(definition: Definition, geography: Geography, citizen: list[dict[str, Any]],
                 lsg: list[dict[str, Any]] = (), sessions: list[Session] = (), *,
                 labels: Iterable[str] = (), names: Mapping[int, str] | None = None
                 ) -> duckdb.DuckDBPyConnection:
    """A warehouse holding the interviews, assessments and sessions, scored by the real models."""
    conn = duckdb.connect()
    write_synced(conn, citizen, lsg)
    write_labels(conn, CITIZEN, labels)
    if names:
        write_instance_names(conn, CITIZEN, names)
    if sessions:
        write_focus_groups(conn, sessions)
    score(conn, definition, geography)
    return conn


def rows(conn: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    """The query's rows as dicts by column name."""
    cursor = conn.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
