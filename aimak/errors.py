"""The one error hierarchy of Aimak.

Library code raises a subclass of :class:`AimakError`; the command line and the flows report it
(one message, non-zero exit). Every message says what failed, quotes the bad value and says how
to fix it. Messages never contain a secret: callers pass values through :func:`redact` first.

Every error pickles to itself (same class, message and attributes): Prefect keeps a failed run's
exception in its state and worker processes send it back pickled, so the data manager reads our
own message there, never one rebuilt from the wrong arguments.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class AimakError(Exception):
    """Base of every error a user can act on."""

    def __reduce__(self) -> tuple[object, ...]:
        # Exception pickles as cls(*self.args), which is wrong for a subclass whose __init__
        # takes other arguments than its message (DefinitionError takes issues): rebuild without
        # calling __init__, from the message and the attributes.
        return _restore, (type(self), self.args, self.__dict__)


def _restore(cls: type[AimakError], args: tuple[object, ...], state: dict) -> AimakError:
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class ConfigError(AimakError):
    """A setting is missing or wrong (environment variable, aimak.toml or command-line option)."""


@dataclass(frozen=True)
class Issue:
    """One mistake in a file a person edits: where it is, what is wrong and how to fix it."""

    file: str
    line: int | None
    field: str
    value: object
    problem: str
    fix: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        shown = _shorten(self.value)
        return f"{where}: {self.field}: {self.problem} (value: {shown}). Fix: {self.fix}"


def _shorten(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class DefinitionError(AimakError):
    """The study definition (indicators.yaml, geography.csv) has mistakes; all are listed."""

    def __init__(self, issues: Iterable[Issue]):
        self.issues = list(issues)
        lines = "\n".join(f"  {issue}" for issue in self.issues)
        count = len(self.issues)
        noun = "mistake" if count == 1 else "mistakes"
        super().__init__(
            f"the study definition has {count} {noun}; nothing was written:\n{lines}"
        )


class FormBuildError(AimakError):
    """A generated form failed conversion or validation (pyxform, ODK Validate)."""


class KoboError(AimakError):
    """A KoboToolbox server refused a request or could not be reached."""


class WarehouseError(AimakError):
    """The DuckDB warehouse cannot be opened, is locked, or holds unexpected data."""


def redact(text: str, *secrets: str | None) -> str:
    """Return ``text`` with every non-empty secret replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class KoboAuthError(KoboError):
    """The server refused the credentials (401/403)."""


class KoboNotFoundError(KoboError):
    """The asset, submission or endpoint does not exist for this account (404)."""


class KoboUnavailableError(KoboError):
    """The server could not be reached or kept failing (network errors, 5xx) after every retry."""


class PageUnreadableError(KoboError):
    """A data page arrived whole (HTTP 200) but is not a KoboToolbox data page: kept aside and
    fetched again; if it stays unreadable the server or a proxy in front of it is at fault."""


class DeletionsRefusedError(AimakError):
    """A sync deleted nothing from a form because the server's listing of its live records looks
    wrong (it would delete more than half of them, or it contradicts the server's own count); the
    data manager confirms real deletions with ``aimak sync --form ID --confirm-deletions``."""


class WarehouseLockedError(WarehouseError):
    """Another process holds the warehouse file: ``pid`` (None when DuckDB did not say)."""

    def __init__(self, message: str, pid: int | None = None):
        super().__init__(message)
        self.pid = pid


class NotDeployedError(KoboError):
    """The form asked for (``aimak sync --form``) is not deployed on the server, or none is."""


class SimulationError(AimakError):
    """The simulated field team could not fill a form (JavaRosa engine missing, crashed or refused an answer)."""


class LocalServerError(AimakError):
    """The local KoboToolbox-compatible server cannot start (bad option, port in use, data folder)."""


class PublishError(AimakError):
    """Publishing the marts to a database failed (unreachable, refused, or a statement failed);
    the database keeps what it had before."""


class ScoringError(WarehouseError):
    """A model or a check of ``aimak score`` failed; the previous marts are kept."""
