"""What a form's clean-data workbook holds, read from the warehouse: its sheets, their columns
in KoboToolbox's order with their headers, and the queries of their rows (``reports.data_export``
writes them). The layout is that of KoboToolbox's own XLS export (formpack's ``Export.to_xlsx``
as kpi calls it), so MEL staff find what they know:

- one sheet per section: the submissions first, named after the form's title (cut as Kobo cuts
  it: 28 characters and "..."), then one per repeat, named after the repeat, in the form's order;
- the questions in the form's order; a select_multiple as its answer, then one 0/1 column per
  choice (``question/choice``); a geopoint as its answer, then ``_q_latitude``, ``_q_longitude``,
  ``_q_altitude``, ``_q_precision``;
- the meta columns last: ``_id, _uuid, _submission_time, _validation_status, _notes, _status,
  _submitted_by, __version__, _tags, _index`` on the submissions sheet; on a repeat's sheet
  ``_index, _parent_table_name, _parent_index`` and the submission's meta as ``_submission__id``,
  ``_submission__uuid``, … ``_submission__tags``;
- labels (the default) are Kobo's "Labels" export in the chosen language: headers are the
  question labels (``label/choice label`` for a choice's column), select answers and the
  validation status their labels; codes are Kobo's "XML values and headers": question names and
  the codes as sent. A question or choice without a label in that language shows its name.

Where the workbook differs from Kobo's, on purpose: ``_index`` is the warehouse's stable index
(a submission's ``_id``; a repeat instance's is made from its submission's ``_id``), not a row
counter, so the links hold across exports and match the warehouse's tables; ``_parent_table_name``
names the parent's sheet as written, so a script finds it; numbers, dates and times are Excel
numbers and dates (Kobo writes them as text by default): start/end and other date-times in the
study's time zone, ``_submission_time`` in UTC as the server stores it.

Clean data: the citizen interviews used in the scores (``fct_interviews.used``), the LSG
assessments and focus-group sessions the scores use (``stg_assessments`` and
``stg_focus_groups`` with no ``excluded_reason``); for any other form, and for a study form whose
scores were not built yet, every live submission a supervisor did not reject. A submission synced
after the last scoring is left out as "not scored yet". A left-out submission's repeat rows are
left out with it.

Personal data (left out unless ``include_personal``): the questions the study definition lists
under ``personal:`` (people's names, free text that may name them, recordings of voices) and, in
any form, every location (geopoint, geotrace, geoshape) and phone identity (deviceid,
phonenumber, subscriberid, simserial, username, email).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb

from aimak.errors import ConfigError
from forms.definition import Definition
from reports.texts import LANGUAGES, T, tr
from reports.workbook import SheetNames
from warehouse.payloads import ID_SPAN, LAST_META, META_COLUMNS, lit, q
from warehouse.personal import personal_questions
from warehouse.sources import CITIZEN, FOCUS_GROUP, LSG, STUDY_FORMS, form_tables, study_asset

EXCLUDED, RAW = "aimak_data_excluded", "aimak_data_raw"  # temporary tables while a workbook is written
KOBO_SHEET_NAME = 31  # Kobo cuts a longer title to 28 characters and "..."
GEO_PARTS = (("latitude", "latitude"), ("longitude", "longitude"), ("altitude", "altitude"),
             ("accuracy", "precision"))  # warehouse column suffix -> Kobo's
MAIN_RESERVED = {"_index", "_id", "_validation_status", *(c for _k, c, _t in META_COLUMNS + LAST_META)}
REPEAT_RESERVED = {"_index", "_parent_index", "_parent_table_name", "_submission__id"}
# the submission's meta columns in Kobo's order (_notes and _tags from the raw payload)
META = ("_id", "_uuid", "_submission_time", "_validation_status", "_notes", "_status",
        "_submitted_by", "__version__", "_tags")
STATUSES = ("validation_status_approved", "validation_status_not_approved",
            "validation_status_on_hold")
NUMBER_TYPES = ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER",
                "USMALLINT", "UTINYINT")

STATUS_TEXTS = {
    # KoboToolbox's validation statuses
    "validation_status_approved": T("Одобрено", "Бекитилди", "Approved"),
    "validation_status_not_approved": T("Не одобрено", "Бекитилген жок", "Not approved"),
    "validation_status_on_hold": T("На рассмотрении", "Каралууда", "On hold"),
}


@dataclass(frozen=True)
class Form:
    """A synced form (one asset) and the tables of its sections, submissions first."""

    asset_uid: str
    form_id: str
    title: str
    sections: tuple[tuple[str, str], ...]  # (repeat path, table); ('', submissions table) first

    @property
    def main(self) -> str:
        return self.sections[0][1]

    @property
    def file_name(self) -> str:
        """``data_<form_id>.xlsx``; a second asset with the same form id (a cloned project) gets
        its tables' suffix, as in ``submissions_<form_id>_<uid>``."""
        return f"data_{self.main.removeprefix('submissions_')}.xlsx"


