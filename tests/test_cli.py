"""The aimak command line: help lists the commands; forms build reports and fails cleanly."""

from __future__ import annotations

import copy

from typer.testing import CliRunner

from flows.cli import app
from forms import BUNDLED_GEOGRAPHY

runner = CliRunner()


def test_help__lists_the_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("forms", "sync", "server", "simulate", "run", "demo"):
        assert command in result.output
    forms = runner.invoke(app, ["forms", "--help"])
    assert "build" in forms.output and "deploy" in forms.output


def test_forms_build__prints_what_it_wrote(tmp_path):
    from forms import BUNDLED_DEFINITION

    result = runner.invoke(app, ["forms", "build", "--definition", str(BUNDLED_DEFINITION),
                                 "--geography", str(BUNDLED_GEOGRAPHY), "--out", str(tmp_path),
                                 "--no-validate"])
    assert result.exit_code == 0, result.output
    assert "citizen_survey.xlsx" in result.output and "questions" in result.output
    assert "languages ru, ky, en" in result.output
    assert (tmp_path / "focus_group.xml").exists()


def test_forms_build__bad_definition_exits_1_with_every_mistake(definition_data, write_definition, tmp_path):
    data = copy.deepcopy(definition_data)
    data["method"]["gap_threshold"] = "ten"
    data["services"][0]["indicators"][0]["unit"] = "litres"
    result = runner.invoke(app, ["forms", "build", "--definition", str(write_definition(data)),
                                 "--geography", str(BUNDLED_GEOGRAPHY), "--out", str(tmp_path / "o"),
                                 "--no-validate"])
    assert result.exit_code == 1
    assert "gap_threshold" in result.output and "litres" in result.output
    assert not (tmp_path / "o").exists()
