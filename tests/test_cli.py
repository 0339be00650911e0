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


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _listening_addresses(port: int) -> set[str]:
    """IPv4 addresses with a socket listening on ``port`` (Linux /proc/net/tcp)."""
    import ipaddress
    from pathlib import Path

    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
            found.add(str(ipaddress.IPv4Address(bytes.fromhex(address)[::-1])))
    return found


def _run_server(tmp_path, *options: str):
    """Start ``aimak server`` in its own process; return it and what it printed up to 'Ctrl+C'."""
    import os
    import queue
    import subprocess
    import sys
    import threading

    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "server", "--port", str(port), "--data", str(tmp_path / "data"),
         *options],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    printed = []
    while not printed or "Press Ctrl+C" not in printed[-1]:
        try:
            printed.append(lines.get(timeout=60))
        except queue.Empty:
            process.kill()
            raise AssertionError(f"aimak server printed no 'Ctrl+C' line: {printed}") from None
    return process, port, "".join(printed)


def _stop(process) -> None:
    import signal

    process.send_signal(signal.SIGTERM)  # serve() stops cleanly on SIGTERM, as on Ctrl+C
    assert process.wait(timeout=30) == 0


def test_server__prints_urls_account_and_token_and_binds_loopback_by_default(tmp_path):
    import re
    import sys

    import pytest
    import requests

    process, port, out = _run_server(tmp_path, "--username", "team1", "--password", "s3cret")
    try:
        url = f"http://127.0.0.1:{port}"
        assert f"API (KOBO_URL):          {url}\n" in out
        assert f"ODK Collect server URL:  {url}   username: team1   password: s3cret\n" in out
        token = re.search(r"API token \(KOBO_TOKEN\):  ([0-9a-f]{40})\n", out).group(1)
        assert requests.get(f"{url}/api/v2/assets/", headers={"Authorization": f"Token {token}"}).status_code == 200
        assert requests.get(f"{url}/token/?format=json", auth=("team1", "s3cret")).json() == {"token": token}
        form_list = requests.get(f"{url}/formList", auth=requests.auth.HTTPDigestAuth("team1", "s3cret"))
        assert form_list.status_code == 200 and "xformsList" in form_list.text  # the OpenRosa URL
        if not sys.platform.startswith("linux"):
            pytest.skip("the bound address is read from /proc/net/tcp")
        assert _listening_addresses(port) == {"127.0.0.1"}
    finally:
        _stop(process)


def test_server__on_every_interface_gives_the_pipeline_a_loopback_kobo_url_and_phones_the_lan_url(
        tmp_path):
    import re
    from urllib.parse import urlsplit

    import pytest
    import requests
    from kobo_world import FORM_ID, household_form

    from aimak.errors import ConfigError
    from aimak.settings import check_server_url, is_loopback, load_settings
    from etl.deploy import deploy_forms
    from etl.http import HttpClient
    from etl.kobo import KoboClient
    from forms.xlsform import write_xlsform

    options = ("--host", "0.0.0.0", "--username", "team1", "--password", "s3cret")
    process, port, out = _run_server(tmp_path, *options)
    try:
        kobo_url = re.search(r"API \(KOBO_URL\): +(\S+)\n", out).group(1)
        token = re.search(r"API token \(KOBO_TOKEN\):  ([0-9a-f]{40})\n", out).group(1)
        phone_url = re.search(r"ODK Collect server URL: +(\S+)   username: team1", out).group(1)
        assert kobo_url == f"http://127.0.0.1:{port}"
        settings = load_settings({"KOBO_URL": kobo_url, "KOBO_TOKEN": token}, tmp_path / "none.toml")
        assert settings.kobo_url == kobo_url  # accepted: the pipeline refuses plain http elsewhere
        phone_host = urlsplit(phone_url).hostname
        assert phone_host != "0.0.0.0" and urlsplit(phone_url).port == port
        if not is_loopback(phone_host):  # a machine with a network: the LAN address, for phones
            with pytest.raises(ConfigError, match="plain http"):
                check_server_url(phone_url, "KOBO_URL")
        form_list = requests.get(f"{phone_url}/formList",
                                 auth=requests.auth.HTTPDigestAuth("team1", "s3cret"))
        assert form_list.status_code == 200 and "<xform>" not in form_list.text  # a fresh server
        assert "No form is deployed yet" in out
        assert f"    export KOBO_URL={kobo_url} KOBO_TOKEN={token}\n" in out
        assert "    aimak forms build && aimak forms deploy\n" in out
        assert _listening_addresses(port) == {"0.0.0.0"}
        # what the printed commands do: deploy through the printed KOBO_URL and token
        write_xlsform(household_form(1), tmp_path / "forms" / f"{FORM_ID}.xlsx")
        deploy_forms(KoboClient(HttpClient(settings.kobo_url, settings.kobo_token)), tmp_path / "forms")
    finally:
        _stop(process)
    again, _port, out = _run_server(tmp_path, *options)
    _stop(again)
    assert "  Forms phones can download: Household\n" in out and "No form is deployed" not in out


def test_server__restart_keeps_the_password__another_accounts_token_exits_1(tmp_path):
    import re
    import subprocess
    import sys

    import requests

    first, _port, out = _run_server(tmp_path, "--username", "team1", "--password", "s3cret")
    _stop(first)
    token = re.search(r"API token \(KOBO_TOKEN\):  ([0-9a-f]{40})\n", out).group(1)
    again, port, out = _run_server(tmp_path, "--username", "team1")
    try:
        assert "username: team1   password: (unchanged since the last run; --password sets it)" in out
        assert requests.get(f"http://127.0.0.1:{port}/token/", auth=("team1", "s3cret")).status_code == 200
        assert requests.get(f"http://127.0.0.1:{port}/token/", auth=("team1", "demo")).status_code == 401
    finally:
        _stop(again)
    refused = subprocess.run(
        [sys.executable, "-m", "flows.cli", "server", "--port", "0", "--data", str(tmp_path / "data"),
         "--username", "team2", "--token", token], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1
    assert "already belongs to the account 'team1'" in refused.stderr and token not in refused.stderr


def test_sync__full_refresh_and_confirm_deletions_reach_the_stage_and_a_refusal_exits_1(monkeypatch):
    from types import SimpleNamespace

    import flows.stages
    from aimak.errors import DeletionsRefusedError

    calls = []

    def stage(settings, form, **options):
        calls.append((form, options))

        def refusals() -> None:
            if not options["confirm_deletions"]:
                raise DeletionsRefusedError("household: the sync would delete 30 of its 30 live "
                                            "submissions")
        return SimpleNamespace(summary=lambda: "household: 0 new", raise_for_refusals=refusals)

    monkeypatch.setattr(flows.stages, "sync", stage)
    monkeypatch.setenv("KOBO_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("KOBO_TOKEN", "t0ken")
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    refused = runner.invoke(app, ["sync", "--form", "household", "--full-refresh"])
    assert refused.exit_code == 1
    # the summary first, then the refusal as the one error line
    assert refused.output.strip().splitlines() == [
        "household: 0 new", "error: household: the sync would delete 30 of its 30 live submissions"]
    confirmed = runner.invoke(app, ["sync", "--form", "household", "--confirm-deletions"])
    assert confirmed.exit_code == 0
    assert calls == [("household", {"full_refresh": True, "confirm_deletions": False,
                                    "attachments": None}),
                     ("household", {"full_refresh": False, "confirm_deletions": True,
                                    "attachments": None})]
    assert "--full-refresh" in runner.invoke(app, ["sync", "--help"]).output
