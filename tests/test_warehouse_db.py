"""The warehouse file: migrations are recorded once, and a second process gets a clear message
instead of DuckDB's lock error, with nothing changed."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from aimak.errors import WarehouseError, WarehouseLockedError
from warehouse.db import connect
from warehouse.schema import MIGRATIONS, migrate


def test_migrations__applied_once_and_recorded(tmp_path):
    conn = connect(tmp_path / "w.duckdb")
    assert migrate(conn) == []  # connect already applied them
    names = [r[0] for r in conn.execute("SELECT name FROM _migrations ORDER BY name").fetchall()]
    assert names == [name for name, _sql in MIGRATIONS]
    conn.close()


def _hold(path, tmp_path, read_only: bool, script_name: str = "notebook.py", *args: str):
    """A process that opens the warehouse (read-only or not) and keeps it until stdin closes."""
    script = tmp_path / script_name
    script.write_text(textwrap.dedent(f"""
        import sys, duckdb
        conn = duckdb.connect({str(path)!r}, read_only={read_only})
        print("ready", flush=True)
        sys.stdin.read()
    """))
    holder = subprocess.Popen([sys.executable, str(script), *args], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "ready"
    return holder


def _release(holder) -> None:
    holder.stdin.close()
    holder.wait(timeout=10)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the holder is read from /proc")
def test_read_only_session_elsewhere__message_names_its_pid_command_and_how_to_release_it(tmp_path):
    path = tmp_path / "w.duckdb"
    connect(path).close()
    holder = _hold(path, tmp_path, True, "notebook.py", "--token", "f" * 40)
    try:
        with pytest.raises(WarehouseLockedError) as caught:
            connect(path)
    finally:
        _release(holder)
    message = str(caught.value)
    assert "another aimak run" not in message  # it is not one: it is a read-only session
    assert f"process {holder.pid} ({sys.executable} {tmp_path / 'notebook.py'} --token ***)" in message
    assert "read-only" in message and "conn.close()" in message and f"kill {holder.pid}" in message
    assert "nothing was changed" in message and "f" * 40 not in message
    assert caught.value.pid == holder.pid
    connect(path).close()  # free again once the other session ended


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the holder is read from /proc")
def test_second_aimak_run__is_told_to_wait_for_the_first(tmp_path):
    path = tmp_path / "w.duckdb"
    connect(path).close()
    holder = _hold(path, tmp_path, False, "aimak", "sync")
    try:
        with pytest.raises(WarehouseLockedError) as caught:
            connect(path)
    finally:
        _release(holder)
    message = str(caught.value)
    assert f"in use by another aimak run: process {holder.pid} (" in message
    assert "which may write to it" in message and "Wait for it to finish" in message


def test_warehouse_under_a_regular_file__one_line_error_naming_it(tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("not a folder")
    with pytest.raises(WarehouseError) as caught:
        connect(blocker / "w.duckdb")
    message = str(caught.value)
    assert "\n" not in message and str(blocker) in message and "AIMAK_WAREHOUSE" in message
    assert blocker.read_text() == "not a folder"
