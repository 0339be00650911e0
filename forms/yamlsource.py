"""YAML read with line numbers, so every mistake can be reported at its line.

PyYAML's composer knows where each node starts; the loader below keeps that in the mappings and
lists it builds. Duplicate keys, which PyYAML would silently overwrite, are reported.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from aimak.errors import Issue


class LineMap(dict):
    """A dict that remembers its own line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict

    def line_of(self, key: object) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    """A list that remembers its own line and the line of each item (1-based)."""

    line: int = 0
    item_lines: list

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineMap:
    loader.flatten_mapping(node)
    result = LineMap()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, (list, dict)):
            key = str(key)
        line = key_node.start_mark.line + 1
        if key in result:
            loader.duplicates.append((key, line, result.key_lines[key]))
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = line
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load_yaml(path: Path) -> tuple[object | None, list[Issue]]:
    """Read ``path``; return the document and the issues found while reading it."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [Issue(name, None, "file", str(path), "the file does not exist",
                            "give the path of the study definition (--definition)")]
    except UnicodeDecodeError as err:
        return None, [Issue(name, None, "file", err.reason, "the file is not UTF-8 text",
                            "save the file as UTF-8")]
    loader = _Loader(text)
    loader.duplicates = []
    try:
        document = loader.get_single_data()
    except yaml.MarkedYAMLError as err:
        return None, [_syntax_issue(name, text.splitlines(), err)]
    except yaml.YAMLError as err:
        return None, [Issue(name, None, "yaml", str(err), "malformed YAML", "fix the YAML syntax")]
    finally:
        loader.dispose()
    issues = [
        Issue(name, line, str(key), key, f"the key is given twice (first at line {first})",
              "keep one of the two entries")
        for key, line, first in loader.duplicates
    ]
    return document, issues


def _syntax_issue(name: str, lines: list[str], err: yaml.MarkedYAMLError) -> Issue:
    """The issue for malformed YAML, at the line to fix: PyYAML notices an unclosed quote only
    where the text it swallowed stops making sense, often lines later."""
    mark = err.problem_mark or err.context_mark
    line = mark.line + 1 if mark else None
    opened = _unclosed_quote_line(lines, err)
    if opened is not None:
        return Issue(name, opened, "yaml", _line_text(lines, opened),
                     f"a quote opened on this line is never closed (the YAML reader stumbled "
                     f"at line {line}: {err.problem})",
                     'close the quote on this line, e.g. ru: "Вода"')
    return Issue(name, line, "yaml", _line_text(lines, line), f"malformed YAML: {err.problem}",
                 "check the indentation and quoting of this line (a colon in a text needs the "
                 "text in quotes)")


_DOUBLE_QUOTE = re.compile(r'(?<!\\)"')
_SINGLE_QUOTE_OPENS = re.compile(r"(^|[:\[{,-])\s*'")


def _unclosed_quote_line(lines: list[str], err: yaml.MarkedYAMLError) -> int | None:
    """The line (1-based) where a quote is opened and not closed, when that explains the error:
    the start of the quoted scalar PyYAML was scanning, or else the last line between the
    construct PyYAML was parsing and the place it failed with an odd number of quotes."""
    if err.context and "quoted scalar" in err.context and err.context_mark:
        return err.context_mark.line + 1
    if err.problem_mark is None:
        return None
    last = err.problem_mark.line + 1
    first = err.context_mark.line + 1 if err.context_mark else last
    for number in range(min(last, len(lines)), max(first, 1) - 1, -1):
        text = lines[number - 1]
        doubles = len(_DOUBLE_QUOTE.findall(text))
        if doubles % 2 or (_SINGLE_QUOTE_OPENS.search(text) and text.count("'") % 2):
            return number
    return None


def _line_text(lines: list[str], number: int | None) -> str:
    return lines[number - 1].strip() if number and number <= len(lines) else ""
