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


def _refused_while_held(tmp_path, read_only: bool, script_name: str, *args: str):
    """Open the warehouse while another process (``script_name`` with ``args``) holds it,
    read-only or not; return that process's pid and the error this one got."""
    path = tmp_path / "w.duckdb"
    connect(path).close()
    script = tmp_path / script_name
    script.write_text(textwrap.dedent(f"""
        import sys, duckdb
        conn = duckdb.connect({str(path)!r}, read_only={read_only})
        print("ready", flush=True)
        sys.stdin.read()
    """))
    holder = subprocess.Popen([sys.executable, str(script), *args], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(WarehouseLockedError) as caught:
            connect(path)
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
    connect(path).close()  # free again once the other process ended
    return holder.pid, caught.value


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the holder is read from /proc")
def test_read_only_session_elsewhere__message_names_its_pid_command_and_how_to_release_it(tmp_path):
    pid, error = _refused_while_held(tmp_path, True, "notebook.py", "--token", "f" * 40)
    message = str(error)
    assert "another aimak run" not in message  # it is not one: it is a read-only session
    assert f"process {pid} ({sys.executable} {tmp_path / 'notebook.py'} --token ***)" in message
    assert "read-only" in message and "conn.close()" in message and f"kill {pid}" in message
    assert "nothing was changed" in message and "f" * 40 not in message
    assert error.pid == pid


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the holder is read from /proc")
def test_second_aimak_run__is_told_to_wait_for_the_first(tmp_path):
    pid, error = _refused_while_held(tmp_path, False, "aimak", "sync")
    message = str(error)
    assert f"in use by another aimak run: process {pid} (" in message
    assert "which may write to it" in message and "Wait for it to finish" in message


def test_warehouse_under_a_regular_file__one_line_error_naming_it(tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("not a folder")
    with pytest.raises(WarehouseError) as caught:
        connect(blocker / "w.duckdb")
    message = str(caught.value)
    assert "\n" not in message and str(blocker) in message and "AIMAK_WAREHOUSE" in message
    assert blocker.read_text() == "not a folder"
