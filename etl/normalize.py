"""What a deployed form's submissions look like as tables, read from the form's own content.

Normalisation is driven by the asset's ``content`` from the API (not by our indicator list), so it
works for any KoboToolbox form: each question becomes a typed column of the submissions table or
of the table of the repeat it sits in; select_multiple questions get one 0/1 column per choice;
geopoints are split; labels are kept per language. The tables are built from the raw payloads by
SQL in the warehouse (``warehouse.staging``); this module only describes them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# KoboToolbox question type -> warehouse column kind
KINDS = {
    "integer": "integer", "decimal": "decimal", "range": "decimal",
    "date": "date", "today": "date",
    "datetime": "datetime", "dateTime": "datetime", "start": "datetime", "end": "datetime",
    "time": "time",
    "select_one": "select_one", "select_one_from_file": "select_one",
    "select_multiple": "select_multiple", "select_multiple_from_file": "select_multiple",
    "rank": "select_multiple",
    "geopoint": "geopoint", "start-geopoint": "geopoint",
    "text": "text", "calculate": "text", "hidden": "text", "barcode": "text",
    "deviceid": "text", "username": "text", "phonenumber": "text", "email": "text",
    "subscriberid": "text", "simserial": "text", "acknowledge": "text",
    "geotrace": "text", "geoshape": "text",
    "image": "media", "audio": "media", "video": "media", "file": "media",
    "background-audio": "media", "audit": "media",
}
SKIPPED = {"note", "begin_group", "end_group", "begin_repeat", "end_repeat", "begin_kobomatrix",
           "end_kobomatrix", "xml-external", "csv-external"}

META = {  # Kobo meta keys of the submissions table and their kinds (kept with Kobo's names)
    "_id": "id", "_uuid": "text", "_submission_time": "submission_time", "__version__": "text",
    "_validation_status": "validation", "_submitted_by": "text", "_status": "text",
    "meta/instanceID": "text", "meta/rootUuid": "text", "meta/deprecatedID": "text",
    "formhub/uuid": "text", "_xform_id_string": "text",
}
NOT_ANSWERS = set(META) | {"_attachments", "_geolocation", "_tags", "_notes", "_bamboo_dataset_id",
                           "_supplementalDetails", "meta/instanceName"}


@dataclass(frozen=True)
class Field:
    """One question: its key in the payload, its column name and what it holds."""

    xpath: str
    column: str
    kind: str
    list_name: str | None = None
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Table:
    """The submissions table (path '') or the table of one repeat (its xpath)."""

    name: str
    path: str
    parent: str | None
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class FormSchema:
    form_id: str
    asset_uid: str
    languages: tuple[str, ...]
    tables: tuple[Table, ...]
    choices: dict[str, tuple[tuple[str, dict[str, str]], ...]]

    @property
    def main(self) -> Table:
        return self.tables[0]

    def table(self, path: str) -> Table:
        return next(t for t in self.tables if t.path == path)


def safe_name(text: str) -> str:
    """A table-name part made of lower-case letters, digits and '_'."""
    return re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_") or "form"


def form_schema(form_id: str, asset: dict[str, Any]) -> FormSchema:
    """Describe the tables of ``asset`` from its ``content``."""
    content = asset.get("content") or {}
    languages = tuple(_language_code(t) for t in content.get("translations") or [None])
    main = f"submissions_{safe_name(form_id)}"
    tables: dict[str, dict[str, Any]] = {"": {"name": main, "parent": None, "fields": []}}
    stack: list[tuple[str, str]] = []  # (type, xpath) of the open groups and repeats
    used: dict[str, set[str]] = {"": set(META)}

    def current_repeat() -> str:
        for kind, path in reversed(stack):
            if kind == "repeat":
                return path
        return ""

    for row in content.get("survey") or []:
        qtype = str(row.get("type", ""))
        name = row.get("name") or row.get("$autoname")
        xpath = row.get("$xpath") or _xpath(stack, name)
        if qtype == "begin_group":
            stack.append(("group", xpath))
            continue
        if qtype == "begin_repeat":
            parent = current_repeat()
            table = f"repeat_{safe_name(form_id)}__{safe_name(name)}"
            tables[xpath] = {"name": table, "parent": tables[parent]["name"], "fields": []}
            used[xpath] = set()
            stack.append(("repeat", xpath))
            continue
        if qtype in ("end_group", "end_repeat"):
            if stack:
                stack.pop()
            continue
        if qtype in SKIPPED or not name:
            continue
        base = qtype.split(" ")[0]
        kind = KINDS.get(base, "text")
        list_name = row.get("select_from_list_name") or (qtype.split(" ")[1] if " " in qtype else None)
        owner = current_repeat()
        column = _unique(name, xpath, used[owner])
        labels = _labels(row.get("label"), languages)
        tables[owner]["fields"].append(Field(xpath, column, kind, list_name, labels))

    choices: dict[str, list[tuple[str, dict[str, str]]]] = {}
    for choice in content.get("choices") or []:
        name = choice.get("name") or choice.get("$autovalue")
        choices.setdefault(choice.get("list_name"), []).append(
            (str(name), _labels(choice.get("label"), languages)))
    return FormSchema(
        form_id=form_id,
        asset_uid=asset["uid"],
        languages=languages,
        tables=tuple(Table(t["name"], path, t["parent"], tuple(t["fields"]))
                     for path, t in tables.items()),
        choices={k: tuple(v) for k, v in choices.items()},
    )


def _xpath(stack: list[tuple[str, str]], name: str) -> str:
    return f"{stack[-1][1]}/{name}" if stack else name


def _unique(name: str, xpath: str, used: set[str]) -> str:
    """The question name as column; the group path joined by '__' when the name is taken."""
    column = name if name not in used else xpath.replace("/", "__")
    used.add(column)
    return column


def _language_code(translation: str | None) -> str:
    """'Русский (ru)' -> 'ru'; an unnamed default translation -> 'default'."""
    if not translation:
        return "default"
    match = re.search(r"\(([^)]+)\)\s*$", translation)
    return match.group(1) if match else translation


def _labels(label: Any, languages: tuple[str, ...]) -> dict[str, str]:
    if label is None:
        return {}
    if isinstance(label, str):
        return {languages[0]: label}
    return {lang: text for lang, text in zip(languages, label, strict=False) if text}
