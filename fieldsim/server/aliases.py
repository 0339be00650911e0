"""How KoboToolbox names things when it saves a form: XLSForm type aliases and the slug of a name.

kpi runs every saved content through formpack (``kpi/utils/standardize_content.py``:
``expand_content`` then ``replace_aliases``). A row's type is first split into the type and its
list (``select one yn`` → ``select_one`` + ``select_from_list_name: yn``; a trailing ``or_other``
becomes ``_or_other: true``), then de-aliased (``begin lgroup`` and ``begin looped group`` become
``begin_repeat``, ``gps`` becomes ``geopoint`` …); a type formpack does not know fails the import
with ``ValueError("unknown type ['…']")``. The tables below are formpack's
(``formpack/utils/replace_aliases.py``: ``types`` and ``selects``, plus the score and rank types kpi
allows); the known types are pyxform's, as formpack takes them.

:func:`sluggify_label` is kpi's (``kpi/utils/autoname.py``): an import's ``name`` becomes the form's
``id_string`` when the XLSForm has no ``form_id``.
"""

from __future__ import annotations

import re
from typing import Any

from pyxform.aliases import yes_no
from pyxform.question_type_dictionary import QUESTION_TYPE_DICT


def _table(aliases: dict[str, list[str]]) -> dict[str, str]:
    """alias → type, each type also mapped to itself, longest alias first (formpack's
    ``aliases_to_ordered_dict``: a longer alias must be tried before a shorter one it starts with)."""
    pairs = [(name, name) for name in aliases]
    pairs += [(alias, name) for name, names in aliases.items() for alias in names]
    return dict(sorted(pairs, key=lambda pair: -len(pair[0])))


TYPES = _table({
    "begin_group": ["begin group", "begin  group"],
    "end_group": ["end group", "end  group"],
    "begin_repeat": ["begin lgroup", "begin repeat", "begin looped group"],
    "end_repeat": ["end lgroup", "end repeat", "end looped group"],
    "text": ["string"],
    "acknowledge": ["trigger"],
    "image": ["photo"],
    "datetime": ["dateTime"],
    "deviceid": ["imei"],
    "geopoint": ["gps"],
    # the KoboToolbox question types kpi allows besides formpack's (standardize_content.py)
    "score__row": [], "rank__level": [],
    "begin_score": ["begin score"], "end_score": ["end score"],
    "begin_rank": ["begin rank"], "end_rank": ["end rank"],
})
SELECTS = _table({
    "select_multiple": ["select all that apply", "select multiple", "select many", "select_many",
                        "select all that apply from", "add select multiple prompt using"],
    "select_multiple_from_file": ["select multiple from file"],
    "select_one_external": ["select one external"],
    "select_one": ["select one", "select one from", "add select one prompt using", "select1"],
    "select_one_from_file": ["select one from file"],
    "rank": [],
})
KNOWN = set(QUESTION_TYPE_DICT) | set(SELECTS.values()) | set(TYPES.values())
# moved to the top of the survey on save (formpack's META_TYPES, matched before de-aliasing)
META_TYPES = ("start", "today", "end", "deviceid", "phone_number", "simserial", "audit", "username",
              "phonenumber", "imei", "subscriberid", "start-geopoint")
_OR_OTHER = re.compile(r"\s+(or.other)$")


def expand_type(type_str: str) -> dict[str, Any]:
    """formpack's ``_expand_type_to_dict``: the type, its list (or file) and ``_or_other``."""
    out: dict[str, Any] = {}
    found = _OR_OTHER.search(type_str)
    if found:
        type_str = type_str.replace(found.group(1), "").strip()
        out["_or_other"] = True
    if re.search("select_(one|multiple)(_or_other)", type_str):
        type_str = type_str.replace("_or_other", "")
        out["_or_other"] = True
    if type_str in ("select_one", "select_multiple"):
        return {**out, "type": type_str}
    for alias, kind in SELECTS.items():
        match = re.match(rf"^({alias})\s+(\S+)$", type_str)
        if match:
            out["type"] = kind
            out["file" if "from_file" in kind else "select_from_list_name"] = match.group(2)
            return out
    return {**out, "type": type_str}


def dealias_type(type_str: str) -> str:
    """formpack's ``dealias_type`` (strict): the type kpi stores; an unknown type raises
    ``ValueError`` with formpack's message (the import task reports it as kpi does)."""
    if type_str in TYPES:
        return TYPES[type_str]
    for alias, kind in SELECTS.items():
        if type_str.startswith(alias):
            return type_str.replace(alias, kind)
    if type_str in KNOWN:
        return type_str
    raise ValueError(f"unknown type {[type_str]}")


def yes_no_value(value: Any) -> Any:
    """``required`` and the other true/false columns as formpack stores them: a boolean when
    the cell is one of XLSForm's yes/no spellings, else the cell unchanged (an expression)."""
    return yes_no.get(value, value) if isinstance(value, str) else value


def sluggify_label(label: str) -> str:
    """kpi's ``sluggify_label``: spaces and other non-word characters become one underscore (a
    trailing one is dropped), case is kept, a leading digit gets an underscore before it."""
    text = label.strip()
    if not text:
        return ""
    text = re.sub(r"[^a-zA-Z0-9_]+", "_", re.sub(r"\s", "_", text))
    if text != "_" and text.endswith("_"):
        text = text[:-1]
    if re.match(r"^\d", text):
        text = "_" + text
    while "__" in text:
        text = text.replace("__", "_")
    return text
