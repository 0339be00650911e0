"""Errors a data manager can act on, through the real ``aimak`` command: one line on stderr
(what failed, the bad value, the fix), exit status 1, no traceback, and fast. "Fast" has a
baseline measured alongside: starting Python and importing the command's modules (about 0.4 s
and 0.9 s on this machine when idle). A command may take SLACK = 1.3 s more than that, so under
two seconds on an idle machine; the slack grows in proportion when the shared machine is loaded
and the baseline is slower than when idle. Also: every command has --help and a README line."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from kobo_world import household_form

from forms.xlsform import write_xlsform

AIMAK = Path(sys.executable).with_name("aimak")  # the console script installed with the package
ROOT = Path(__file__).resolve().parents[1]
SLACK = 1.3  # seconds a failing command may take beyond starting up, on an idle machine
CONFIG_MODULES = "flows.cli, aimak.settings"  # what a command imports before checking settings
STAGE_MODULES = "flows.cli, flows.stages"  # ... and before its first request
IDLE_STARTUP = {CONFIG_MODULES: 0.4, STAGE_MODULES: 0.9}  # seconds, measured on an idle machine


def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    """The environment of a fresh shell: no Kobo, Aimak or Prefect API settings of ours."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("KOBO_", "AIMAK_", "PREFECT_"))}
    env.update({"DO_NOT_TRACK": "1", "PREFECT_HOME": str(tmp_path / "prefect"),
                "AIMAK_WAREHOUSE": str(tmp_path / "w.duckdb"), **values})
    return env


def _aimak(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(AIMAK), *args], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path, env=_env(tmp_path, **env))


def _seconds(run) -> float:
    started = time.monotonic()
    run()
    return time.monotonic() - started


def _startup(modules: str) -> float:
    """Seconds to start Python and import ``modules``, measured now (the baseline)."""
    return _seconds(lambda: subprocess.run([sys.executable, "-c", f"import {modules}"], check=True,
                                           timeout=120))


def _limit(baseline: float, modules: str) -> float:
    return baseline + SLACK * max(1.0, baseline / IDLE_STARTUP[modules])


def _one_line(done: subprocess.CompletedProcess) -> str:
    """Check the command failed with status 1 and one ``error:`` line, no traceback; return it."""
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def _fails_fast(tmp_path: Path, modules: str, *args: str, **env: str) -> str:
    """Run the command; check it fails with one line, no traceback, and fast: best of up to three
    runs against the best of as many baselines (the machine is shared, its load jumps)."""
    runs: list[subprocess.CompletedProcess] = []
    best = _seconds(lambda: runs.append(_aimak(tmp_path, *args, **env)))
    line = _one_line(runs[0])
    baseline = _startup(modules)
    for _ in range(2):
        if best < _limit(baseline, modules):
            break
        best = min(best, _seconds(lambda: _aimak(tmp_path, *args, **env)))
        baseline = min(baseline, _startup(modules))
    assert best < _limit(baseline, modules), f"{best:.2f} s; starting up takes {baseline:.2f} s"
    return line


def test_missing_token__one_line_that_says_how_to_set_it(tmp_path):
    line = _fails_fast(tmp_path, CONFIG_MODULES, "sync", KOBO_URL="http://127.0.0.1:9")
    assert "KOBO_TOKEN is not set: export the API key" in line


def test_url_without_http__one_line_quoting_it(tmp_path):
    line = _fails_fast(tmp_path, CONFIG_MODULES, "sync", KOBO_URL="htp://kf.kobotoolbox.org",
                       KOBO_TOKEN="t" * 40)
    assert "KOBO_URL is 'htp://kf.kobotoolbox.org', which is not an http(s) URL" in line


