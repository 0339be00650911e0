"""`make` notices a virtual environment made by the wrong Python (3.12 first on PATH when it was
made), which can never install Aimak: the default .venv is made again with Python 3.11, another
VENV is left alone with a message saying what to do."""

from __future__ import annotations

import glob
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

MAKEFILE = Path(__file__).resolve().parents[1] / "Makefile"


def _other_python() -> str | None:
    """A Python that is not 3.11 and runs (a pyenv shim of an inactive version does not)."""
    candidates = [shutil.which(f"python3.{minor}") for minor in (12, 13, 10)]
    candidates += sorted(glob.glob(str(Path.home() / ".pyenv/versions/3.1[023]*/bin/python3")))
    for candidate in filter(None, candidates):
        done = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2] != (3, 11))"],
                              capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip() == "True":
            return candidate
    return None


OTHER = _other_python()
needs_make = pytest.mark.skipif(shutil.which("make") is None or OTHER is None or
                                sys.version_info[:2] != (3, 11),
                                reason="needs make, Python 3.11 and another Python")


def _make(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-f", str(MAKEFILE), "venv", f"PYTHON={sys.executable}", *args],
                          cwd=folder, capture_output=True, text=True, timeout=300)


@needs_make
def test_make__venv_of_another_python_elsewhere__left_alone_with_what_to_do(tmp_path):
    subprocess.run([OTHER, "-m", "venv", "--without-pip", "mine"], cwd=tmp_path, check=True)
    done = _make(tmp_path, "VENV=mine")
    assert done.returncode != 0
    assert "make: mine was made by Python 3." in done.stdout and "Aimak needs 3.11" in done.stdout
    assert "rm -rf mine" in done.stdout
    assert (tmp_path / "mine" / "bin" / "python").exists()  # not removed


@needs_make
@pytest.mark.slow
def test_make__default_venv_of_another_python__is_made_again_with_python_3_11(tmp_path):
    subprocess.run([OTHER, "-m", "venv", "--without-pip", ".venv"], cwd=tmp_path, check=True)
    done = _make(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "make: .venv was made by Python 3." in done.stdout and "making it again" in done.stdout
    version = subprocess.run([str(tmp_path / ".venv" / "bin" / "python"), "-V"],
                             capture_output=True, text=True).stdout
    assert version.startswith("Python 3.11")


@needs_make
def test_make__refuses_to_make_the_venv_with_another_python(tmp_path):
    done = _make(tmp_path, f"PYTHON={OTHER}")  # the later PYTHON= wins
    assert done.returncode != 0 and "make: Aimak needs Python 3.11" in done.stdout
    assert "make PYTHON=/path/to/python3.11" in done.stdout
    assert not (tmp_path / ".venv").exists()
