"""Shared fixtures. Tests run offline; anything needing a server starts it on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from forms import BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY  # noqa: E402


def pytest_addoption(parser):
    parser.addoption("--reverse", action="store_true",
                     help="run the tests in reverse order (shows that none depends on another)")


def pytest_collection_modifyitems(config, items):
    """Reverse the order on ``--reverse``; skip tests marked ``java`` when Java is not installed
    (CI installs it)."""
    if config.getoption("--reverse"):
        items.reverse()
    if shutil.which("java"):
        return
    skip = pytest.mark.skip(reason="needs Java 17 (apt-get install openjdk-17-jdk-headless)")
    for item in items:
        if "java" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def definition_data() -> dict:
    """The bundled study definition as plain data, for tests that change one thing in it."""
    return yaml.safe_load(BUNDLED_DEFINITION.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def study():
    """The bundled definition and geography, loaded and checked."""
    from forms.build import load_study

    return load_study(BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY)


@pytest.fixture()
def write_definition(tmp_path):
    """Write a (changed) definition as YAML and return its path."""

    def write(data: dict, name: str = "indicators.yaml") -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return path

    return write


@pytest.fixture()
def geography_copy(tmp_path) -> Path:
    path = tmp_path / "geography.csv"
    shutil.copy(BUNDLED_GEOGRAPHY, path)
    return path


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory):
    """One temporary Prefect server for the whole session (its home in a temporary folder)."""
    import os

    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect"))
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=240):
        yield
