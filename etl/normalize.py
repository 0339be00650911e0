"""What a deployed form's submissions look like as tables, read from the form's own content.

Normalisation is driven by the asset's ``content`` from the API (not by our indicator list), so it
works for any KoboToolbox form: each question becomes a typed column of the submissions table or
of the table of the repeat it sits in; select_multiple questions get one 0/1 column per choice;
geopoints are split; labels are kept per language. Submissions keep the shape of the version they
were filled in, so the columns of every deployed version are unioned (the current content wins
where versions disagree). The tables are built from the raw payloads by SQL in the warehouse
(``warehouse.staging``); this module only describes them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
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


def form_schema(form_id: str, asset: dict[str, Any],
                older_contents: Iterable[dict[str, Any]] = ()) -> FormSchema:
    """Describe the tables of ``asset`` from its ``content``, unioned with ``older_contents``
    (the content of every other deployed version, newest first).

    Submissions keep the shape of the version they were filled in, so a question that exists only
    in an older version still gets its typed column (in its repeat's table when it sat in one),
    its answers and its labels. The current content wins for a question's type, choice list and
    labels; a question, repeat or choice known only to older versions is added after the current
    ones, as the newest version that has it describes it.
    """
    contents = [asset.get("content") or {}, *(c for c in older_contents if c)]
    main = f"submissions_{safe_name(form_id)}"
    tables: dict[str, dict[str, Any]] = {"": {"name": main, "parent": None, "fields": []}}
    used: dict[str, set[str]] = {"": set(META)}  # column names per table
    table_names = {main}
    fields: set[str] = set()  # xpaths of the questions described so far
    languages: list[str] = []
    choices: dict[str, list[tuple[str, dict[str, str]]]] = {}

    for content in contents:
        langs = tuple(_language_code(t) for t in content.get("translations") or [None])
        languages += [lang for lang in langs if lang not in languages]
        for item in _rows(content):
            if item[0] == "repeat":
                _, xpath, name, parent = item
                if xpath in tables or xpath in fields or parent not in tables:
                    continue  # known already, or a question elsewhere: the newer shape wins
                table = _unique_table(f"repeat_{safe_name(form_id)}__{safe_name(name)}", xpath,
                                      form_id, table_names)
                tables[xpath] = {"name": table, "parent": tables[parent]["name"], "fields": []}
                used[xpath] = set()
                continue
            _, xpath, name, owner, kind, list_name, label = item
            if xpath in fields or xpath in tables or owner not in tables:
                continue
            fields.add(xpath)
            column = _unique(name, xpath, used[owner])
            tables[owner]["fields"].append(
                Field(xpath, column, kind, list_name, _labels(label, langs)))
        for choice in content.get("choices") or []:
            name = str(choice.get("name") or choice.get("$autovalue"))
            known = choices.setdefault(choice.get("list_name"), [])
            if all(existing != name for existing, _ in known):
                known.append((name, _labels(choice.get("label"), langs)))
    return FormSchema(
        form_id=form_id,
        asset_uid=asset["uid"],
        languages=tuple(languages),
        tables=tuple(Table(t["name"], path, t["parent"], tuple(t["fields"]))
                     for path, t in tables.items()),
        choices={k: tuple(v) for k, v in choices.items()},
    )


def _rows(content: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    """The repeats and questions of one content in order: ``("repeat", xpath, name, parent)``
    and ``("question", xpath, name, owner repeat, kind, list name, label)``."""
    stack: list[tuple[str, str]] = []  # (type, xpath) of the open groups and repeats

    def current_repeat() -> str:
        for kind, path in reversed(stack):
            if kind == "repeat":
                return path
        return ""

    for row in content.get("survey") or []:
        qtype = " ".join(str(row.get("type", "")).split())
        if qtype in ("begin group", "end group", "begin repeat", "end repeat"):
            qtype = qtype.replace(" ", "_")  # unexpanded content of older versions
        name = row.get("name") or row.get("$autoname")
        xpath = row.get("$xpath") or (_xpath(stack, name) if name else None)
        if qtype == "begin_group":
            stack.append(("group", xpath or ""))
            continue
        if qtype == "begin_repeat":
            if name:
                yield ("repeat", xpath, name, current_repeat())
            stack.append(("repeat", xpath or ""))
            continue
        if qtype in ("end_group", "end_repeat"):
            if stack:
                stack.pop()
            continue
        if qtype in SKIPPED or not name:
            continue
        base = qtype.split(" ")[0]
        list_name = row.get("select_from_list_name") or (qtype.split(" ")[1] if " " in qtype else None)
        yield ("question", xpath, name, current_repeat(), KINDS.get(base, "text"), list_name,
               row.get("label"))


def _unique_table(name: str, xpath: str, form_id: str, taken: set[str]) -> str:
    """A repeat's table name; the repeat's path joined by '__' when another repeat has the name."""
    if name in taken:
        name = f"repeat_{safe_name(form_id)}__{safe_name(xpath.replace('/', '__'))}"
    while name in taken:
        name += "_"
    taken.add(name)
    return name


def _xpath(stack: list[tuple[str, str]], name: str) -> str:
    return f"{stack[-1][1]}/{name}" if stack and stack[-1][1] else name


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
