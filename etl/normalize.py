"""What a deployed form's submissions look like as tables, read from the form's own content.

Normalisation is driven by the asset's ``content`` from the API (not by our indicator list), so it
works for any KoboToolbox form: each question becomes a typed column of the submissions table or
of the table of the repeat it sits in; select_multiple questions get one 0/1 column per choice;
geopoints are split; labels are kept per language. Question types are read as pyxform reads them,
legacy spellings included (``int``, ``string``, ``select all that apply``, ``begin lgroup``).

Submissions keep the shape of the version they were filled in, so the questions of every deployed
version are unioned (the current content wins where versions disagree). Like KoboToolbox's own
export, a question is known by its name within its table (the submissions table or one repeat):
a question that moved into or out of a group between versions stays one column, read from
whichever path a submission used. Two questions that only share a name (different types, or both
present in one version) are kept apart, and a :class:`Note` says so.

The tables are named and built from the raw payloads by SQL in the warehouse
(``warehouse.names``, ``warehouse.staging``); this module only describes them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from etl.xlsform_types import tables

SKIPPED = {"xml-external", "csv-external", "begin_kobomatrix", "end_kobomatrix"}  # hold no answer
TYPES = tables()  # pyxform's type tables (etl/xlsform_types.py): notes are 'skip'
_CONTROL = re.compile(r"^(begin|end)[ _](" + "|".join(map(re.escape, TYPES["containers"])) + r")$")
_SELECT = re.compile(r"^(?P<command>" + "|".join(
    re.escape(a) for a in sorted(TYPES["selects"], key=len, reverse=True)) + r")(?:\s+(?P<list>\S+))?$")
_OR_OTHER = re.compile(r"(?:\s+(?:or_other|or other|or specify other)|_or_other)$")

# the columns warehouse.staging gives every submissions table and every repeat table: a question
# never takes their names (tests/test_staging.py checks the two lists agree)
MAIN_COLUMNS = ("_index", "_id", "_uuid", "_submission_time", "__version__", "_submitted_by",
                "_status", "_instance_id", "_root_uuid", "_formhub_uuid", "_deprecated_id",
                "_validation_status")
REPEAT_COLUMNS = ("_index", "_parent_index", "_parent_table_name", "_submission__id")
GEOPOINT_PARTS = ("latitude", "longitude", "altitude", "accuracy")  # columns '<question>_<part>'


@dataclass(frozen=True)
class Field:
    """One question: its key in the payload (``xpath``, as the newest version that has it puts
    it), its column name and what it holds; ``other_keys`` are the paths older versions used
    (the question sat in another group)."""

    xpath: str
    column: str
    kind: str
    list_name: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    other_keys: tuple[str, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.xpath, *self.other_keys)


@dataclass(frozen=True)
class Table:
    """The submissions table (path '') or the table of one repeat (its xpath; ``other_paths``:
    where older versions put the same repeat). ``parent`` is the parent table's path; ``name``
    is given by the warehouse (``warehouse.names``), empty until then."""

    path: str
    parent: str | None
    fields: tuple[Field, ...]
    other_paths: tuple[str, ...] = ()
    name: str = ""

    @property
    def paths(self) -> tuple[str, ...]:
        return (self.path, *self.other_paths)


@dataclass(frozen=True)
class Note:
    """Two questions of one table that share a name but are different questions."""

    path: str  # the table's path ('' for the submissions table)
    question: str
    columns: tuple[str, ...]
    reason: str

    def text(self) -> str:
        where = f" of repeat '{self.path}'" if self.path else ""
        columns = " and ".join(f"'{c}'" for c in self.columns)
        return (f"question '{self.question}'{where} is two different questions ({self.reason}): "
                f"kept apart as columns {columns}")


@dataclass(frozen=True)
class FormSchema:
    form_id: str
    asset_uid: str
    languages: tuple[str, ...]
    tables: tuple[Table, ...]
    choices: dict[str, tuple[tuple[str, dict[str, str]], ...]]
    notes: tuple[Note, ...] = ()

    @property
    def main(self) -> Table:
        return self.tables[0]

    def table(self, path: str) -> Table:
        return next(t for t in self.tables if path in t.paths)

    def children(self, table: Table) -> list[Table]:
        return [t for t in self.tables if t.parent == table.path]


@dataclass(frozen=True)
class Question:
    """One question row of one version's content, read."""

    xpath: str
    name: str
    owner: str  # path of the repeat it sits in ('' for none)
    kind: str
    list_name: str | None
    label: Any


