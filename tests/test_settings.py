"""Settings come from the environment and aimak.toml only; the token never shows; plain http is
refused unless the host is loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from aimak.errors import ConfigError
from etl.settings import load_settings

NO_FILE = Path("/nonexistent/aimak.toml")


def test_settings__defaults_without_environment():
    s = load_settings({}, NO_FILE)
    assert s.kobo_url == "https://kf.kobotoolbox.org"
    assert s.warehouse == Path("data/warehouse.duckdb") and s.lang == "ru" and s.kobo_token is None


def test_settings__token_never_in_repr():
    s = load_settings({"KOBO_TOKEN": "f" * 40}, NO_FILE)
    assert s.kobo_token == "f" * 40
    assert "f" * 40 not in repr(s)


@pytest.mark.parametrize("url", ["http://kf.example.org", "http://10.0.0.5:8000", "ftp://x"])
def test_settings__plain_http_to_a_remote_host_is_refused(url):
    with pytest.raises(ConfigError, match="KOBO_URL"):
        load_settings({"KOBO_URL": url}, NO_FILE)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:9"])
def test_settings__plain_http_to_loopback_is_allowed(url):
    assert load_settings({"KOBO_URL": url}, NO_FILE).kobo_url == url


def test_settings__toml_file_read_and_environment_wins(tmp_path):
    path = tmp_path / "aimak.toml"
    path.write_text('kobo_url = "https://kobo.example.org"\naimak_lang = "ky"\n', encoding="utf-8")
    s = load_settings({"AIMAK_LANG": "en"}, path)
    assert s.kobo_url == "https://kobo.example.org" and s.lang == "en"


def test_settings__token_in_toml_file_is_refused(tmp_path):
    path = tmp_path / "aimak.toml"
    path.write_text('kobo_token = "abc"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="KOBO_TOKEN") as caught:
        load_settings({}, path)
    assert "abc" not in str(caught.value)


def test_settings__unknown_language_names_the_variable():
    with pytest.raises(ConfigError, match="AIMAK_LANG"):
        load_settings({"AIMAK_LANG": "de"}, NO_FILE)
