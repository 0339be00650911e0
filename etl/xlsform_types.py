"""How pyxform reads an XLSForm ``type``: the tables ``etl.normalize`` types questions with.

They are pyxform's own (``pyxform.aliases.control``/``select``, ``QUESTION_TYPE_DICT``, pinned
pyxform 4.5.0), reduced to what the warehouse needs and kept in ``xlsform_types.json`` beside
this module, so a sync does not import pyxform (most of a second of a sync's start-up) just to
type a form's questions. :func:`from_pyxform` computes them from pyxform itself; a test checks
the kept file equals it, so the two never drift (regenerate with
``python -m etl.xlsform_types > etl/xlsform_types.json`` after upgrading pyxform).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

PATH = Path(__file__).with_name("xlsform_types.json")
# how pyxform binds a question type -> warehouse column kind (everything else is text)
BIND_KINDS = {"int": "integer", "decimal": "decimal", "date": "date", "dateTime": "datetime",
              "time": "time", "geopoint": "geopoint", "binary": "media"}
CONTROL_KINDS = {"select1": "select_one", "select": "select_multiple", "odk:rank": "select_multiple",
                 "range": "decimal"}


def from_pyxform() -> dict[str, Any]:
    """The tables as pyxform gives them: ``containers`` (a begin/end word -> group or repeat),
    ``selects`` (a select command -> column kind), ``kinds`` (a question type -> column kind or
    'skip' for a note), ``or_other`` (the choice pyxform adds for or_other)."""
    from pyxform import aliases
    from pyxform import constants as xlsform
    from pyxform.question_type_dictionary import QUESTION_TYPE_DICT

    note = QUESTION_TYPE_DICT["note"]

    def kind(entry: dict[str, Any]) -> str:
        if entry == note:
            return "skip"
        tag = (entry.get("control") or {}).get("tag")
        if tag in CONTROL_KINDS:
            return CONTROL_KINDS[tag]
        return BIND_KINDS.get((entry.get("bind") or {}).get("type"), "text")

    return {
        "containers": {word: "repeat" if container == xlsform.REPEAT else "group"
                       for word, container in sorted(aliases.control.items())},
        "selects": {command: kind(QUESTION_TYPE_DICT[name])
                    for command, name in sorted(aliases.select.items())},
        "kinds": {name: kind(entry) for name, entry in sorted(QUESTION_TYPE_DICT.items())},
        "or_other": dict(xlsform.OR_OTHER_CHOICE),
    }


@cache
def tables() -> dict[str, Any]:
    """The kept tables (see the module docstring)."""
    return json.loads(PATH.read_text(encoding="utf-8"))


if __name__ == "__main__":
    print(json.dumps(from_pyxform(), ensure_ascii=False, indent=1, sort_keys=True))