@dataclass(frozen=True)
class Repeat:
    xpath: str
    name: str
    parent: str


@dataclass
class _Draft:
    """A table being described: its paths, its parent's path, its questions and used columns."""

    paths: list[str]
    parent: str | None
    name: str
    fields: list[dict[str, Any]] = field(default_factory=list)
    used: set[str] = field(default_factory=set)  # column names, lower case (DuckDB ignores case)


def form_schema(form_id: str, asset: dict[str, Any],
                older_contents: Iterable[dict[str, Any]] = ()) -> FormSchema:
    """Describe the tables of ``asset`` from its ``content``, unioned with ``older_contents``
    (the content of every other deployed version, newest first).

    The current content wins for a question's type, choice list and labels; a question, repeat
    or choice known only to older versions is added after the current ones, as the newest version
    that has it describes it.
    """
    contents = [asset.get("content") or {}, *(c for c in older_contents if c)]
    tables: dict[str, _Draft] = {"": _Draft([""], None, "", used=set(MAIN_COLUMNS))}
    by_path = {"": ""}  # every repeat path of every version -> its table's (first) path
    by_key: dict[str, dict[str, Any]] = {}  # every payload key of a question -> its field
    languages: list[str] = []
    choices: dict[str, list[tuple[str, dict[str, str]]]] = {}
    notes: list[Note] = []

    for content in contents:
        langs = tuple(_language_code(t) for t in content.get("translations") or [None])
        languages += [lang for lang in langs if lang not in languages]
        items = list(_rows(content))
        paths = {i.xpath for i in items if isinstance(i, Repeat)}
        keys = {i.xpath for i in items if isinstance(i, Question)}
        twice = {k for k, n in Counter((i.owner, i.name) for i in items
                                       if isinstance(i, Question)).items() if n > 1}
        here = {"": ""}  # this version's repeat paths -> table
        for item in items:
            if isinstance(item, Repeat):
                parent = here.get(item.parent)
                if parent is None or item.xpath in by_key:
                    continue  # inside a repeat that was skipped, or a question elsewhere
                table = by_path.get(item.xpath) or _same_repeat(tables, parent, item.name, paths)
                if table is None:
                    table = item.xpath
                    tables[table] = _Draft([item.xpath], parent, item.name, used=set(REPEAT_COLUMNS))
                elif item.xpath not in tables[table].paths:
                    tables[table].paths.append(item.xpath)
                by_path[item.xpath] = here[item.xpath] = table
                continue
            owner = here.get(item.owner)
            if owner is None or item.xpath in by_key or item.xpath in by_path:
                continue  # known already: the newer description wins
            draft = tables[owner]
            same = [f for f in draft.fields if f["name"] == item.name]
            if len(same) == 1 and same[0]["kind"] == item.kind and (owner, item.name) not in twice \
                    and not keys & set(same[0]["keys"]):
                same[0]["keys"].append(item.xpath)  # moved into or out of a group: one question
                by_key[item.xpath] = same[0]
                continue
            new = {"name": item.name, "keys": [item.xpath], "kind": item.kind,
                   "column": _column(item.name, item.xpath, draft.used),
                   "list_name": item.list_name, "labels": _labels(item.label, langs)}
            draft.fields.append(new)
            if item.kind == "geopoint":  # its split columns are taken too
                draft.used.update(f"{new['column']}_{part}".lower() for part in GEOPOINT_PARTS)
            by_key[item.xpath] = new
            if same:
                notes.append(Note(owner, item.name, (same[0]["column"], new["column"]),
                                  _why(same[0], new, (owner, item.name) in twice)))
        _add_choices(choices, content, langs)

    return FormSchema(
        form_id=form_id,
        asset_uid=asset["uid"],
        languages=tuple(languages),
        tables=tuple(Table(path, t.parent, tuple(
            Field(f["keys"][0], f["column"], f["kind"], f["list_name"], f["labels"], tuple(f["keys"][1:]))
            for f in t.fields), tuple(t.paths[1:])) for path, t in tables.items()),
        choices={k: tuple(v) for k, v in choices.items()},
        notes=tuple(notes),
    )


