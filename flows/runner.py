"""How a command runs: its stage called directly, or as a Prefect flow run.

Importing Prefect and starting its temporary server cost 5–7 s of a 10 s ``aimak sync``, for a
run nobody could watch (the temporary server is gone when the command ends). So a command runs
as a Prefect flow run only where a data manager schedules and watches runs: when this machine
reports to a Prefect API (``PREFECT_API_URL``, ``prefect.toml`` or the active Prefect profile,
read by :func:`aimak.settings.prefect_api_url` without importing Prefect), or when asked with
``--prefect``. Otherwise it calls the same plain functions (``flows.stages``) directly, and Prefect
is never imported. ``aimak run`` is always a flow run.

In a terminal, a flow run prints our summary once: Prefect's console handler is silenced, while
its API handler still sends every record to the Prefect server (the UI shows the logs).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from aimak.settings import prefect_api_url

T = TypeVar("T")


def runs_as_flow(asked: bool) -> bool:
    """True when the command should run as a Prefect flow run (see the module's docstring)."""
    return asked or prefect_api_url() is not None


def call_flow(flow: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``flow`` (a Prefect flow) with Prefect's console output off; return its result or
    raise its error (our own, since errors pickle to themselves)."""
    quiet_prefect_console()
    return flow(*args, **kwargs)


def quiet_prefect_console() -> None:
    """Raise Prefect's console handlers above CRITICAL; its API handlers are left alone."""
    from prefect.logging.handlers import PrefectConsoleHandler

    loggers = [logging.getLogger(), *(logger for logger in logging.Logger.manager.loggerDict.values()
                                      if isinstance(logger, logging.Logger))]
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, PrefectConsoleHandler):
                handler.setLevel(logging.CRITICAL + 1)
