"""``aimak score`` through the real command line: a warehouse scored with the bundled study, its
table printed, the marts written; a warehouse that does not exist and a round that has no
scores are one-line errors with exit status 1."""

from __future__ import annotations

import duckdb
from typer.testing import CliRunner

from flows.cli import app
from tests.scoring_world import ROUND, interview, write_synced

runner = CliRunner()


def synced_warehouse(path) -> None:
    """30 consenting interviews in two villages of the bundled study's AKM, rating water."""
    citizen = [interview(i, f"AKM0{1 + i % 2}", "fm"[i % 2], "30_44", municipality="AKM",
                         wat_use="1", wat_regularity=str(1 + i % 5), wat_quality=str(1 + i % 4),
                         wat_tariff=str(2 + i % 4), priority_services=["WAT", "RD"])
               for i in range(1, 31)]
    conn = duckdb.connect(str(path))
    write_synced(conn, citizen)
    conn.close()


def test_score__rebuilds_the_marts_and_prints_a_row_per_municipality(tmp_path, monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    warehouse = tmp_path / "w.duckdb"
    synced_warehouse(warehouse)
    result = runner.invoke(app, ["score", "--warehouse", str(warehouse)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"round {ROUND}: ") and lines[1].startswith("municipality")
    akm = next(line for line in lines if line.startswith("AKM"))
    assert akm.split()[6:8] == ["30", "30"]  # interviews, used
    assert lines[-1] == f"warehouse: {warehouse}"
    conn = duckdb.connect(str(warehouse), read_only=True)
    n, status = conn.execute("SELECT n, gap_status FROM gap_scores WHERE municipality_code = 'AKM' "
                             "AND service_code = 'WAT'").fetchone()
    assert n == 30 and status == "insufficient_data"  # no LSG assessment: no E, no gap


def test_score__a_missing_warehouse_or_an_unknown_round_is_one_line_and_exit_1(tmp_path, monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    missing = runner.invoke(app, ["score", "--warehouse", str(tmp_path / "none.duckdb")])
    assert missing.exit_code == 1
    assert missing.output.startswith("error: there is no warehouse at") and missing.output.count("\n") == 1
    warehouse = tmp_path / "w.duckdb"
    synced_warehouse(warehouse)
    wrong = runner.invoke(app, ["score", "--warehouse", str(warehouse), "--round", "r1999"])
    assert wrong.exit_code == 1
    assert f"--round 'r1999' has no scores (rounds scored: {ROUND})" in wrong.output