def question_type(row: dict[str, Any]) -> tuple[str, str | None, bool]:
    """A survey row's (kind, choice list, or_other), read as pyxform reads its type.

    The kind is ``begin_group``, ``end_group``, ``begin_repeat``, ``end_repeat``, ``skip`` (a
    row that holds no answer) or a column kind (``integer``, ``select_one``, …; ``text`` for a
    type nobody knows). Legacy names are typed like their modern ones: ``int`` as ``integer``,
    ``select all that apply x`` as ``select_multiple``, ``begin lgroup`` as a repeat.
    """
    raw = row.get("type")
    if isinstance(raw, dict) and raw:  # formpack's legacy {'select_one': 'list'}
        command, list_name = next(iter(raw.items()))
        raw = f"{command} {list_name}"
    qtype = " ".join(str(raw or "").split())
    other = bool(row.get("_or_other"))
    match = _OR_OTHER.search(qtype)
    if match:
        qtype, other = qtype[: match.start()], True
    control = _CONTROL.match(qtype)
    if control:
        return f"{control[1]}_{TYPES['containers'][control[2]]}", None, False
    select = _SELECT.match(qtype)
    if select:
        kind = TYPES["selects"][select["command"]]
        return kind, row.get("select_from_list_name") or select["list"], other
    if qtype in SKIPPED:
        return "skip", None, False
    return TYPES["kinds"].get(qtype, "text"), None, False


def _rows(content: dict[str, Any]) -> Iterator[Question | Repeat]:
    """The repeats and questions of one content, in order. An ``or_other`` select brings the
    text question ``<name>_other`` that pyxform adds beside it; an ``audit`` is read where
    pyxform puts it, ``meta/audit``, whatever its ``$xpath`` says."""
    stack: list[tuple[str, str]] = []  # (group or repeat, xpath) of the open containers

    def current_repeat() -> str:
        return next((path for kind, path in reversed(stack) if kind == "repeat"), "")

    for row in content.get("survey") or []:
        kind, list_name, or_other = question_type(row)
        name = row.get("$autoname") or row.get("name")
        xpath = row.get("$xpath") or (_xpath(stack, name) if name else None)
        if kind in ("begin_group", "begin_repeat"):
            if kind == "begin_repeat" and name:
                yield Repeat(xpath, name, current_repeat())
            stack.append((kind.removeprefix("begin_"), xpath or ""))
            continue
        if kind in ("end_group", "end_repeat"):
            if stack:
                stack.pop()
            continue
        if kind == "skip" or not name:
            continue
        if str(row.get("type")) == "audit":
            xpath = "meta/audit"
        yield Question(xpath, name, current_repeat(), kind, list_name, row.get("label"))
        if or_other:
            yield Question(f"{xpath}_other", f"{name}_other", current_repeat(), "text", None, None)


def _same_repeat(tables: dict[str, _Draft], parent: str, name: str, paths: set[str]) -> str | None:
    """The table of a repeat with this name and parent that this version does not have under
    another path: the same repeat, moved into or out of a group."""
    same = [key for key, t in tables.items()
            if t.parent == parent and t.name == name and not paths & set(t.paths)]
    return same[0] if len(same) == 1 else None


def _why(known: dict[str, Any], new: dict[str, Any], twice: bool) -> str:
    first, second = known["keys"][0], new["keys"][0]
    if twice:
        return f"'{first}' and '{second}' are both in one version"
    return f"'{first}' is {known['kind']}, '{second}' is {new['kind']}"


def _add_choices(choices: dict[str, list[tuple[str, dict[str, str]]]], content: dict[str, Any],
                 langs: tuple[str, ...]) -> None:
    """Union the content's choices into ``choices`` (the newer label wins); a list used by an
    ``or_other`` select gets pyxform's ``other`` choice."""
    for choice in content.get("choices") or []:
        name = str(choice.get("name") or choice.get("$autovalue"))
        known = choices.setdefault(choice.get("list_name"), [])
        if all(existing != name for existing, _ in known):
            known.append((name, _labels(choice.get("label"), langs)))
    for row in content.get("survey") or []:
        _kind_, list_name, or_other = question_type(row)
        other = TYPES["or_other"]["name"]
        if or_other and list_name and all(c != other for c, _ in choices.setdefault(list_name, [])):
            choices[list_name].append((other, dict.fromkeys(langs, TYPES["or_other"]["label"])))


def _xpath(stack: list[tuple[str, str]], name: str) -> str:
    return f"{stack[-1][1]}/{name}" if stack and stack[-1][1] else name


def _column(name: str, xpath: str, used: set[str]) -> str:
    """The question name as column; when another column of the table has it (DuckDB compares
    names without case), the group path joined by '__', then a number."""
    candidates = [name, xpath.replace("/", "__")]
    column = next((c for c in candidates if c.lower() not in used), None)
    n = 2
    while column is None:
        column = f"{name}__{n}" if f"{name}__{n}".lower() not in used else None
        n += 1
    used.add(column.lower())
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
