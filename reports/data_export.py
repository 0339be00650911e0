"""The clean data of each form, ``data_<form>.xlsx``, laid out as KoboToolbox's own XLS export
lays it out (the layout, what is clean and what is personal: ``reports.data_layout``), with a last
sheet saying which submissions are left out and why, and which personal questions.

Rows are read from DuckDB in ranges of ``_index`` of a batch each and written by xlsxwriter in
constant memory (``reports.workbook.Book.stream``), so a workbook of any size needs the same
memory: ``bench/report.py`` measures it against pandas with openpyxl.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import duckdb
from xlsxwriter.exceptions import FileCreateError

from aimak.errors import ConfigError
from forms.definition import Definition
from reports.data_layout import (
    EXCLUDED,
    DataPlan,
    Form,
    SheetPlan,
    plan_workbook,
    prepared,
    synced_forms,
)
from reports.texts import T, tr
from reports.workbook import Book, Column
from warehouse.payloads import q

BATCH = 2000  # rows fetched from DuckDB at a time

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
}


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