@dataclass(frozen=True)
class Out:
    """One column of a sheet: its header, the SQL of its value, how it is written, and the
    labels its codes are shown as (``multiple``: several codes, space-separated)."""

    header: str
    sql: str
    kind: str  # a reports.workbook Column kind
    labels: dict[str, str] | None = None
    multiple: bool = False


def synced_forms(conn: duckdb.DuckDBPyConnection, definition: Definition, lang: str,
                 forms: Iterable[str] | None = None) -> list[Form]:
    """The synced forms among ``forms`` (by default the study's), the study's first."""
    if lang not in LANGUAGES:
        raise ConfigError(f"unknown language {lang!r} for the data workbooks. Fix: use one of "
                          f"{', '.join(LANGUAGES)} (AIMAK_LANG or --lang).")
    wanted = set(STUDY_FORMS if forms is None else forms)
    order = {form_id: i for i, form_id in enumerate(STUDY_FORMS)}
    found = []
    for form_id in sorted(wanted, key=lambda f: (order.get(f, len(order)), f)):
        uids = [study_asset(conn, form_id)] if form_id in STUDY_FORMS else [
            row[0] for row in conn.execute(
                "SELECT asset_uid FROM forms WHERE form_id = ? ORDER BY asset_uid", [form_id]).fetchall()]
        for uid in uids:
            tables = form_tables(conn, uid)
            if uid is None or "" not in tables:
                continue
            content, name = _content(conn, uid)
            title = (definition.texts[f"form_{form_id}"].get(lang)
                     if f"form_{form_id}" in definition.texts else name or form_id)
            found.append(Form(uid, form_id, title, _sections(tables, content)))
    return found


@dataclass(frozen=True)
class SheetPlan:
    """One sheet of a data workbook: its name, its columns, and where its rows come from
    (``source``: FROM … WHERE, the section's table as ``t``), read in ranges of ``_index``
    (``narrow``: a condition on the range ``$lo``-``$hi`` that lets DuckDB skip the rest)."""

    name: str
    columns: tuple[Out, ...]
    source: str
    narrow: str = ""

    @property
    def sql(self) -> str:
        """Every row, in ``_index`` order."""
        return f"SELECT {', '.join(c.sql for c in self.columns)} {self.source} ORDER BY t._index"

    @property
    def keys_sql(self) -> str:
        return f"SELECT t._index {self.source} ORDER BY t._index"

    @property
    def range_sql(self) -> str:
        return (f"SELECT {', '.join(c.sql for c in self.columns)} {self.source} "
                f"AND t._index BETWEEN $lo AND $hi {self.narrow} ORDER BY t._index")

    def decode(self, rows: list[tuple]) -> list[Sequence]:
        """The rows with each code of a labelled column as its label (an unknown code as
        sent). Done here, not in SQL: a CASE of every village and enumerator in each query
        costs DuckDB more to plan than the lookups cost Python."""
        coded = [(j, c.labels, c.multiple) for j, c in enumerate(self.columns) if c.labels]
        if not coded:
            return rows
        out: list[Sequence] = []
        for values in rows:
            row = list(values)
            for j, labels, multiple in coded:
                code = row[j]
                if code is not None:
                    row[j] = (" ".join(labels.get(c, c) for c in code.split()) if multiple
                              else labels.get(code, code))
            out.append(row)
        return out


