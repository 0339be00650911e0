"""Settings: the only module that reads environment variables and ``aimak.toml``.

Keys: ``KOBO_URL``, ``KOBO_TOKEN``, ``AIMAK_WAREHOUSE``, ``AIMAK_OUT``, ``AIMAK_LANG``,
``AIMAK_ATTACHMENTS`` (1: every sync also downloads photos and audio), ``AIMAK_PUBLISH_URL`` (the
SQLAlchemy URL ``aimak publish`` writes to). An optional ``aimak.toml`` in the working directory may
hold the same keys (lower case) except the token and the publish URL, which may hold a password and
only ever come from the environment. The environment wins over the file.

It lives in ``aimak/`` because every layer reads it: ``etl`` (the server and token),
``warehouse`` and ``reports`` (the warehouse path, the output folder, the language), ``flows``; none
of them may import another's internals (DESIGN.md section 3).

It also answers, without importing Prefect, whether this machine reports to a Prefect API
(:func:`prefect_api_url`): the command line runs a command as a Prefect flow run only then.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from aimak.errors import ConfigError

LANGUAGES = ("ru", "ky", "en")
DEFAULT_KOBO_URL = "https://kf.kobotoolbox.org"
_FILE_KEYS = {"kobo_url", "aimak_warehouse", "aimak_out", "aimak_lang", "aimak_attachments"}
_YES, _NO = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Settings:
    """Everything the pipeline needs to know about where things are.

    The token is kept out of ``repr`` so a Settings object can be logged safely.
    """

    kobo_url: str = DEFAULT_KOBO_URL
    kobo_token: str | None = field(default=None, repr=False)
    warehouse: Path = Path("data/warehouse.duckdb")
    out: Path = Path("out")
    lang: str = "ru"
    attachments: bool = False  # the sync also downloads each submission's files
    # where `aimak publish` writes (a SQLAlchemy URL; may hold a password, so kept out of repr)
    publish_url: str | None = field(default=None, repr=False)

    def with_overrides(self, **changes: object) -> Settings:
        """Return a copy with the non-None ``changes`` applied and checked."""
        kept = {key: value for key, value in changes.items() if value is not None}
        updated = replace(self, **kept)
        _check(updated)
        return updated

    def require_token(self) -> str:
        """The API token, or a :class:`ConfigError` saying how to set it."""
        if not self.kobo_token:
            raise ConfigError("KOBO_TOKEN is not set: export the API key of the KoboToolbox "
                              "account (Account settings → Security → API key) as KOBO_TOKEN.")
        return self.kobo_token


def load_settings(
    environ: Mapping[str, str] | None = None, config_file: Path | None = None,
    **overrides: object,
) -> Settings:
    """Read settings from ``aimak.toml`` (if present) and the environment, apply the non-None
    ``overrides`` (command-line options: they win, so a bad variable they replace is no error),
    then check them."""
    env = os.environ if environ is None else environ
    values: dict[str, str] = {}
    path = config_file if config_file is not None else Path("aimak.toml")
    if path.exists():
        values.update(_read_toml(path))
    for key in ("KOBO_URL", "AIMAK_WAREHOUSE", "AIMAK_OUT", "AIMAK_LANG", "AIMAK_ATTACHMENTS"):
        if env.get(key):
            values[key.lower()] = env[key]
    settings = Settings(
        kobo_url=values.get("kobo_url", DEFAULT_KOBO_URL).rstrip("/"),
        kobo_token=env.get("KOBO_TOKEN") or None,
        publish_url=env.get("AIMAK_PUBLISH_URL") or None,
        warehouse=Path(values.get("aimak_warehouse", "data/warehouse.duckdb")),
        out=Path(values.get("aimak_out", "out")),
        lang=values.get("aimak_lang", "ru"),
        attachments=_switch(values.get("aimak_attachments", "0"),
                            "AIMAK_ATTACHMENTS (or aimak_attachments in aimak.toml)"),
    )
    return settings.with_overrides(**overrides)


def _read_toml(path: Path) -> dict[str, str]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML ({err}). Fix the line it names.") from err
    if "kobo_token" in {key.lower() for key in data}:
        raise ConfigError(
            f"{path}: holds a token. Remove the kobo_token line and set the KOBO_TOKEN "
            "environment variable instead: a token must never be stored in a file that may be shared."
        )
    unknown = sorted(key for key in data if key.lower() not in _FILE_KEYS)
    if unknown:
        raise ConfigError(
            f"{path}: unknown key(s) {unknown}. Allowed: {sorted(_FILE_KEYS)}."
        )
    return {key.lower(): str(value) for key, value in data.items()}


def _switch(value: str, name: str) -> bool:
    """An on/off setting: 1/true/yes/on or 0/false/no/off (any case)."""
    text = value.strip().lower()
    if text in _YES or text in _NO:
        return text in _YES
    raise ConfigError(f"{name} is {value!r}; set it to 1 (on) or 0 (off).")


def _check(settings: Settings) -> None:
    check_server_url(settings.kobo_url, "KOBO_URL")
    if settings.lang not in LANGUAGES:
        raise ConfigError(
            f"the language {settings.lang!r} (AIMAK_LANG or --lang) is not one of "
            f"{', '.join(LANGUAGES)}: set it to ru, ky or en."
        )
    _check_warehouse(Path(settings.warehouse))


def _check_warehouse(path: Path) -> None:
    """The warehouse must be a file in a folder: refuse a folder, or a path under a file."""
    named = f"the warehouse path {str(path)!r} (AIMAK_WAREHOUSE or --warehouse)"
    if path.is_dir():
        raise ConfigError(f"{named} is a folder. Fix: name a file in it, e.g. "
                          f"{str(path / 'warehouse.duckdb')!r}.")
    for folder in path.parents:  # the nearest one that exists must be a folder
        if folder.is_dir():
            return
        if folder.exists():
            raise ConfigError(f"{named}: {str(folder)!r} is a file, not a folder. Fix: point it at "
                              "a file inside a folder, e.g. 'data/warehouse.duckdb'.")


def check_server_url(url: str, name: str = "server URL") -> str:
    """Refuse a URL that is not http(s), and plain http to anything but a loopback host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"{name} is {url!r}, which is not an http(s) URL; set it to the server's base, "
            f"e.g. {DEFAULT_KOBO_URL}."
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError(
            f"{name} is {url!r}: plain http would send the token unencrypted. Use https://, "
            "or a loopback address (127.0.0.1, localhost) for the local server."
        )
    return url


