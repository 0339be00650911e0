"""The plain stages the commands call: a summary knows whether its warehouse is new (the demo's
folder guard is tested in test_demo.py)."""

from __future__ import annotations

from flows.common import WarehouseInUse


def test_warehouse_in_use__new_until_the_file_exists(tmp_path):
    path = tmp_path / "w.duckdb"
    assert WarehouseInUse.at(path).new and "(new: created by this command" in WarehouseInUse.at(path).summary()
    path.write_bytes(b"")
    assert WarehouseInUse.at(path).summary() == f"warehouse: {path}"