def test_warehouse_under_a_regular_file__one_line_and_the_file_untouched(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    line = _fails_fast(tmp_path, CONFIG_MODULES, "sync", KOBO_URL="http://127.0.0.1:9",
                       KOBO_TOKEN="t" * 40, AIMAK_WAREHOUSE=str(notes / "w.duckdb"))
    assert f"{str(notes)!r} is a file, not a folder" in line
    assert notes.read_text() == "mine"


def test_connection_refused__says_to_start_the_server_or_check_the_url(tmp_path):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    line = _fails_fast(tmp_path, STAGE_MODULES, "sync", KOBO_URL=f"http://127.0.0.1:{port}",
                       KOBO_TOKEN="t" * 40)
    assert f"nothing answers at http://127.0.0.1:{port} (connection refused)" in line
    assert "Is the server running" in line and "aimak server" in line


@pytest.fixture()
def local_server(tmp_path):
    from fieldsim.server import LocalServer

    with LocalServer(tmp_path / "server") as server:
        yield server


def test_wrong_token__one_line_naming_kobo_token_without_the_token(tmp_path, local_server):
    wrong = "f" * 40
    line = _fails_fast(tmp_path, STAGE_MODULES, "sync", KOBO_URL=local_server.api_url,
                       KOBO_TOKEN=wrong)
    assert "refused the credentials" in line and "Check KOBO_TOKEN" in line and wrong not in line


def test_https_to_the_plain_http_local_server__says_to_use_http(tmp_path, local_server):
    url = local_server.api_url.replace("http://", "https://")
    line = _fails_fast(tmp_path, STAGE_MODULES, "sync", KOBO_URL=url, KOBO_TOKEN=local_server.token)
    assert f"{url} does not speak https" in line and "Use http:// in KOBO_URL" in line


def _deploy(server, tmp_path: Path, *form_ids: str) -> None:
    from aimak.settings import load_settings
    from flows.stages import deploy

    forms = tmp_path / "forms"
    for form_id in form_ids:
        write_xlsform(dataclasses.replace(household_form(1), form_id=form_id), forms / f"{form_id}.xlsx")
    deploy(load_settings({}, tmp_path / "none.toml", kobo_url=server.api_url,
                         kobo_token=server.token, warehouse=tmp_path / "deployed.duckdb"), forms)


def test_sync_form_typo__names_the_deployed_forms_suggests_the_closest_and_exits_1(
        tmp_path, local_server):
    env = {"KOBO_URL": local_server.api_url, "KOBO_TOKEN": local_server.token}
    line = _fails_fast(tmp_path, STAGE_MODULES, "sync", **env)
    assert f"no form is deployed on {local_server.api_url}" in line and "aimak forms deploy" in line
    _deploy(local_server, tmp_path, "citizen_survey", "focus_group", "lsg_assessment")
    line = _fails_fast(tmp_path, STAGE_MODULES, "sync", "--form", "citizen_surevy", **env)
    assert "--form 'citizen_surevy' is not a form deployed on" in line
    assert "did you mean 'citizen_survey'?" in line
    assert "The deployed forms are citizen_survey, focus_group, lsg_assessment" in line


def test_every_summary_names_the_warehouse__and_says_when_it_is_new(tmp_path, local_server):
    _deploy(local_server, tmp_path, "citizen_survey")
    path = tmp_path / "mistyped" / "w.duckdb"
    env = {"KOBO_URL": local_server.api_url, "KOBO_TOKEN": local_server.token,
           "AIMAK_WAREHOUSE": str(path)}
    first = _aimak(tmp_path, "sync", **env)
    again = _aimak(tmp_path, "sync", **env)
    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    assert first.stdout.strip().splitlines()[-1] == (
        f"warehouse: {path} (new: created by this command; if you meant an existing one, check "
        "AIMAK_WAREHOUSE or --warehouse)")
    assert again.stdout.strip().splitlines()[-1] == f"warehouse: {path}"
    deployed = _aimak(tmp_path, "forms", "deploy", "--forms", str(tmp_path / "forms"), **env)
    assert deployed.stdout.strip().splitlines()[-1] == f"warehouse: {path}"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the holder is read from /proc")
def test_warehouse_open_read_only_in_a_notebook__sync_names_that_process_and_how_to_release_it(
        tmp_path, local_server):
    _deploy(local_server, tmp_path, "citizen_survey")
    env = {"KOBO_URL": local_server.api_url, "KOBO_TOKEN": local_server.token}
    assert _aimak(tmp_path, "sync", **env).returncode == 0  # the warehouse exists
    notebook = tmp_path / "notebook.py"
    notebook.write_text(textwrap.dedent(f"""
        import sys, duckdb
        conn = duckdb.connect({str(tmp_path / "w.duckdb")!r}, read_only=True)
        print("ready", flush=True)
        sys.stdin.read()
    """))
    holder = subprocess.Popen([sys.executable, str(notebook)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        line = _fails_fast(tmp_path, STAGE_MODULES, "sync", **env)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert f"is open in another program: process {holder.pid} ({sys.executable} {notebook}), " \
           "read-only" in line
    assert "conn.close()" in line and f"kill {holder.pid}" in line
    assert "another aimak run" not in line


def _commands(group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        if hasattr(command, "commands"):  # a group, such as 'forms'
            found += _commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


def test_every_command__has_help_and_a_readme_line():
    import typer
    from typer.testing import CliRunner

    from flows.cli import app

    commands = _commands(typer.main.get_command(app))
    assert ("forms", "build") in commands and ("sync",) in commands and len(commands) >= 7
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for command in commands:
        shown = CliRunner().invoke(app, [*command, "--help"])
        assert shown.exit_code == 0 and "Example:" in shown.output, command
        assert f"| `aimak {' '.join(command)}" in readme, f"README has no line for {command}"
