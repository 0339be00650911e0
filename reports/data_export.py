"""The clean data of each form, ``data_<form>.xlsx``, laid out as KoboToolbox's own XLS export
lays it out (formpack's ``Export.to_xlsx`` as kpi calls it), so MEL staff find what they know:

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
study's time zone, ``_submission_time`` in UTC as the server stores it; a last sheet says which
submissions are left out and why, and which personal columns are left out.

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

Rows are read from DuckDB in batches and written by xlsxwriter in constant memory, so a workbook
of any size needs the same memory; values (labels, time zones) are computed inside DuckDB.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
from xlsxwriter.exceptions import FileCreateError

from aimak.errors import ConfigError
from forms.definition import Definition
from reports.texts import LANGUAGES, T, tr
from reports.workbook import Book, Column, SheetNames
from warehouse.payloads import ID_SPAN, LAST_META, META_COLUMNS, lit, q
from warehouse.sources import CITIZEN, FOCUS_GROUP, LSG, STUDY_FORMS, form_tables, study_asset

BATCH = 2000  # rows fetched from DuckDB at a time
EXCLUDED, RAW = "aimak_data_excluded", "aimak_data_raw"  # temporary tables while a workbook is written
KOBO_SHEET_NAME = 31  # Kobo cuts a longer title to 28 characters and "..."
GEO_PARTS = (("latitude", "latitude"), ("longitude", "longitude"), ("altitude", "altitude"),
             ("accuracy", "precision"))  # warehouse column suffix -> Kobo's
# question types whose answers are personal in any form: where a person is, which phone they hold
PERSONAL_TYPES = {"geopoint", "geotrace", "geoshape", "start-geopoint", "deviceid", "phonenumber",
                  "subscriberid", "simserial", "username", "email"}
MAIN_RESERVED = {"_index", "_id", "_validation_status", *(c for _k, c, _t in META_COLUMNS + LAST_META)}
REPEAT_RESERVED = {"_index", "_parent_index", "_parent_table_name", "_submission__id"}
# the submission's meta columns in Kobo's order (``None``: from the raw payload)
META = ("_id", "_uuid", "_submission_time", "_validation_status", "_notes", "_status",
        "_submitted_by", "__version__", "_tags")
STATUSES = ("validation_status_approved", "validation_status_not_approved",
            "validation_status_on_hold")
NUMBER_TYPES = ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER",
                "USMALLINT", "UTINYINT")

TEXTS = {
    "notes_sheet": T("Примечания", "Эскертүүлөр", "Notes"),
    "notes_title": T("{form}: очищенные данные", "{form}: тазаланган маалымат",
                     "{form}: clean data"),
    "notes_rows": T(
        "Анкет в этой книге: {kept}; не вошли: {left} (перечислены ниже с причиной; их строки "
        "в повторяющихся группах тоже не вошли).",
        "Бул китептеги анкеталар: {kept}; кирбегендер: {left} (төмөндө себеби менен "
        "көрсөтүлгөн; алардын кайталануучу топтордогу саптары да кирген жок).",
        "Submissions in this workbook: {kept}; left out: {left} (listed below with the reason; "
        "their rows in repeat groups are left out too)."),
    "notes_personal_out": T(
        "Персональные данные не включены: {columns}. Чтобы включить: aimak report "
        "--include-personal.",
        "Жеке маалыматтар киргизилген жок: {columns}. Киргизүү үчүн: aimak report "
        "--include-personal.",
        "Personal data left out: {columns}. To include it: aimak report --include-personal."),
    "notes_personal_none": T("Персональных данных в этой форме нет.",
                             "Бул формада жеке маалымат жок.",
                             "This form holds no personal data."),
    "notes_personal_in": T(
        "ВКЛЮЧЕНЫ персональные данные ({columns}): храните и передавайте книгу по правилам "
        "защиты персональных данных.",
        "Жеке маалыматтар КИРГИЗИЛДИ ({columns}): китепти жеке маалыматтарды коргоо эрежелери "
        "боюнча сактаңыз жана бериңиз.",
        "Personal data INCLUDED ({columns}): keep and share this workbook under the "
        "data-protection rules."),
    "notes_labels": T(
        "Заголовки и ответы — подписи на русском языке, как в выгрузке KoboToolbox «Labels».",
        "Баш саптар жана жооптор — кыргыз тилиндеги белгилер, KoboToolbox «Labels» "
        "экспортундагыдай.",
        "Headers and answers are the English labels, as in KoboToolbox's \"Labels\" export."),
    "notes_codes": T(
        "Заголовки и ответы — имена вопросов и коды, как в выгрузке KoboToolbox «XML values "
        "and headers».",
        "Баш саптар жана жооптор — суроолордун аттары жана коддор, KoboToolbox «XML values and "
        "headers» экспортундагыдай.",
        "Headers and answers are question names and codes, as in KoboToolbox's \"XML values "
        "and headers\" export."),
    "notes_index": T(
        "_index и _parent_index связывают строки повторяющихся групп с их родительской строкой; "
        "_index анкеты равен её _id.",
        "_index жана _parent_index кайталануучу топтордун саптарын ата-сабы менен байланыштырат; "
        "анкетанын _index'и анын _id'сине барабар.",
        "_index and _parent_index link the rows of a repeat group to their parent row; a "
        "submission's _index is its _id."),
    "reason": T("Причина", "Себеп", "Reason"),
    "reason_code": T("Код причины", "Себептин коду", "Reason code"),
    # why a submission is left out (fct_interviews, stg_assessments, stg_focus_groups)
    "reason.not_approved": T("Отклонена супервайзером (статус «Не одобрено»)",
                             "Супервайзер четке каккан («Бекитилген жок» абалы)",
                             "Rejected by a supervisor (validation status \"Not approved\")"),
    "reason.no_consent": T("Нет согласия респондента", "Респонденттин макулдугу жок",
                           "No consent"),
    "reason.outside_geography": T("Место вне географии исследования",
                                  "Жер изилдөөнүн географиясынан тышкары",
                                  "Place outside the study's geography"),
    "reason.no_profile": T("Не указан пол или возрастная группа",
                           "Жынысы же жаш тобу көрсөтүлгөн эмес", "No sex or age group"),
    "reason.duplicate_instance": T("Повторная копия другой анкеты", "Башка анкетанын кайталанган көчүрмөсү",
                                   "A second copy of another submission"),
    "reason.outside_window": T("Дата интервью вне периода полевых работ",
                               "Интервью датасы талаа иштеринин мөөнөтүнөн тышкары",
                               "Interview date outside the fieldwork window"),
    "reason.too_short": T("Слишком короткое интервью", "Интервью өтө кыска", "Interview too short"),
    "reason.straight_lining": T("Одинаковые ответы во всех блоках", "Бардык блоктордо бирдей жооптор",
                                "Straight-lining (one answer in every block)"),
    "reason.gps_missing": T("Нет GPS-координат", "GPS координаттары жок", "No GPS location"),
    "reason.gps_far": T("GPS далеко от села", "GPS айылдан алыс", "GPS far from the village"),
    "reason.enumerator_outlier": T("Ответы интервьюера — статистический выброс",
                                   "Интервьюердин жооптору статистикалык четтөө",
                                   "The enumerator's answers are outliers"),
    "reason.superseded_by_a_later_assessment": T(
        "Заменена более поздней оценкой этого муниципалитета",
        "Бул муниципалитеттин кийинки баалоосу менен алмаштырылган",
        "Replaced by a later assessment of the municipality"),
    "reason.not_scored": T("Получена после последнего расчёта (запустите aimak score)",
                           "Акыркы эсептөөдөн кийин алынган (aimak score иштетиңиз)",
                           "Synced after the last scoring (run aimak score)"),
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


def write_data_workbooks(conn: duckdb.DuckDBPyConnection, definition: Definition, out_dir: Path,
                         lang: str = "ru", *, include_personal: bool = False, codes: bool = False,
                         forms: Iterable[str] | None = None) -> list[Path]:
    """Write ``data_<form>.xlsx`` into ``out_dir`` for each synced form among ``forms`` (form
    ids; by default the study's three); return the paths written. A form not synced yet has no
    workbook."""
    paths = []
    for form in synced_forms(conn, definition, lang, forms):
        paths.append(write_data_workbook(conn, definition, form, Path(out_dir) / form.file_name,
                                         lang, include_personal=include_personal, codes=codes))
    return paths


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
    personal = set(definition.personal.get(form.form_id, ())) | _personal_by_type(content)
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


def write_data_workbook(conn: duckdb.DuckDBPyConnection, definition: Definition, form: Form,
                        path: Path, lang: str = "ru", *, include_personal: bool = False,
                        codes: bool = False) -> Path:
    """Write one form's clean data to ``path`` (see the module docstring)."""
    try:
        with Book(path, constant_memory=True) as book:
            plan = plan_workbook(conn, definition, form, lang, include_personal=include_personal,
                                 codes=codes, sheet_name=book.sheet_name)
            with prepared(conn, plan):
                for sheet in plan.sheets:
                    book.stream(book.named_sheet(sheet.name),
                                [Column(c.header, c.kind) for c in sheet.columns],
                                sheet_rows(conn, sheet))
                _write_notes(conn, book, plan, lang, codes, include_personal)
    except (OSError, FileCreateError) as err:
        raise ConfigError(f"cannot write the data workbook {path}: {err}. Fix: set AIMAK_OUT "
                          "(or --out) to a folder you can write to.") from err
    return path


def sheet_rows(conn: duckdb.DuckDBPyConnection, sheet: SheetPlan) -> Iterator[list[tuple]]:
    """The sheet's rows in ``_index`` order, :data:`BATCH` at a time: first the ranges of
    ``_index`` that hold a batch each (one number per row), then each range's rows, so that
    neither Python nor DuckDB ever holds more than a batch (an ORDER BY over the whole sheet
    would make DuckDB hold every row of it at once)."""
    ranges = [(batch[0][0], batch[-1][0]) for batch in batches(conn, sheet.keys_sql)]
    for lo, hi in ranges:
        yield sheet.decode(conn.execute(sheet.range_sql, {"lo": lo, "hi": hi}).fetchall())


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


def _personal_by_type(content: dict) -> set[str]:
    names = set()
    for row in content.get("survey") or []:
        kind = row.get("type")
        name = row.get("$autoname") or row.get("name")
        if isinstance(kind, str) and kind.split()[:1] and kind.split()[0] in PERSONAL_TYPES and name:
            names.add(name)
    return names


def _labels(conn: duckdb.DuckDBPyConnection, asset_uid: str,
            lang: str) -> dict[tuple[str, str, str | None], str]:
    """(repeat path, question, choice or None) -> its label in ``lang``, else in the form's
    untranslated language, else in any language it has."""
    labels: dict[tuple[str, str, str | None], str] = {}
    for path, question, choice, label in conn.execute("""
            SELECT repeat_path, question, choice, label FROM labels WHERE asset_uid = ?
            ORDER BY language = ? DESC, language = 'default' DESC, language""",
            [asset_uid, lang]).fetchall():
        labels.setdefault((path or "", question, choice), label)
    return labels


def _columns_of(conn: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    return conn.execute("""
        SELECT column_name, data_type FROM duckdb_columns()
        WHERE table_name = ? AND database_name = current_database() AND schema_name = 'main'
        ORDER BY column_index""", [table]).fetchall()


def _question_columns(conn: duckdb.DuckDBPyConnection, table: str,
                      labels: dict[tuple[str, str, str | None], str], path: str, personal: set[str],
                      include_personal: bool, codes: bool, tz: str) -> tuple[list[Out], list[str]]:
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
        label = name if codes else labels.get((path, name, None), name)
        choices = {c: lab for (p, question, c), lab in labels.items()
                   if p == path and question == name and c is not None}
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
    statuses = None if codes else {uid: tr(uid, lang, TEXTS) for uid in STATUSES}
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


def batches(conn: duckdb.DuckDBPyConnection, sql: str) -> Iterator[list[tuple]]:
    """The rows of ``sql``, :data:`BATCH` at a time (never the whole result in Python)."""
    cursor = conn.execute(sql)
    while batch := cursor.fetchmany(BATCH):
        yield batch


# --- the notes sheet --------------------------------------------------------------------------

def _write_notes(conn: duckdb.DuckDBPyConnection, book: Book, plan: DataPlan, lang: str,
                 codes: bool, include_personal: bool) -> None:
    """The last sheet: how many submissions are in and out, and why each left-out one is; which
    personal questions are left out (or written); how the sheets are laid out."""
    form, personal = plan.form, plan.personal
    ws = book.sheet(tr("notes_sheet", lang, TEXTS))
    kept, left = conn.execute(f"""
        SELECT count(*) FILTER (WHERE _id NOT IN (SELECT _id FROM {EXCLUDED})),
               count(*) FILTER (WHERE _id IN (SELECT _id FROM {EXCLUDED}))
        FROM {q(form.main)}""").fetchone()
    columns = ", ".join(personal)
    lines = [
        tr("notes_rows", lang, TEXTS, kept=kept, left=left),
        tr("notes_personal_none", lang, TEXTS) if not personal else
        tr("notes_personal_in" if include_personal else "notes_personal_out", lang, TEXTS,
           columns=columns),
        tr("notes_codes" if codes else "notes_labels", lang, TEXTS),
        tr("notes_index", lang, TEXTS),
    ]
    ws.write_string(0, 0, tr("notes_title", lang, TEXTS, form=form.title), book.title)
    for row, line in enumerate(lines, start=1):
        ws.write_string(row, 0, line, book.note)
    reasons = {key.removeprefix("reason."): tr(key, lang, TEXTS) for key in TEXTS
               if key.startswith("reason.")}

    def rows() -> Iterator[list[tuple]]:
        for batch in batches(conn, f"""
                SELECT e._id, t._uuid, t._submission_time, e.reason
                FROM {EXCLUDED} e JOIN {q(form.main)} t USING (_id) ORDER BY e._id"""):
            yield [(i, uuid, when, reasons.get(reason or "", reason), reason)
                   for i, uuid, when, reason in batch]

    book.stream(ws, [Column("_id", "id"), Column("_uuid"), Column("_submission_time", "datetime"),
                     Column(tr("reason", lang, TEXTS), width=50),
                     Column(tr("reason_code", lang, TEXTS))], rows(), top=len(lines) + 2)
