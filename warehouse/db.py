"""Opening the DuckDB warehouse: one writer process at a time, with a clear message otherwise.

DuckDB lets a process write to a file only while no other process has it open, even read-only
(a notebook's ``duckdb.connect(path, read_only=True)``). When the file is held, the message
names the holder truthfully: its pid and command line (from ``/proc`` where readable, with
secrets left out), whether it reads or writes, and how to release it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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

    A file another process holds gives :class:`WarehouseLockedError` naming that process,
    instead of DuckDB's IO error; a path that cannot be a file gives :class:`WarehouseError`.
    """
    path = Path(path)
    if not read_only:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:  # a file where a folder should be, no permission, ...
            raise WarehouseError(
                f"cannot create the folder of the warehouse {path} ({err.strerror}: "
                f"{err.filename}). Fix: set AIMAK_WAREHOUSE (or --warehouse) to a file in a "
                "folder you can write to.") from err
    try:
        conn = duckdb.connect(str(path), read_only=read_only,
                              config={"memory_limit": memory_limit, "threads": threads})
    except duckdb.IOException as err:
        text = str(err)
        if "lock" in text.lower():
            pid = re.search(r"PID (\d+)", text)
            holder = lock_holder(path, int(pid.group(1))) if pid else None
            raise WarehouseLockedError(_locked_message(path, holder, text),
                                       pid=holder.pid if holder else None) from err
        raise WarehouseError(f"cannot open the warehouse {path}: {text}") from err
    except duckdb.Error as err:
        raise WarehouseError(f"cannot open the warehouse {path}: {err}. If the file is damaged, "
                             "move it aside and run 'aimak sync' to rebuild it from the server "
                             "and the landing files.") from err
    if not read_only:
        migrate(conn)
    return conn


def table_exists(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether the warehouse holds the (stored, not temporary) table ``table``."""
    return bool(conn.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ? "
                             "AND NOT temporary", [table]).fetchone()[0])


def landing_dir(warehouse_path: Path) -> Path:
    """The landing folder beside the warehouse file: raw pages exactly as received."""
    return Path(warehouse_path).parent / "landing"


@dataclass(frozen=True)
class LockHolder:
    """The process that holds the warehouse file, as far as this machine can tell."""

    pid: int
    command: str | None  # its command line, secrets left out; None when /proc is not readable
    writes: bool | None  # True: it may write; False: it opened the file read-only; None: unknown

    @property
    def is_aimak(self) -> bool:
        return bool(self.command) and bool(re.search(r"\baimak\b|flows\.cli", self.command))


def lock_holder(path: Path, pid: int, proc: Path = Path("/proc")) -> LockHolder:
    """Who holds ``path``: the pid DuckDB named, its command line and its lock type (Linux
    ``/proc/<pid>/cmdline`` and ``/proc/locks``; unknown parts stay None elsewhere)."""
    try:
        argv = (proc / str(pid) / "cmdline").read_bytes().split(b"\0")
        command = _shown_command([a.decode(errors="replace") for a in argv if a]) or None
    except OSError:
        command = None
    writes = None
    try:
        inode = path.stat().st_ino
        for line in (proc / "locks").read_text().splitlines():
            fields = line.split()  # 1: POSIX  ADVISORY  WRITE 13089 fe:00:2162689 0 EOF
            if len(fields) >= 6 and fields[4] == str(pid) and fields[5].endswith(f":{inode}"):
                writes = fields[3] == "WRITE"
    except OSError:
        pass
    return LockHolder(pid, command, writes)


_SECRET_OPTION = re.compile(r"--?(token|password|passwd|secret|api[-_]?key)$", re.IGNORECASE)


def _shown_command(argv: list[str], limit: int = 160) -> str:
    """A command line for a message: values of token/password options become ***."""
    shown: list[str] = []
    for arg in argv:
        name, equals, _value = arg.partition("=")
        if shown and _SECRET_OPTION.match(shown[-1]):
            arg = "***"
        elif equals and _SECRET_OPTION.match(name):
            arg = f"{name}=***"
        shown.append(arg)
    text = " ".join(shown)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _locked_message(path: Path, holder: LockHolder | None, duckdb_text: str) -> str:
    if holder is None:
        return (f"the warehouse {path} is open in another process ({duckdb_text}). Close it and "
                "run the command again; nothing was changed.")
    who = f"process {holder.pid}" + (f" ({holder.command})" if holder.command else "")
    mode = {True: ", which may write to it", False: ", read-only", None: ""}[holder.writes]
    if holder.is_aimak:
        return (f"the warehouse {path} is in use by another aimak run: {who}{mode}. Wait for it "
                f"to finish (or stop it: kill {holder.pid}) and run the command again; nothing "
                "was changed.")
    return (f"the warehouse {path} is open in another program: {who}{mode}. DuckDB lets aimak "
            "write only while no other process has the file open, even read-only. Close that "
            "session (conn.close() in a notebook, .quit in the duckdb shell) or stop it "
            f"(kill {holder.pid}), then run the command again; nothing was changed.")
