"""Which questions of a synced form hold personal data: the ones the study definition lists under
``personal:`` for that form (people's names, free text that may name them, recordings of voices)
and, in any form, every location (geopoint, geotrace, geoshape) and phone identity (deviceid,
phonenumber, subscriberid, simserial, username, email), found by the question's type in the
form's content as synced. The data workbooks (``reports.data_layout``) and the published tables
(``warehouse.publish``) both leave these out."""

from __future__ import annotations

import json

import duckdb

from forms.definition import Definition

# question types whose answers are personal in any form: where a person is, which phone they hold
PERSONAL_TYPES = {"geopoint", "geotrace", "geoshape", "start-geopoint", "deviceid", "phonenumber",
                  "subscriberid", "simserial", "username", "email"}


def personal_by_type(content: dict) -> set[str]:
    """The names of the questions of a form's content whose type is personal."""
    names = set()
    for row in content.get("survey") or []:
        kind = row.get("type")
        name = row.get("$autoname") or row.get("name")
        if isinstance(kind, str) and kind.split()[:1] and kind.split()[0] in PERSONAL_TYPES and name:
            names.add(name)
    return names


def personal_questions(definition: Definition, form_id: str, content: dict) -> set[str]:
    """The personal questions of one synced form, from its content (see the module docstring)."""
    return set(definition.personal.get(form_id, ())) | personal_by_type(content)


def form_content(conn: duckdb.DuckDBPyConnection, asset_uid: str) -> dict:
    """The synced form's content (KoboToolbox's asset JSON: survey, choices, settings)."""
    row = conn.execute("SELECT CAST(content AS VARCHAR) FROM forms WHERE asset_uid = ?",
                       [asset_uid]).fetchone()
    return json.loads(row[0] or "{}") if row else {}
