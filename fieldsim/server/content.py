"""XLSForm → KPI ``content``, shaped the way KoboToolbox stores it (formpack's expanded form).

An upload is read as ``.xlsx`` or legacy ``.xls`` by its first bytes, as kpi tells them apart
(``_get_xls_format``). Translatable columns (``label::English (en)`` …) become lists ordered like
``translations`` (``null`` where a language is missing); types are split from their lists and
de-aliased as kpi does on save (:mod:`fieldsim.server.aliases`: ``begin lgroup`` is a repeat);
rows get ``$kuid``, ``$autoname`` and, except end rows, ``$xpath``; ``required`` is a boolean;
the settings' ``form_id`` survives as ``id_string`` (without one, the import's ``name`` gives it,
slugged, and without that the form has none: its form id is then the asset uid) and
``form_title`` becomes the asset name; a ``__version__`` row is stripped (it is added again at
deployment).
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

from pyxform.xls2json_backends import xls_to_dict, xlsx_to_dict

from fieldsim.server.aliases import (
    META_TYPES,
    dealias_type,
    expand_type,
    sluggify_label,
    yes_no_value,
)
from fieldsim.server.ids import ALPHABET

TRANSLATABLE = ("label", "hint", "constraint_message", "required_message", "guidance_hint")
_HEADER = re.compile(r"^(?P<col>[a-z_]+)\s*::?\s*(?P<lang>.+)$", re.IGNORECASE)


class ContentError(ValueError):
    """The upload is not a usable XLSForm (the import task reports it as an error)."""


class XlsFormatException(ContentError):
    """Neither an .xlsx (a zip: ``PK``) nor an .xls (OLE2: ``\\xd0\\xcf``); named as kpi names it, so
    the import's ``error_type`` is the same."""


def kuid() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(9))


def workbook_suffix(data: bytes) -> str:
    """``.xlsx`` or ``.xls``, told apart by the first bytes as kpi does; anything else is refused."""
    if data[:2] == b"PK":
        return ".xlsx"
    if data[:2] == b"\xd0\xcf":
        return ".xls"
    raise XlsFormatException("Unsupported format, or corrupt file")


def read_workbook(path: Path) -> dict[str, Any]:
    """The XLSForm's sheets as pyxform reads them, with the reader its suffix names."""
    reader = xls_to_dict if path.suffix == ".xls" else xlsx_to_dict
    try:
        book = reader(str(path))
    except Exception as err:  # pyxform raises assorted errors on unreadable files
        raise ContentError(f"could not read the workbook: {err}") from err
    if "survey" not in book:
        raise ContentError("xls upload must have one of these sheets: survey, library")
    return book


def build_content(book: dict[str, Any], filename: str | None = None) -> tuple[dict[str, Any], str | None]:
    """Return the content and the asset name it gives (None when it gives none).

    ``filename`` is the import's ``name`` without its extension (kpi calls it the filename): it
    gives ``id_string`` when the settings have no form id, and the name when they have no title
    (``Asset.adjust_content_on_save``). An unknown type raises ``ValueError`` as formpack does.
    """
    survey_rows = [dict(r) for r in book.get("survey", []) if any(str(v).strip() for v in r.values())]
    choice_rows = [dict(r) for r in book.get("choices", []) if any(str(v).strip() for v in r.values())]
    settings_rows = book.get("settings") or [{}]
    settings = {k: v for k, v in dict(settings_rows[0]).items() if str(v).strip()}

    translations: list[str | None] = []
    translated: set[str] = set()
    for row in survey_rows + choice_rows:
        for key in row:
            match = _HEADER.match(key)
            if match and match["col"].lower() in TRANSLATABLE:
                lang = match["lang"].strip()
                translated.add(match["col"].lower())
                if lang not in translations:
                    translations.append(lang)
            elif key.lower() in TRANSLATABLE and row[key] not in ("", None):
                translated.add(key.lower())
                if None not in translations:
                    translations.insert(0, None)
    if not translations:
        translations = [None]

    def expand(row: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        lists: dict[str, list[Any]] = {}
        for key, value in row.items():
            if value in ("", None):
                continue
            match = _HEADER.match(key)
            if match and match["col"].lower() in TRANSLATABLE:
                col = match["col"].lower()
                lists.setdefault(col, [None] * len(translations))
                lists[col][translations.index(match["lang"].strip())] = value
            elif key.lower() in TRANSLATABLE:
                lists.setdefault(key.lower(), [None] * len(translations))
                lists[key.lower()][translations.index(None)] = value
            else:
                out[key] = value
        out.update(lists)
        return out

    survey: list[dict[str, Any]] = []
    meta: list[dict[str, Any]] = []
    stack: list[str] = []
    for raw in survey_rows:
        row = expand(raw)
        written = str(row.get("type", "")).strip()
        name = row.get("name")
        if name == "__version__":
            continue
        item: dict[str, Any] = {}
        if name:
            item["name"] = name
        expanded = expand_type(written) if written else {"type": ""}
        kind = dealias_type(expanded["type"]) if expanded["type"] else ""
        item["type"] = kind
        item.update({k: v for k, v in expanded.items() if k != "type"})
        item["$kuid"] = kuid()
        for key, value in row.items():
            if key in ("type", "name"):
                continue
            item[key] = yes_no_value(value) if key == "required" else value
        if kind in ("end_group", "end_repeat"):
            if stack:
                stack.pop()
            survey.append({"type": kind, "$kuid": item["$kuid"]})
            continue
        if name:
            item["$xpath"] = "/".join([*stack, name])
            item["$autoname"] = name
        if kind in ("begin_group", "begin_repeat"):
            stack.append(name)
        (meta if written in META_TYPES else survey).append(item)

    choices = []
    for raw in choice_rows:
        row = expand(raw)
        list_name = row.pop("list_name", None) or row.pop("list name", None)
        item = {"name": row.get("name"), "$kuid": kuid(), **{k: v for k, v in row.items() if k != "name"},
                "list_name": list_name, "$autovalue": row.get("name")}
        choices.append(item)

    content_settings: dict[str, Any] = {}
    title = settings.pop("form_title", None) or filename or None
    form_id = settings.pop("form_id", None) or settings.pop("id_string", None)
    if not form_id and filename:
        form_id = sluggify_label(filename)
    if form_id:
        content_settings["id_string"] = str(form_id)
    content_settings.update({k: str(v) for k, v in settings.items()})
    content = {
        "schema": "1",
        "survey": meta + survey,
        "choices": choices,
        "settings": content_settings,
        "translated": sorted(translated),
        "translations": translations,
    }
    return content, (str(title) if title else None)


def labels(content: dict[str, Any]) -> list[str]:
    """The first labels of the form (for the import summary)."""
    out = []
    for row in content["survey"]:
        label = row.get("label")
        if isinstance(label, list) and label and label[0]:
            out.append(label[0])
        if len(out) == 5:
            break
    return out


def summary(content: dict[str, Any]) -> dict[str, Any]:
    survey = content["survey"]
    columns = sorted({k for row in survey for k in row if not k.startswith("$")} - {"type"})
    return {
        "geo": any(row.get("type") == "geopoint" for row in survey),
        "labels": labels(content),
        "columns": ["name", "type", *[c for c in columns if c != "name"]],
        "lock_all": False,
        "lock_any": False,
        "languages": [t for t in content["translations"] if t],
        "row_count": len(survey),
        "name_quality": {"ok": 0, "bad": 0, "good": len(survey), "total": len(survey), "firsts": {}},
        "default_translation": content["translations"][0],
        "naming_conflicts": [],
    }
