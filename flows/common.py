"""What the flows share: settings, opening the client and the warehouse, the retry rule, and
the terminal progress bar. Wiring only."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from prefect.states import State

from aimak.errors import KoboUnavailableError
from etl.kobo import KoboClient
from etl.settings import Settings, load_settings


def settings_with(**overrides: Any) -> Settings:
    """Settings from the environment and aimak.toml, with the non-secret overrides applied."""
    return load_settings().with_overrides(**overrides)


def retry_on_io(task: Any, task_run: Any, state: State) -> bool:
    """Prefect retry rule: only network and server faults are worth another try, never a 4xx."""
    try:
        state.result()
    except (KoboUnavailableError, ConnectionError, TimeoutError):
        return True
    except Exception:
        return False
    return False


@contextmanager
def client_for(settings: Settings) -> Iterator[KoboClient]:
    client = KoboClient.from_settings(settings)
    try:
        yield client
    finally:
        client.close()


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
