"""The model runner: dependency order from the SQL itself, one transaction, failing models and
checks leave the previous tables in place and name the file and the rows."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from aimak.errors import ScoringError
from warehouse.models import Model, checks, ordered, run_models, sql_models


def write(folder: Path, layer: str, name: str, sql: str) -> None:
    (folder / layer).mkdir(parents=True, exist_ok=True)
    (folder / layer / f"{name}.sql").write_text(sql, encoding="utf-8")


@pytest.fixture()
def models_dir(tmp_path):
    write(tmp_path, "marts", "b_total", "SELECT sum(x) AS total FROM a_base -- reads a_base")
    write(tmp_path, "staging", "a_base", "-- materialized: view\nSELECT x FROM source")
    write(tmp_path, "marts", "c_share", "SELECT x / (SELECT total FROM b_total) AS share FROM a_base")
    write(tmp_path, "checks", "shares_below_one", "SELECT share FROM c_share WHERE share > 1")
    return tmp_path


def test_order_follows_the_tables_each_model_names_not_the_file_order(models_dir):
    names = [m.name for m in ordered(sql_models(models_dir))]
    assert names.index("a_base") < names.index("b_total") < names.index("c_share")


def test_a_name_in_a_comment_is_no_dependency(tmp_path):
    write(tmp_path, "marts", "one", "SELECT 1 AS x -- not from two")
    write(tmp_path, "marts", "two", "SELECT x FROM one")
    assert [m.name for m in ordered(sql_models(tmp_path))] == ["one", "two"]


def test_a_cycle_is_refused_naming_the_models(tmp_path):
    write(tmp_path, "marts", "one", "SELECT * FROM two")
    write(tmp_path, "marts", "two", "SELECT * FROM one")
    with pytest.raises(ScoringError, match="circle: one, two"):
        ordered(sql_models(tmp_path))


def test_python_models_join_the_graph_through_what_they_read_and_write(tmp_path):
    write(tmp_path, "marts", "uses_extra", "SELECT * FROM extra_table")
    built = Model("py_model", None, build=lambda c: None, reads=frozenset({"a"}),
                  writes=frozenset({"extra_table"}))
    names = [m.name for m in ordered([*sql_models(tmp_path), built])]
    assert names == ["py_model", "uses_extra"]


def test_run_builds_views_and_tables_and_passes_checks(models_dir):
    conn = duckdb.connect()
    conn.execute("CREATE TABLE source AS SELECT * FROM (VALUES (1.0), (3.0)) t(x)")
    result = run_models(conn, sql_models(models_dir), checks(models_dir))
    assert result.checks == ["shares_below_one"]
    kinds = dict(conn.execute("SELECT table_name, table_type FROM information_schema.tables").fetchall())
    assert kinds["a_base"] == "VIEW" and kinds["b_total"] == "BASE TABLE"
    assert conn.execute("SELECT sum(share) FROM c_share").fetchone()[0] == pytest.approx(1.0)


def test_a_failing_check_names_its_file_and_rows_and_keeps_the_previous_marts(models_dir):
    conn = duckdb.connect()
    conn.execute("CREATE TABLE source AS SELECT * FROM (VALUES (1.0), (3.0)) t(x)")
    run_models(conn, sql_models(models_dir), checks(models_dir))
    # new data makes a share above 1 (a negative total): the check must stop the rebuild
    conn.execute("DELETE FROM source")
    conn.execute("INSERT INTO source VALUES (-1.0), (-2.0), (4.0)")
    with pytest.raises(ScoringError) as err:
        run_models(conn, sql_models(models_dir), checks(models_dir))
    message = str(err.value)
    assert "shares_below_one.sql" in message and "share=4.0" in message
    # the marts of the last good run are intact
    assert conn.execute("SELECT total FROM b_total").fetchone()[0] == pytest.approx(4.0)
    assert sorted(r[0] for r in conn.execute("SELECT share FROM c_share").fetchall()) == [0.25, 0.75]


def test_a_failing_model_names_its_file_and_changes_nothing(models_dir):
    conn = duckdb.connect()
    conn.execute("CREATE TABLE source AS SELECT * FROM (VALUES (1.0), (3.0)) t(x)")
    run_models(conn, sql_models(models_dir), checks(models_dir))
    write(models_dir, "marts", "c_share", "SELECT no_such_column FROM a_base")
    with pytest.raises(ScoringError, match=r"c_share\.sql: the model failed"):
        run_models(conn, sql_models(models_dir), checks(models_dir))
    assert conn.execute("SELECT count(*) FROM c_share").fetchone()[0] == 2


def test_the_project_models_are_in_an_order_that_exists():
    names = [m.name for m in ordered(sql_models())]
    assert names.index("stg_interviews") < names.index("fct_interviews") < names.index("gap_scores")


def test_a_temp_table_model_stays_out_of_the_file_and_replaces_a_stored_table_of_its_name(
        tmp_path):
    write(tmp_path, "staging", "scratch", "-- materialized: temp table\nSELECT x * 2 AS y FROM source")
    write(tmp_path, "marts", "kept", "SELECT sum(y) AS total FROM scratch")
    path = tmp_path / "w.duckdb"
    conn = duckdb.connect(str(path))
    conn.execute("CREATE TABLE source AS SELECT * FROM (VALUES (1), (3)) t(x)")
    conn.execute("CREATE TABLE scratch AS SELECT 99 AS y")  # what an older aimak stored
    run_models(conn, sql_models(tmp_path), [])
    # the connection reads the temporary table; the file keeps the mart and not the scratch table
    assert conn.execute("SELECT list(y ORDER BY y) FROM scratch").fetchone()[0] == [2, 6]
    assert conn.execute("SELECT total FROM kept").fetchone()[0] == 8
    conn.close()
    conn = duckdb.connect(str(path))
    stored = {r[0] for r in conn.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert stored == {"source", "kept"}