@dataclass(frozen=True)
class DataPlan:
    """A data workbook: its sheets (submissions first, then each repeat), the personal
    questions left out (or, with ``include_personal``, written), and the statements that make
    (``setup``) and drop (``teardown``) the temporary tables its queries read: the left-out
    submissions (``_id``, ``reason``) and the notes and tags of the others."""

    form: Form
    sheets: tuple[SheetPlan, ...]
    personal: tuple[str, ...]
    setup: tuple[str, ...]
    teardown: tuple[str, ...] = (f"DROP TABLE IF EXISTS {EXCLUDED}", f"DROP TABLE IF EXISTS {RAW}")


def plan_workbook(conn: duckdb.DuckDBPyConnection, definition: Definition, form: Form,
                  lang: str = "ru", *, include_personal: bool = False, codes: bool = False,
                  sheet_name: Callable[[str], str] | None = None) -> DataPlan:
    """What the form's data workbook holds (see the module docstring); ``sheet_name`` makes a
    valid, unique sheet name of a wanted one (the writing book's own)."""
    sheet_name = sheet_name or SheetNames()
    labels = _labels(conn, form.asset_uid, lang)
    content, _name = _content(conn, form.asset_uid)
    personal = personal_questions(definition, form.form_id, content)
    tz = definition.quality.time_zone
    sheets: list[SheetPlan] = []
    names: dict[str, str] = {}
    found: list[str] = []
    main = q(form.main)
    for repeat_path, table in form.sections:
        name = sheet_name(_kobo_sheet_name(
            form.title if repeat_path == "" else repeat_path.rsplit("/", 1)[-1]))
        names[repeat_path] = name
        questions, personal_here = _question_columns(conn, table, labels, repeat_path, personal,
                                                     include_personal, codes, tz)
        found += [c for c in personal_here if c not in found]
        if repeat_path == "":
            columns = questions + _main_meta(conn, table, lang, codes)
            sheets.append(SheetPlan(name, tuple(columns), f"""
                FROM {main} t LEFT JOIN {RAW} r ON r._id = t._id
                WHERE t._id NOT IN (SELECT _id FROM {EXCLUDED})"""))
        else:
            parent = _parent(repeat_path, [p for p, _t in form.sections])
            columns = questions + _repeat_meta(conn, form.main, names[parent], lang, codes)
            sheets.append(SheetPlan(name, tuple(columns), f"""
                FROM {q(table)} t JOIN {main} m ON m._id = t._submission__id
                LEFT JOIN {RAW} r ON r._id = m._id
                WHERE t._submission__id NOT IN (SELECT _id FROM {EXCLUDED})""",
                f"AND m._id BETWEEN $lo // {ID_SPAN} AND $hi // {ID_SPAN}"))
    setup = (f"CREATE OR REPLACE TEMP TABLE {EXCLUDED} AS {_excluded_sql(conn, form)}",
             f"CREATE OR REPLACE TEMP TABLE {RAW} AS {_raw_sql(form)}")
    return DataPlan(form, tuple(sheets), tuple(sorted(found)), setup)


@contextmanager
def prepared(conn: duckdb.DuckDBPyConnection, plan: DataPlan) -> Iterator[DataPlan]:
    """The plan's temporary tables, made for the time its queries run."""
    for statement in plan.setup:
        conn.execute(statement)
    try:
        yield plan
    finally:
        for statement in plan.teardown:
            conn.execute(statement)


# --- what the form is ------------------------------------------------------------------------

def _content(conn: duckdb.DuckDBPyConnection, asset_uid: str) -> tuple[dict, str | None]:
    row = conn.execute("SELECT CAST(content AS VARCHAR), name FROM forms WHERE asset_uid = ?",
                       [asset_uid]).fetchone()
    return (json.loads(row[0] or "{}"), row[1]) if row else ({}, None)


def _sections(tables: dict[str, str], content: dict) -> tuple[tuple[str, str], ...]:
    """('', submissions table) then each repeat's (path, table) in the form's order (a repeat
    the current form no longer has after the others); a table known under two paths (a repeat
    moved between versions) once."""
    order = [row.get("$xpath") for row in content.get("survey") or []
             if str(row.get("type", "")).replace(" ", "_") in ("begin_repeat", "begin_lgroup")]
    rank = {path: i for i, path in enumerate(order) if path}
    seen, sections = set(), []
    for path, table in sorted(tables.items(), key=lambda pt: (pt[0] != "", rank.get(pt[0], len(rank)), pt[0])):
        if table not in seen and not path.startswith("?"):
            seen.add(table)
            sections.append((path, table))
    return tuple(sections)


