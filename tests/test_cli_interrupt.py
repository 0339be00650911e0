"""Ctrl-C through a real SIGINT to the real ``aimak`` command (to its process group, as a terminal
sends it): the command ends within two seconds with exit status 130, says that a rerun resumes,
prints no traceback, leaves nothing half-written, and the rerun completes the work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kobo_world import FORM_ID, Field, household_form

from forms.xlsform import write_xlsform

AIMAK = Path(sys.executable).with_name("aimak")


def _start(tmp_path: Path, *args: str, **env: str) -> subprocess.Popen:
    clean = {key: value for key, value in os.environ.items()
             if not key.startswith(("KOBO_", "AIMAK_", "PREFECT_"))}
    clean.update({"DO_NOT_TRACK": "1", "PREFECT_HOME": str(tmp_path / "prefect"), **env})
    return subprocess.Popen([str(AIMAK), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=tmp_path, env=clean, start_new_session=True)


def _wait_for(condition, seconds: float, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"the command ended first: {process.communicate()}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"not reached within {seconds} s: {process.communicate()}")
        time.sleep(0.05)


def _ctrl_c(process: subprocess.Popen) -> tuple[float, str, str]:
    """SIGINT to the command's process group; seconds until it ended, its stdout and stderr."""
    sent = time.monotonic()
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    ended = time.monotonic() - sent
    out, err = process.communicate(timeout=30)
    return ended, out, err


@pytest.fixture()
def world(tmp_path):
    """A local server's data folder with the household form deployed and six submissions."""
    from aimak.settings import load_settings
    from fieldsim.engine import FormEngine
    from fieldsim.server import LocalServer
    from flows.stages import deploy

    write_xlsform(household_form(1), tmp_path / "forms" / f"{FORM_ID}.xlsx")
    with LocalServer(tmp_path / "server") as server, FormEngine() as engine:
        deploy(load_settings({}, tmp_path / "none.toml", kobo_url=server.api_url,
                             kobo_token=server.token, warehouse=tmp_path / "deployed.duckdb"),
               tmp_path / "forms")
        Field(server, engine, tmp_path).send(6, seed=3)
    return tmp_path / "server"


def _interrupted_then_resumed(tmp_path: Path, world: Path, *options: str) -> None:
    from fieldsim.server import LocalServer
    from warehouse.db import connect

    warehouse = tmp_path / "w.duckdb"
    # data pages answer after 60 s: the sync is surely waiting on one when Ctrl-C comes
    with LocalServer(world, faults="slow_page=60") as slow:
        env = {"KOBO_URL": slow.api_url, "KOBO_TOKEN": slow.token, "AIMAK_WAREHOUSE": str(warehouse)}
        sync = _start(tmp_path, "sync", *options, **env)
        _wait_for(warehouse.exists, 120, sync)  # it opened the warehouse: the page is next
        time.sleep(0.5)
        seconds, out, err = _ctrl_c(sync)
    assert sync.returncode == 130, (out, err)
    assert seconds < 2.0, f"ended {seconds:.2f} s after Ctrl-C"
    assert "Traceback" not in err and "interrupted" in err and "resumes where it stopped" in err
    conn = connect(warehouse)  # opens: nothing holds it; nothing half-written was kept
    assert conn.execute("SELECT count(*) FROM raw_submissions").fetchone() == (0,)
    conn.close()
    with LocalServer(world) as server:
        env = {"KOBO_URL": server.api_url, "KOBO_TOKEN": server.token, "AIMAK_WAREHOUSE": str(warehouse)}
        rerun = _start(tmp_path, "sync", **env)
        out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    assert f"{FORM_ID}: 6 new" in out


@pytest.mark.java
def test_ctrl_c_during_sync__exits_130_within_two_seconds_and_the_rerun_syncs_everything(
        tmp_path, world):
    _interrupted_then_resumed(tmp_path, world)


@pytest.mark.java
@pytest.mark.slow
def test_ctrl_c_during_a_prefect_sync_run__exits_130_within_two_seconds_too(tmp_path, world):
    _interrupted_then_resumed(tmp_path, world, "--prefect")


@pytest.mark.java
@pytest.mark.slow
def test_ctrl_c_during_demo__exits_130_within_two_seconds_saying_it_starts_over(tmp_path):
    out = tmp_path / "demo"
    demo = _start(tmp_path, "demo", "--out", str(out), "--respondents", "60")
    _wait_for((out / "server").exists, 300, demo)  # forms built, local server starting
    seconds, _out, err = _ctrl_c(demo)
    assert demo.returncode == 130 and seconds < 2.0, (seconds, err)
    assert "Traceback" not in err and "the demo stopped" in err and "starts over" in err
