"""Settings come from the environment and aimak.toml only; the token never shows; plain http is
refused unless the host is loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from aimak.errors import ConfigError
from aimak.settings import load_settings, prefect_api_url

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


def test_settings__missing_token_says_how_to_set_it():
    with pytest.raises(ConfigError, match="KOBO_TOKEN is not set: export the API key"):
        load_settings({}, NO_FILE).require_token()


def test_settings__warehouse_under_a_regular_file_is_refused_naming_the_file(tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("x")
    with pytest.raises(ConfigError) as caught:
        load_settings({"AIMAK_WAREHOUSE": str(blocker / "deeper" / "w.duckdb")}, NO_FILE)
    assert f"{str(blocker)!r} is a file, not a folder" in str(caught.value)
    assert "AIMAK_WAREHOUSE" in str(caught.value)
    with pytest.raises(ConfigError, match="is a folder"):
        load_settings({"AIMAK_WAREHOUSE": str(tmp_path)}, NO_FILE)


def test_settings__an_option_replaces_a_bad_variable_before_the_check(tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("x")
    env = {"AIMAK_WAREHOUSE": str(blocker / "w.duckdb")}
    assert load_settings(env, NO_FILE, warehouse=tmp_path / "w.duckdb").warehouse == tmp_path / "w.duckdb"


def test_prefect_api_url__none_without_variable_file_or_profile(tmp_path):
    assert prefect_api_url({"PREFECT_HOME": str(tmp_path)}, tmp_path) is None


def test_prefect_api_url__from_the_environment_then_prefect_toml_then_the_active_profile(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "profiles.toml").write_text(
        'active = "local"\n[profiles.local]\nPREFECT_API_URL = "http://127.0.0.1:4200/api"\n'
        '[profiles.ephemeral]\nPREFECT_SERVER_EPHEMERAL_ENABLED = "true"\n')
    env = {"PREFECT_HOME": str(home)}
    assert prefect_api_url(env, tmp_path) == "http://127.0.0.1:4200/api"
    assert prefect_api_url({**env, "PREFECT_PROFILE": "ephemeral"}, tmp_path) is None
    (tmp_path / "prefect.toml").write_text('[api]\nurl = "http://prefect.lan:4200/api"\n')
    assert prefect_api_url(env, tmp_path) == "http://prefect.lan:4200/api"
    assert prefect_api_url({**env, "PREFECT_API_URL": "https://api.prefect.cloud/x"}, tmp_path) \
        == "https://api.prefect.cloud/x"


def test_prefect_api_url__a_broken_profiles_file_counts_as_none(tmp_path):
    (tmp_path / "profiles.toml").write_text("active = [unclosed\n")
    assert prefect_api_url({"PREFECT_PROFILES_PATH": str(tmp_path / "profiles.toml")}, tmp_path) is None