def _parent(path: str, paths: list[str]) -> str:
    """The section a repeat sits in: the longest other section path it starts with."""
    return max((p for p in paths if p and path.startswith(p + "/")), key=len, default="")


def _kobo_sheet_name(name: str) -> str:
    return name if len(name) <= KOBO_SHEET_NAME else name[:KOBO_SHEET_NAME - 3] + "..."


Labels = dict[tuple[str, str], tuple[str | None, dict[str, str]]]  # see _labels


def _labels(conn: duckdb.DuckDBPyConnection, asset_uid: str, lang: str) -> Labels:
    """(repeat path, question) -> its label and its choices' labels in ``lang``, else in the
    form's untranslated language, else in any language it has."""
    labels: Labels = {}
    for path, question, choice, label in conn.execute("""
            SELECT repeat_path, question, choice, label FROM labels WHERE asset_uid = ?
            ORDER BY language = ? DESC, language = 'default' DESC, language""",
            [asset_uid, lang]).fetchall():
        own, choices = labels.get((path or "", question), (None, {}))
        if choice is None:
            own = own or label
        else:
            choices.setdefault(choice, label)
        labels[(path or "", question)] = (own, choices)
    return labels


def _columns_of(conn: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    return conn.execute("""
        SELECT column_name, data_type FROM duckdb_columns()
        WHERE table_name = ? AND database_name = current_database() AND schema_name = 'main'
        ORDER BY column_index""", [table]).fetchall()


def _question_columns(conn: duckdb.DuckDBPyConnection, table: str, labels: Labels, path: str,
                      personal: set[str], include_personal: bool, codes: bool,
                      tz: str) -> tuple[list[Out], list[str]]:
    """The question columns of a section in the table's (the form's) order, and its personal
    questions (left out unless ``include_personal``)."""
    columns = _columns_of(conn, table)
    types = dict(columns)
    reserved = MAIN_RESERVED if path == "" else REPEAT_RESERVED
    splits: dict[str, list[str]] = {}
    for name, kind in columns:
        question, _slash, choice = name.partition("/")
        if choice and kind == "INTEGER" and types.get(question) == "VARCHAR":
            splits.setdefault(question, []).append(choice)
    geo = {name for name, kind in columns if kind == "VARCHAR"
           and all(types.get(f"{name}_{part}") == "DOUBLE" for part, _k in GEO_PARTS)}
    derived = {f"{question}/{c}" for question, choices in splits.items() for c in choices} | {
        f"{g}_{part}" for g in geo for part, _k in GEO_PARTS}
    out: list[Out] = []
    dropped: list[str] = []
    for name, kind in columns:
        if name in reserved or name in derived:
            continue
        if name in personal or name in geo:
            dropped.append(name)
            if not include_personal:
                continue
        own, choices = labels.get((path, name), (None, {}))
        label = name if codes else own or name
        shown = choices if choices and not codes else None
        if name in splits:
            out.append(Out(label, f"t.{q(name)}", "text", shown, multiple=True))
            for choice in splits[name]:
                head = f"{name}/{choice}" if codes else f"{label}/{choices.get(choice, choice)}"
                out.append(Out(head, f"t.{q(f'{name}/{choice}')}", "num"))
        elif shown and kind == "VARCHAR":
            out.append(Out(label, f"t.{q(name)}", "text", shown))
        else:
            out.append(Out(label, *_typed(f"t.{q(name)}", kind, tz)))
        if name in geo:
            out += [Out(f"_{label}_{kobo}", f"t.{q(f'{name}_{part}')}", "num")
                    for part, kobo in GEO_PARTS]
    return out, dropped


def _typed(expr: str, kind: str, tz: str) -> tuple[str, str]:
    """(SQL, column kind) of a value as Excel should hold it."""
    if kind in NUMBER_TYPES:
        return expr, "num"
    if kind in ("DOUBLE", "FLOAT", "REAL") or kind.startswith("DECIMAL"):
        return f"CAST({expr} AS DOUBLE)", "num"
    if kind == "BOOLEAN":
        return f"CAST({expr} AS INTEGER)", "num"
    if kind == "DATE":
        return expr, "date"
    if kind == "TIMESTAMP WITH TIME ZONE":
        return f"timezone({lit(tz)}, {expr})", "datetime"
    if kind.startswith("TIMESTAMP"):
        return f"CAST({expr} AS TIMESTAMP)", "datetime"
    if kind.startswith("TIME"):
        return f"CAST({expr} AS TIME)", "time"
    if kind == "VARCHAR":
        return expr, "text"
    return f"CAST({expr} AS VARCHAR)", "text"


# --- meta columns and rows --------------------------------------------------------------------

def _meta(conn: duckdb.DuckDBPyConnection, table: str, alias: str, lang: str, codes: bool,
          prefix: str = "") -> list[Out]:
    """The submission's meta columns in Kobo's order (names after ``prefix``), read from
    ``alias`` (the submissions table) and ``r`` (notes and tags); a column the table lacks is
    empty."""
    have = {name for name, _k in _columns_of(conn, table)}
    kinds = {"_id": "id", "_submission_time": "datetime"}
    statuses = None if codes else {uid: tr(uid, lang, STATUS_TEXTS) for uid in STATUSES}
    out = []
    for name in META:
        sql = (f"r.{name.strip('_')}" if name in ("_notes", "_tags") else
               f"{alias}.{q(name)}" if name in have else "CAST(NULL AS VARCHAR)")
        out.append(Out(prefix + name, sql, kinds.get(name, "text"),
                       statuses if name == "_validation_status" else None))
    return out


def _main_meta(conn: duckdb.DuckDBPyConnection, table: str, lang: str, codes: bool) -> list[Out]:
    return [*_meta(conn, table, "t", lang, codes), Out("_index", "t._index", "id")]


def _repeat_meta(conn: duckdb.DuckDBPyConnection, main: str, parent_sheet: str, lang: str,
                 codes: bool) -> list[Out]:
    return [Out("_index", "t._index", "id"), Out("_parent_table_name", lit(parent_sheet), "text"),
            Out("_parent_index", "t._parent_index", "id"),
            *_meta(conn, main, "m", lang, codes, prefix="_submission_")]


def _raw_sql(form: Form) -> str:
    """The notes and tags of the live submissions that have any, from their payloads (servers
    before KoboToolbox 2.026.22 send them; newer ones do not, and the columns stay empty)."""
    return f"""SELECT * FROM (
        SELECT _id,
            nullif(array_to_string(json_extract_string(payload, '$._tags[*]'), ', '), '') AS tags,
            nullif(array_to_string(json_extract_string(payload, '$._notes[*].note'), '; '), '')
                AS notes
        FROM raw_submissions
        WHERE asset_uid = {lit(form.asset_uid)} AND superseded_at IS NULL AND deleted_at IS NULL)
        WHERE tags IS NOT NULL OR notes IS NOT NULL"""


def _excluded_sql(conn: duckdb.DuckDBPyConnection, form: Form) -> str:
    """A query of (_id, reason) of every submission of the form left out of the clean data."""
    relations = {row[0] for row in conn.execute(
        "SELECT table_name FROM duckdb_tables() UNION ALL SELECT view_name FROM duckdb_views()"
    ).fetchall()}
    mart = {CITIZEN: ("fct_interviews", "NOT f.used"),
            LSG: ("stg_assessments", "f.excluded_reason IS NOT NULL"),
            FOCUS_GROUP: ("stg_focus_groups", "f.excluded_reason IS NOT NULL")}.get(form.form_id)
    main = q(form.main)
    if mart and mart[0] in relations and study_asset(conn, form.form_id) == form.asset_uid:
        return f"""SELECT t._id, CASE WHEN f.submission_id IS NULL THEN 'not_scored'
                                      ELSE f.excluded_reason END AS reason
                   FROM {main} t LEFT JOIN {mart[0]} f ON f.submission_id = t._id
                   WHERE f.submission_id IS NULL OR {mart[1]}"""
    return f"""SELECT _id, 'not_approved' AS reason FROM {main}
               WHERE _validation_status = 'validation_status_not_approved'"""
