"""An XLSForm in memory (survey, choices, settings) and how it is written to an .xlsx file.

Builders produce a :class:`FormSpec`; :func:`write_xlsform` writes it with fixed column order and
fixed workbook metadata, so the same definition gives the same cells every time. The version is a
hash of the content, so any change gives a new version and no change keeps it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import xlsxwriter

from forms import LANGUAGE_NAMES, LANGUAGES
from forms.definition import Text

TRANSLATED = ("label", "hint", "constraint_message", "required_message")
PLAIN = ("required", "relevant", "constraint", "calculation", "choice_filter", "appearance",
         "parameters", "repeat_count", "default", "read_only")
FIXED_TIMESTAMP = dt.datetime(2026, 1, 1)


@dataclass
class Row:
    """One row of the survey sheet."""

    type: str
    name: str = ""
    label: Text | None = None
    hint: Text | None = None
    constraint_message: Text | None = None
    required_message: Text | None = None
    required: str = ""
    relevant: str = ""
    constraint: str = ""
    calculation: str = ""
    choice_filter: str = ""
    appearance: str = ""
    parameters: str = ""
    repeat_count: str = ""
    default: str = ""
    read_only: str = ""


@dataclass
class ChoiceRow:
    list_name: str
    name: str
    label: Text
    filters: dict[str, str] = field(default_factory=dict)


@dataclass
class FormSpec:
    form_id: str
    title: Text
    default_language: str
    survey: list[Row]
    choices: list[ChoiceRow]
    instance_name: str = ""

    @property
    def version(self) -> str:
        """A content hash: the same content gives the same version, any change a new one."""
        payload = json.dumps(self.sheets(with_version=False), ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:12]

    def questions(self) -> list[Row]:
        """Rows a person answers (not groups, notes, calculates or metadata)."""
        skip = {"begin_group", "end_group", "begin_repeat", "end_repeat", "note", "calculate",
                "start", "end", "today", "deviceid", "audit", "username"}
        return [row for row in self.survey if row.type.split(" ")[0] not in skip]

    def sheets(self, with_version: bool = True) -> tuple[list[list[str]], ...]:
        """The three sheets as lists of rows (header first), exactly as written."""
        survey_cols = _used_columns(self.survey)
        survey = [[_header(c) for c in survey_cols]]
        for row in self.survey:
            survey.append([_cell(getattr(row, col), lang) for col, lang in survey_cols])
        filter_cols = sorted({key for choice in self.choices for key in choice.filters})
        choices = [["list_name", "name"] + [f"label::{LANGUAGE_NAMES[lang]}" for lang in LANGUAGES]
                   + filter_cols]
        for choice in self.choices:
            choices.append([choice.list_name, choice.name]
                           + [choice.label.get(lang) for lang in LANGUAGES]
                           + [choice.filters.get(col, "") for col in filter_cols])
        settings = [["form_title", "form_id", "version", "default_language", "instance_name"],
                    [self.title.get(self.default_language), self.form_id,
                     self.version if with_version else "", LANGUAGE_NAMES[self.default_language],
                     self.instance_name]]
        return survey, choices, settings


def _used_columns(rows: list[Row]) -> list[tuple[str, str | None]]:
    columns: list[tuple[str, str | None]] = [("type", None), ("name", None)]
    for name in TRANSLATED:
        if any(getattr(row, name) is not None for row in rows):
            columns += [(name, lang) for lang in LANGUAGES]
    columns += [(name, None) for name in PLAIN if any(getattr(row, name) for row in rows)]
    return columns


def _header(column: tuple[str, str | None]) -> str:
    name, lang = column
    return f"{name}::{LANGUAGE_NAMES[lang]}" if lang else name


def _cell(value: object, lang: str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, Text):
        return value.get(lang or "en")
    return str(value)


def write_xlsform(spec: FormSpec, path: Path) -> None:
    """Write the form as an XLSForm workbook (survey, choices, settings sheets)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False,
                                               "strings_to_numbers": False,
                                               "strings_to_urls": False})
    workbook.set_properties({"title": spec.form_id, "author": "aimak forms build",
                             "created": FIXED_TIMESTAMP,
                             "comments": "Generated from forms/indicators.yaml; do not edit by hand."})
    bold = workbook.add_format({"bold": True, "bg_color": "#DDEBF7"})
    for title, rows in zip(("survey", "choices", "settings"), spec.sheets(), strict=True):
        sheet = workbook.add_worksheet(title)
        sheet.freeze_panes(1, 0)
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                if value != "":
                    sheet.write_string(r, c, value, bold if r == 0 else None)
        widths = [min(60, max(10, *(len(row[c]) for row in rows))) for c in range(len(rows[0]))]
        for c, width in enumerate(widths):
            sheet.set_column(c, c, width)
    workbook.close()
