"""``aimak demo --out DIR`` never deletes what it did not create: a new or empty folder gets a
marker; an earlier demo's folder loses only the demo's own files; any other folder is refused
with one line and left exactly as it was."""

from __future__ import annotations

import pytest

from aimak.errors import ConfigError
from flows.demo import demo_flow
from flows.demo_folder import DEMO_MARK as MARKER
from flows.demo_folder import DEMO_PATHS as OWN_PATHS
from flows.demo_folder import prepare_folder


def tree(folder) -> dict[str, bytes | None]:
    """Every path under ``folder`` with its bytes (None for a folder)."""
    return {str(p.relative_to(folder)): None if p.is_dir() else p.read_bytes()
            for p in sorted(folder.rglob("*"))}


def test_new_or_empty_folder__created_with_the_marker(tmp_path):
    prepare_folder(tmp_path / "new" / "demo")
    (tmp_path / "empty").mkdir()
    prepare_folder(tmp_path / "empty")
    assert list(tree(tmp_path / "new" / "demo")) == [MARKER] == list(tree(tmp_path / "empty"))


def test_folder_with_other_files__refused_in_one_line_and_left_untouched(tmp_path):
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (project / "notes.txt").write_text("mine")
    (project / "forms").mkdir()  # a name the demo also uses, but not the demo's folder
    (project / "forms" / "survey.xlsx").write_bytes(b"PK")
    before = tree(project)
    with pytest.raises(ConfigError) as caught:
        prepare_folder(project)
    message = str(caught.value)
    assert "\n" not in message and ".git, forms, notes.txt" in message
    assert "nothing was deleted" in message and "new or empty folder" in message
    assert tree(project) == before


def test_earlier_demo_folder__only_the_demos_own_files_replaced(tmp_path):
    out = tmp_path / "demo"
    prepare_folder(out)
    for name in ("forms", "server", "simulation", "landing"):
        (out / name / "sub").mkdir(parents=True)
        (out / name / "sub" / "file").write_text("old")
    (out / "warehouse.duckdb").write_bytes(b"old")
    (out / "warehouse.duckdb.wal").write_bytes(b"old")
    (out / "my-analysis.xlsx").write_bytes(b"kept")  # put there by a person since
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "precious").write_text("kept")
    (out / "simulation" / "link").symlink_to(tmp_path / "elsewhere")
    prepare_folder(out)
    assert tree(out) == {MARKER: (out / MARKER).read_bytes(), "my-analysis.xlsx": b"kept"}
    assert (tmp_path / "elsewhere" / "precious").read_text() == "kept"  # a link is not followed
    assert set(OWN_PATHS) >= {"forms", "server", "simulation", "landing", "warehouse.duckdb"}


def test_demo_folder_from_before_the_marker__holding_only_demo_paths__replaced(tmp_path):
    out = tmp_path / "old"
    (out / "simulation").mkdir(parents=True)
    (out / "warehouse.duckdb").write_text("x")
    prepare_folder(out)
    assert list(tree(out)) == [MARKER]


def test_a_file_given_as_the_folder__refused_and_kept(tmp_path):
    file = tmp_path / "report.docx"
    file.write_bytes(b"doc")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        prepare_folder(file)
    assert file.read_bytes() == b"doc"


def test_demo_flow__refuses_a_foreign_folder_before_starting_anything(tmp_path):
    (tmp_path / ".git").mkdir()
    with pytest.raises(ConfigError, match="files the demo did not write"):
        demo_flow.fn(out=str(tmp_path))
    assert [p.name for p in tmp_path.iterdir()] == [".git"]


def test_demo_command__refuses_a_foreign_folder_in_one_line_before_prefect_starts(tmp_path):
    from test_cli_errors import _aimak, _one_line

    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "notes.txt").write_text("mine")
    done = _aimak(tmp_path, "demo", "--out", str(tmp_path / "project"))
    assert "holds files the demo did not write (notes.txt)" in _one_line(done)
    assert "prefect" not in done.stderr.lower() and not (tmp_path / "prefect").exists()
    assert sorted(p.name for p in (tmp_path / "project").iterdir()) == ["notes.txt"]
