"""Reading values out of a parsed YAML document while collecting every mistake.

A :class:`Checker` never raises on bad input: it records an :class:`~aimak.errors.Issue` (file,
line, field, value, problem, fix) and returns ``None``, so one run reports all mistakes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from aimak.errors import Issue
from forms import LANGUAGES
from forms.definition import Text
from forms.yamlsource import LineList, LineMap

CODE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
CHOICE_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
MAX_NAME = 30


class Checker:
    """Collects issues for one file."""

    def __init__(self, file: str):
        self.file = file
        self.issues: list[Issue] = []

    def add(self, line: int | None, field: str, value: object, problem: str, fix: str) -> None:
        self.issues.append(Issue(self.file, line, field, value, problem, fix))

    # --- structure -------------------------------------------------------------------------

    def mapping(self, parent: LineMap, key: str, path: str, required: bool = True) -> LineMap | None:
        value = parent.get(key) if isinstance(parent, dict) else None
        field = f"{path}.{key}" if path else key
        if value is None:
            if required:
                self.add(_line(parent), field, None, "is missing",
                         f"add a '{key}:' section (see forms/README.md)")
            return None
        if not isinstance(value, LineMap):
            self.add(_line_of(parent, key), field, value, "must be a mapping of keys to values",
                     f"write '{key}:' followed by indented 'name: value' lines")
            return None
        return value

    def sequence(self, parent: LineMap, key: str, path: str, required: bool = True) -> LineList | None:
        value = parent.get(key) if isinstance(parent, dict) else None
        field = f"{path}.{key}" if path else key
        if value is None:
            if required:
                self.add(_line(parent), field, None, "is missing",
                         f"add a '{key}:' list (see forms/README.md)")
            return None
        if not isinstance(value, LineList):
            self.add(_line_of(parent, key), field, value, "must be a list",
                     f"write '{key}:' followed by indented '- ...' items")
            return None
        return value

    def items(self, seq: LineList | None, path: str) -> Iterator[tuple[str, int, LineMap]]:
        """Yield (field path, line, mapping) for each list item that is a mapping."""
        if seq is None:
            return
        for index, item in enumerate(seq):
            field = f"{path}[{index + 1}]"
            if not isinstance(item, LineMap):
                self.add(seq.line_of(index), field, item, "must be a mapping",
                         "write the item as indented 'name: value' lines after '- '")
                continue
            yield field, seq.line_of(index), item

    # --- scalars ---------------------------------------------------------------------------

    def string(self, parent: LineMap, key: str, path: str, required: bool = True,
               default: str | None = None) -> str | None:
        value = parent.get(key)
        field = f"{path}.{key}"
        if value is None:
            if required:
                self.add(_line(parent), field, None, "is missing", f"add '{key}: <value>'")
            return default
        if isinstance(value, (dict, list)):
            self.add(_line_of(parent, key), field, value, "must be a single value",
                     f"write '{key}: <value>' on one line")
            return default
        return str(value).strip()

    def code(self, parent: LineMap, key: str, path: str, pattern: re.Pattern = CODE_RE,
             what: str = "lower-case letters, digits and '_', starting with a letter") -> str | None:
        value = self.string(parent, key, path)
        if value is None:
            return None
        if not pattern.match(value) or len(value) > MAX_NAME:
            self.add(_line_of(parent, key), f"{path}.{key}", value,
                     f"is not a valid code (allowed: {what}; at most {MAX_NAME} characters)",
                     "rename it, e.g. 'wat_quality'")
            return None
        return value

    def number(self, parent: LineMap, key: str, path: str, *, required: bool = True,
               low: float | None = None, high: float | None = None, integer: bool = False,
               positive: bool = False, default: float | None = None) -> float | None:
        value = parent.get(key)
        field = f"{path}.{key}"
        line = _line_of(parent, key)
        if value is None:
            if required:
                self.add(_line(parent), field, None, "is missing", f"add '{key}: <number>'")
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.add(line, field, value, "is not a number",
                     f"write a plain number, e.g. '{key}: 10' (no units, no quotes)")
            return default
        if integer and value != int(value):
            self.add(line, field, value, "must be a whole number", f"write e.g. '{key}: {int(value)}'")
            return default
        if positive and value <= 0:
            self.add(line, field, value, "must be greater than 0", "give a positive number")
            return default
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            self.add(line, field, value, f"must be {bounds}", f"give a value {bounds}")
            return default
        return int(value) if integer else value

    def boolean(self, parent: LineMap, key: str, path: str, default: bool) -> bool:
        value = parent.get(key, default)
        if not isinstance(value, bool):
            self.add(_line_of(parent, key), f"{path}.{key}", value, "must be true or false",
                     f"write '{key}: true' or '{key}: false'")
            return default
        return value

    def choice(self, parent: LineMap, key: str, path: str, allowed: tuple[str, ...],
               required: bool = True, default: str | None = None) -> str | None:
        value = self.string(parent, key, path, required=required, default=default)
        if value is None or value in allowed:
            return value
        self.add(_line_of(parent, key), f"{path}.{key}", value, "is not one of the allowed values",
                 f"use one of: {', '.join(allowed)}")
        return None

    def text(self, parent: LineMap, key: str, path: str, required: bool = True) -> Text | None:
        """A text in every language: a mapping with keys ru, ky and en, none empty."""
        value = parent.get(key)
        field = f"{path}.{key}"
        if value is None:
            if required:
                self.add(_line(parent), field, None, "is missing",
                         f"add '{key}:' with ru, ky and en texts")
            return None
        if not isinstance(value, LineMap):
            self.add(_line_of(parent, key), field, value, "must give the text in ru, ky and en",
                     f"write '{key}: {{ru: \"…\", ky: \"…\", en: \"…\"}}'")
            return None
        texts: dict[str, str] = {}
        for lang in LANGUAGES:
            item = value.get(lang)
            if item is None or (isinstance(item, str) and not item.strip()):
                self.add(value.line_of(lang) if lang in value else value.line, f"{field}.{lang}",
                         item, f"the {lang} translation is missing or empty",
                         f"add '{lang}: \"…\"' with the {_LANG_NAMES[lang]} text")
                continue
            if not isinstance(item, (str, int, float)):
                self.add(value.line_of(lang), f"{field}.{lang}", item, "must be a text",
                         "write the text in quotes on one line")
                continue
            texts[lang] = str(item).strip()
        extra = [k for k in value if k not in LANGUAGES]
        for lang in extra:
            self.add(value.line_of(lang), f"{field}.{lang}", lang, "is not a language of the study",
                     f"use only {', '.join(LANGUAGES)}")
        if len(texts) != len(LANGUAGES):
            return None
        return Text(**texts)

    def unknown_keys(self, node: LineMap | None, path: str, allowed: set[str]) -> None:
        if node is None:
            return
        for key in node:
            if key not in allowed:
                self.add(node.line_of(key), f"{path}.{key}" if path else str(key), key,
                         "is not a known key here",
                         f"check the spelling; allowed keys: {', '.join(sorted(allowed))}")


_LANG_NAMES = {"ru": "Russian", "ky": "Kyrgyz", "en": "English"}


def _line(node: object) -> int | None:
    return getattr(node, "line", None)


def _line_of(node: object, key: str) -> int | None:
    return node.line_of(key) if isinstance(node, LineMap) else None
