"""What the stages and the flows share: opening the client, naming the warehouse in use, and the
terminal progress bar. Wiring only, and no Prefect import: a command that does not run as a
Prefect flow run never pays for importing it."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aimak.errors import ConfigError
from aimak.settings import Settings, load_settings
from etl.kobo import KoboClient


@contextmanager
def client_for(settings: Settings) -> Iterator[KoboClient]:
    client = KoboClient.from_settings(settings)
    try:
        yield client
    finally:
        client.close()


@dataclass(frozen=True)
class WarehouseInUse:
    """The warehouse a command works on, and whether the command created it: a mistyped
    ``AIMAK_WAREHOUSE`` would otherwise start an empty warehouse and a full sync unnoticed."""

    path: Path
    new: bool

    @classmethod
    def at(cls, path: Path) -> WarehouseInUse:
        """Call before the first connection: a file that is not there yet is a new warehouse."""
        path = Path(path)
        return cls(path.absolute(), not path.exists())

    @classmethod
    def existing(cls, path: Path, nothing_to: str, fix: str) -> WarehouseInUse:
        """The warehouse at ``path``, which must exist: a stage that only reads what earlier
        stages wrote (scores, reports, publishing) says so in one line instead of creating an
        empty one."""
        where = cls.at(path)
        if where.new:
            raise ConfigError(f"there is no warehouse at {path}: nothing to {nothing_to}. Fix: "
                              f"{fix}")
        return where

    def summary(self) -> str:
        if self.new:
            return (f"warehouse: {self.path} (new: created by this command; if you meant an "
                    "existing one, check AIMAK_WAREHOUSE or --warehouse)")
        return f"warehouse: {self.path}"


@contextmanager
def terminal_progress(enabled: bool | None = None) -> Iterator[Callable[[Any], None] | None]:
    """A rich progress bar per form (records pulled, pages, rate) when run in a terminal."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"),
                  TextColumn("{task.fields[records]} records · {task.fields[pages]} pages · "
                             "{task.fields[rate]:.0f}/s"), TimeElapsedColumn(),
                  transient=False) as bar:
        tasks: dict[str, Any] = {}

        def update(progress: Any) -> None:
            if progress.form_id not in tasks:
                tasks[progress.form_id] = bar.add_task(progress.form_id, total=None, records=0,
                                                       pages=0, rate=0.0)
            bar.update(tasks[progress.form_id], records=progress.records, pages=progress.pages,
                       rate=progress.rate)

        yield update


def flow_settings(warehouse: str | None = None, out: str | None = None,
                  lang: str | None = None) -> Settings:
    """The settings inside a flow run, resolved once from the environment and ``aimak.toml`` with
    the flow's parameters (paths as strings, so Prefect can show them) applied and checked."""
    return load_settings(warehouse=Path(warehouse) if warehouse else None,
                         out=Path(out) if out else None, lang=lang)
