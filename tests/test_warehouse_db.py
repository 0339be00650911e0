"""The warehouse file: migrations are recorded once, and a second process gets a clear message
instead of DuckDB's lock error, with nothing changed."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from aimak.errors import WarehouseLockedError
from warehouse.db import connect
from warehouse.schema import MIGRATIONS, migrate


def test_migrations__applied_once_and_recorded(tmp_path):
    conn = connect(tmp_path / "w.duckdb")
    assert migrate(conn) == []  # connect already applied them
    names = [r[0] for r in conn.execute("SELECT name FROM _migrations ORDER BY name").fetchall()]
    assert names == [name for name, _sql in MIGRATIONS]
    conn.close()


def test_second_process__is_told_the_warehouse_is_in_use(tmp_path):
    path = tmp_path / "w.duckdb"
    connect(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, duckdb
            conn = duckdb.connect({str(path)!r})
            print("ready", flush=True)
            sys.stdin.read()
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(WarehouseLockedError) as caught:
            connect(path)
        message = str(caught.value)
        assert "in use by another aimak run" in message and f"process {holder.pid}" in message
        assert "nothing was changed" in message
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
    connect(path).close()  # free again once the other run ended
