"""A small household form and a tiny field team, shared by the server and sync tests."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from pathlib import Path

import requests

from forms.definition import Text
from forms.xlsform import ChoiceRow, FormSpec, Row

FORM_ID = "household"
TABLES = ["submissions_household", "repeat_household__members", "repeat_household__jobs"]


def T(text: str) -> Text:
    return Text(text, text, text)


def household_form(version: int = 1) -> FormSpec:
    survey = [
        Row("start", "start"), Row("end", "end"),
        Row("begin_group", "hh", label=T("Household")),
        Row("text", "village", label=T("Village"), required="yes"),
        Row("integer", "hh_size", label=T("Size"), required="yes", constraint=". > 0 and . < 40"),
        Row("geopoint", "location", label=T("Location")),
        Row("end_group"),
        Row("select_multiple src", "water", label=T("Water sources"), required="yes"),
        Row("begin_repeat", "members", label=T("Member")),
        Row("text", "member_name", label=T("Name"), required="yes"),
        Row("integer", "member_age", label=T("Age"), required="yes", constraint=". >= 0 and . < 120"),
        Row("begin_repeat", "jobs", label=T("Job")),
        Row("text", "job", label=T("Job"), required="yes"),
        Row("end_repeat"),
        Row("end_repeat"),
        Row("image", "photo", label=T("Photo")),
    ]
    if version > 1:
        survey.insert(5, Row("decimal", "income", label=T("Income"), constraint=". >= 0"))
    choices = [ChoiceRow("src", name, T(name)) for name in ("piped", "well", "river")]
    return FormSpec(FORM_ID, T("Household"), "en", survey, choices)


def household_form_trimmed() -> FormSpec:
    """A later version of :func:`household_form` (1) that drops questions and renames one: the
    geopoint ``location`` (main table) and ``member_age`` (repeat ``members``) are gone,
    ``hh_size`` is now ``people``, and the water source ``river`` is no longer offered."""
    spec = household_form(1)
    survey = []
    for row in spec.survey:
        if row.name in ("location", "member_age"):
            continue
        if row.name == "hh_size":
            row = Row("integer", "people", label=T("People"), required="yes", constraint=". > 0 and . < 40")
        survey.append(row)
    choices = [c for c in spec.choices if c.name != "river"]
    return FormSpec(FORM_ID, T("Household"), "en", survey, choices)


class Field:
    """A tiny field team: fills the deployed XForm with JavaRosa and posts it over OpenRosa."""

    def __init__(self, server, engine, tmp: Path):
        self.server, self.engine, self.tmp = server, engine, tmp
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {server.token}"
        self.sent: list[str] = []

    def xform(self) -> Path:
        listing = ET.fromstring(self.session.get(f"{self.server.openrosa_url}/formList").content)
        url = next(el.text for el in listing.iter() if el.tag.endswith("downloadUrl"))
        path = self.tmp / f"deployed-{time.monotonic_ns()}.xml"
        path.write_bytes(self.session.get(url).content)
        return path

    def send(self, n: int, seed: int = 0, **answers) -> list[str]:
        form = self.xform()
        ids = []
        for i in range(n):
            filled = self.engine.fill(form, answers, auto=True, seed=seed * 100003 + i,
                                      repeats={"members": i % 3, "jobs": [1, 2][: i % 3]})
            self.post(filled.xml)
            ids.append(filled.instance_id)
        self.sent += ids
        return ids

    def edit(self, instance_id: str, **answers) -> str:
        filled = self.engine.fill(self.xform(), answers, auto=True, seed=7, repeats={"members": 0},
                                  deprecated_id=instance_id)
        self.post(filled.xml)
        return filled.instance_id

    def post(self, xml: bytes, expect: int = 201) -> None:
        response = self.session.post(f"{self.server.openrosa_url}/submission",
                                     files={"xml_submission_file": ("submission.xml", xml, "text/xml")})
        assert response.status_code == expect, response.text


