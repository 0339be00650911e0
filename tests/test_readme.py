"""The README a newcomer follows is true: every ``aimak`` command it shows parses with the options
and values it shows (the command line's own parser, without running anything), every path inside the
project it names exists, and its links and pictures point at files that are there."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
# the project's own top-level folders: a path starting with one of them names a file we ship
PROJECT_DIRS = ("forms", "etl", "warehouse", "flows", "fieldsim", "aimak", "bench", "docs", "tests",
                "reports", ".ci")
GENERATED = ("forms/xlsform/",)  # written by `aimak forms build`: names there may not exist yet


def _code_spans(text: str) -> list[str]:
    blocks = re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S)
    without_blocks = re.sub(r"```[a-z]*\n.*?```", "", text, flags=re.S)
    lines = [line for block in blocks for line in block.splitlines()]
    return lines + re.findall(r"`([^`\n]+)`", without_blocks)


def _commands() -> list[list[str]]:
    """Each ``aimak ...`` shown: in a code block or span, after any ``VAR=value`` settings, up to
    an arrow, a semicolon or a bracket closing a remark."""
    found = []
    for span in _code_spans(README):
        for piece in re.split(r"→|;|\(|\)|&&", span.split("#", 1)[0]):
            words = [w for w in shlex.split(piece.replace("[", " ").replace("]", " "))
                     if w not in ("...", "…")]
            while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
                words.pop(0)
            if len(words) > 1 and words[0] == "aimak" and re.fullmatch(r"[a-z]+", words[1]):
                found.append(words[1:])
    return found


def _paths() -> set[str]:
    named = set(re.findall(r"\]\(([^)#\s]+)\)", README))  # links and pictures
    for span in _code_spans(README):
        for word in span.split():
            word = word.strip("`,;:()")
            if "/" in word and word.split("/")[0] in PROJECT_DIRS:
                named.add(word)
    return {p for p in named if not p.startswith(("http://", "https://", "#"))
            and not any(c in p for c in "<>*…{}=") and not p.startswith(GENERATED)}


COMMANDS = _commands()


def test_the_readme_shows_the_commands_of_each_role():
    shown = {" ".join(c[:1]) for c in COMMANDS}
    assert {"demo", "sync", "run", "serve", "report", "plan", "server", "score"} <= shown


@pytest.mark.parametrize("words", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_every_command_in_the_readme_parses(words):
    """The command line's own parser reads the words (options, their values, no extra
    arguments) into a context without running the command."""
    import typer

    from flows.cli import app

    command, rest, name = typer.main.get_command(app), list(words), "aimak"
    while hasattr(command, "commands"):  # a group (typer's own click): go down to the command
        name = rest.pop(0)
        assert name in command.commands, f"no command {name!r} in {words}"
        command = command.commands[name]
    command.make_context(name, rest)  # raises a UsageError on anything it cannot parse


def test_every_project_path_in_the_readme_exists():
    paths = _paths()
    assert "forms/indicators.yaml" in paths and "docs/local-server.md" in paths
    missing = sorted(p for p in paths if not (ROOT / p.split(":")[0].rstrip("/")).exists())
    assert not missing, f"the README names paths that do not exist: {missing}"
    for entry in (p for p in paths if re.fullmatch(r"[\w/]+\.py:\w+", p)):  # flow entrypoints
        file, name = entry.split(":")
        assert f"def {name}(" in (ROOT / file).read_text(encoding="utf-8"), entry
