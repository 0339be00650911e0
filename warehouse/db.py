"""Opening the DuckDB warehouse: one writer process at a time, with a clear message otherwise."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from aimak.errors import WarehouseError, WarehouseLockedError
from warehouse.schema import migrate

# DuckDB's own default is 80 % of the machine's memory; a fixed budget keeps a sync of any size
# flat in memory (DuckDB spills to a temporary folder beside the file instead), as DESIGN.md asks.
MEMORY_LIMIT = "256MB"
# One thread: the sync interleaves small statements with network waits, where more threads add
# coordination CPU without saving time (measured in bench/sync.py).
THREADS = 1


def connect(path: Path, read_only: bool = False, *, memory_limit: str = MEMORY_LIMIT,
            threads: int = THREADS) -> duckdb.DuckDBPyConnection:
    """Open (and create or migrate) the warehouse at ``path``.

    A second process cannot open a file another one is writing: that gives
    :class:`WarehouseLockedError` naming the other process, instead of DuckDB's IO error.
    """
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = duckdb.connect(str(path), read_only=read_only,
                              config={"memory_limit": memory_limit, "threads": threads})
    except duckdb.IOException as err:
        text = str(err)
        if "lock" in text.lower():
            pid = re.search(r"PID (\d+)", text)
            holder = f" (process {pid.group(1)})" if pid else ""
            raise WarehouseLockedError(
                f"the warehouse {path} is in use by another aimak run{holder}. Wait for it to "
                "finish and run the command again; nothing was changed.") from err
        raise WarehouseError(f"cannot open the warehouse {path}: {text}") from err
    except duckdb.Error as err:
        raise WarehouseError(f"cannot open the warehouse {path}: {err}. If the file is damaged, "
                             "move it aside and run 'aimak sync' to rebuild it from the server "
                             "and the landing files.") from err
    if not read_only:
        migrate(conn)
    return conn


def landing_dir(warehouse_path: Path) -> Path:
    """The landing folder beside the warehouse file: raw pages exactly as received."""
    return Path(warehouse_path).parent / "landing"
