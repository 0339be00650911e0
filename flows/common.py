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

from aimak.settings import Settings
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
