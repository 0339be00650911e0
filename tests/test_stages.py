"""The plain stages the commands call: the demo empties only a folder it wrote, and a summary
knows whether its warehouse is new."""

from __future__ import annotations

import pytest

from aimak.errors import AimakError
from flows.common import WarehouseInUse
from flows.stages import DEMO_MARK, empty_demo_folder


def test_demo_folder__holding_other_files_is_refused_and_left_untouched(tmp_path):
    folder = tmp_path / "Documents"
    folder.mkdir()
    (folder / "thesis.docx").write_text("mine")
    (folder / "forms").mkdir()
    with pytest.raises(AimakError, match=r"holds files the demo did not write \(thesis.docx\)"):
        empty_demo_folder(folder)
    assert (folder / "thesis.docx").read_text() == "mine" and (folder / "forms").is_dir()


def test_demo_folder__a_former_demo_is_emptied_and_marked(tmp_path):
    marked, old = tmp_path / "marked", tmp_path / "old"
    for folder in (marked, old):
        (folder / "simulation").mkdir(parents=True)
        (folder / "warehouse.duckdb").write_text("x")
    (marked / DEMO_MARK).write_text("")
    (marked / "notes.txt").write_text("left by the demo's user, inside the demo's own folder")
    for folder in (marked, old):  # marked by the demo, or holding only what a demo writes
        empty_demo_folder(folder)
        assert sorted(p.name for p in folder.iterdir()) == [DEMO_MARK]


def test_warehouse_in_use__new_until_the_file_exists(tmp_path):
    path = tmp_path / "w.duckdb"
    assert WarehouseInUse.at(path).new and "(new: created by this command" in WarehouseInUse.at(path).summary()
    path.write_bytes(b"")
    assert WarehouseInUse.at(path).summary() == f"warehouse: {path}"