def is_loopback(host: str) -> bool:
    """True for localhost and addresses in 127.0.0.0/8 or ::1."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def toolchain_paths(environ: Mapping[str, str] | None = None) -> tuple[Path | None, Path]:
    """(JAVA_HOME or None, the user cache folder) for tools Aimak runs (javac/java, caches)."""
    env = os.environ if environ is None else environ
    java_home = Path(env["JAVA_HOME"]) if env.get("JAVA_HOME") else None
    cache = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return java_home, cache


def prefect_api_url(environ: Mapping[str, str] | None = None, workdir: Path = Path(".")) -> str | None:
    """The Prefect API this machine reports to, read the way Prefect reads it but without
    importing Prefect (a second of start-up): ``PREFECT_API_URL`` in the environment, then
    ``[api] url`` in ``prefect.toml`` of the working directory, then ``PREFECT_API_URL`` of the
    active profile (``PREFECT_PROFILE``, else ``active`` in ``profiles.toml`` under
    ``PREFECT_PROFILES_PATH``, ``PREFECT_HOME`` or ``~/.prefect``). None when none is set: Prefect
    would then start a temporary server of its own for each run."""
    env = os.environ if environ is None else environ
    if env.get("PREFECT_API_URL"):
        return env["PREFECT_API_URL"]
    api = _toml_or_empty(workdir / "prefect.toml").get("api")
    if isinstance(api, dict) and api.get("url"):
        return str(api["url"])
    if env.get("PREFECT_PROFILES_PATH"):
        profiles_path = Path(env["PREFECT_PROFILES_PATH"])
    else:
        home = Path(env["PREFECT_HOME"]) if env.get("PREFECT_HOME") else Path.home() / ".prefect"
        profiles_path = home / "profiles.toml"
    profiles = _toml_or_empty(profiles_path)
    active = env.get("PREFECT_PROFILE") or profiles.get("active")
    profile = (profiles.get("profiles") or {}).get(active) if isinstance(active, str) else None
    url = profile.get("PREFECT_API_URL") if isinstance(profile, dict) else None
    return str(url) if url else None


def _toml_or_empty(path: Path) -> dict:
    """A TOML file's content; empty when it is missing or unreadable (Prefect only warns then)."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
