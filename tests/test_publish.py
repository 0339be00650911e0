"""``aimak publish``: the marts, dimensions and typed form tables copied to PostgreSQL (a real
server the session starts on 127.0.0.1) and to SQLite, equal to the DuckDB warehouse, idempotent,
atomic per round, readers never seeing half a publish, no personal data and no password anywhere.

The warehouse is ``tests/report_world.py`` (two rounds, every number worked out by hand)."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3

import duckdb
import psycopg
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from aimak.errors import ConfigError, PublishError
from aimak.settings import load_settings
from flows.cli import app
from tests import report_world as world
from tests.postgres_server import MISSING, PASSWORD, PostgresServer, binaries, free_port
from warehouse.publish import publish
from warehouse.publish_tables import DIMENSIONS, ROUND_TABLES, published_type

MARTS = [spec.name for spec in ROUND_TABLES + DIMENSIONS]
FORM_TABLES = ["submissions_citizen_survey", "submissions_lsg_assessment", "submissions_focus_group",
               "repeat_focus_group__fg_participant", "repeat_focus_group__fg_theme",
               "repeat_focus_group__fg_quote"]


@pytest.fixture(scope="session")
def postgres():
    """One PostgreSQL server for the session (CI installs Debian's package: no skipping)."""
    if binaries() is None:
        pytest.fail(MISSING)
    with PostgresServer() as server:
        yield server


@pytest.fixture()
def pg_url(postgres, request):
    """A new empty database on the session's server for each test."""
    name = f"t_{request.node.name.split('[')[0][-40:].lower()}_{free_port()}"
    with psycopg.connect(postgres.url(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return postgres.url(database=name)


@pytest.fixture(params=["postgresql", "sqlite"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'marts.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture(scope="module")
def definition(study):
    return world.definition(study[0])


@pytest.fixture()
def two_rounds(study):
    return world.build(study[0], two_rounds=True)


def snapshot(url: str, tables: list[str]) -> dict[str, list[tuple]]:
    """Every row of ``tables`` in the target, normalised (instants in UTC, sorted)."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    metadata = sa.MetaData()
    try:
        with engine.connect() as db:
            return {name: sorted((tuple(_plain(v) for v in row) for row in db.execute(
                sa.select(sa.Table(name, metadata, autoload_with=db)))), key=_order)
                for name in tables}
    finally:
        engine.dispose()


def warehouse_rows(conn: duckdb.DuckDBPyConnection, name: str, columns: list[str],
                   where: str = "") -> list[tuple]:
    quoted = ", ".join(f'"{c}"' for c in columns)
    return sorted((tuple(_plain(v) for v in row)
                   for row in conn.execute(f'SELECT {quoted} FROM "{name}" {where}').fetchall()),
                  key=_order)


def _plain(value):
    if isinstance(value, dt.datetime) and value.tzinfo:
        return value.astimezone(dt.UTC).replace(tzinfo=None)  # SQLite keeps UTC without offset
    return value


def _order(row: tuple) -> tuple:
    return tuple((v is None, str(v)) for v in row)


def columns_of(url: str, name: str) -> list[str]:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as db:
            return [c["name"] for c in sa.inspect(db).get_columns(name)]
    finally:
        engine.dispose()


# --- what is published --------------------------------------------------------------------------

def test_publish__every_table_equals_the_warehouse_rows_and_values(url, two_rounds, definition):
    result = publish(two_rounds, url, definition)
    assert result.rounds == ("r1", "r2")
    published = snapshot(url, MARTS + FORM_TABLES)
    for name in MARTS + FORM_TABLES:
        columns = columns_of(url, name)
        stored = [d[0] for d in two_rounds.execute(f'SELECT * FROM "{name}" LIMIT 0').description]
        assert columns == [c for c in stored if c not in result.left_out.get(name, ())], name
        expected = warehouse_rows(two_rounds, name, columns)
        assert result.rows[name] == len(expected), name
        assert published[name] == expected, name
    assert result.rows["gap_scores"] == 9 and result.rows["gap_changes"] == 3


def test_publish__types_are_numbers_dates_and_booleans_for_bi_tools(pg_url, two_rounds, definition):
    publish(two_rounds, pg_url, definition)
    with psycopg.connect(pg_url) as db:
        types = dict(db.execute("""SELECT column_name, data_type FROM information_schema.columns
                                   WHERE table_name = 'gap_scores'""").fetchall())
        dates = dict(db.execute("""SELECT column_name, data_type FROM information_schema.columns
                                   WHERE table_name = 'fieldwork_progress'""").fetchall())
        indexes = {row[0] for row in db.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'gap_scores'").fetchall()}
    assert types["n"] == "bigint" and types["satisfaction"] == "double precision"
    assert types["suppressed"] == "boolean" and types["round"] == "text"
    assert dates["day"] == "date"
    assert any("(round, municipality_code, service_code)" in index for index in indexes)


def test_publish__comments_come_from_the_data_dictionary(pg_url, two_rounds, definition):
    meanings = {"satisfaction": "S: the dictionary's text", "gap": "G = S - E"}
    publish(two_rounds, pg_url, definition, meanings=meanings)
    with psycopg.connect(pg_url) as db:
        def comment(column: str) -> str:
            return db.execute("""SELECT col_description('gap_scores'::regclass, ordinal_position)
                                 FROM information_schema.columns
                                 WHERE table_name = 'gap_scores' AND column_name = %s""",
                              [column]).fetchone()[0]
        table = db.execute("SELECT obj_description('gap_scores'::regclass)").fetchone()[0]
        assert comment("satisfaction") == "S: the dictionary's text"
        assert comment("gap") == "G = S - E"
        assert comment("round").startswith("Study round code")  # no dictionary text: our own
        assert table.startswith("Satisfaction S, effectiveness E and the gap")


def test_publish__personal_questions_are_left_out_of_the_form_tables(url, two_rounds, definition):
    result = publish(two_rounds, url, definition)
    assert "assessor" not in columns_of(url, "submissions_lsg_assessment")
    assert "fg_moderator" not in columns_of(url, "submissions_focus_group")
    assert "fg_quote_participant" not in columns_of(url, "repeat_focus_group__fg_quote")
    assert "fg_quote_text" in columns_of(url, "repeat_focus_group__fg_quote")
    assert result.left_out["submissions_lsg_assessment"] == ("assessor",)


def test_publish__a_geopoint_and_its_parts_are_personal(url, two_rounds, definition):
    """A question typed geopoint in the synced form's content goes with its parts."""
    two_rounds.execute("""UPDATE forms SET content = '{"survey": [{"type": "geopoint",
                          "name": "gps"}]}' WHERE form_id = 'citizen_survey'""")
    publish(two_rounds, url, definition)
    columns = columns_of(url, "submissions_citizen_survey")
    assert not [c for c in columns if c.startswith("gps")]
    assert "resp_sex" in columns


def test_declared_marts__match_the_warehouse_columns_and_types(two_rounds):
    """Every column of every published mart is declared (a new mart column fails here until it
    is), with the type its DuckDB type publishes as."""
    for spec in ROUND_TABLES + DIMENSIONS:
        warehouse = dict(two_rounds.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ?",
            [spec.name]).fetchall())
        declared = dict(spec.columns)
        assert list(declared) == list(warehouse), spec.name
        for name, kind in declared.items():
            wanted = type(published_type(warehouse[name]))
            if spec.name == "dim_indicator" and name in ("floor", "target", "weight"):
                continue  # whole numbers in this study, decimals allowed by the definition
            if warehouse[name] != '"NULL"':
                assert {"t": sa.Text, "i": sa.BigInteger, "f": sa.Double, "b": sa.Boolean,
                        "d": sa.Date}[kind] is wanted, (spec.name, name)


# --- idempotent, atomic, rounds side by side ------------------------------------------------

def test_publish__a_second_publish_changes_nothing(url, two_rounds, definition):
    publish(two_rounds, url, definition)
    before = snapshot(url, MARTS + FORM_TABLES)
    publish(two_rounds, url, definition)
    assert snapshot(url, MARTS + FORM_TABLES) == before
    assert len(snapshot(url, ["publish_log"])["publish_log"]) == 2


def test_publish__a_new_round_is_added_beside_the_old_ones(url, two_rounds, definition):
    first = publish(two_rounds, url, definition, "r1")
    assert first.rounds == ("r1",)
    r1 = snapshot(url, ["gap_scores"])["gap_scores"]
    assert {row[0] for row in r1} == {"r1"}
    publish(two_rounds, url, definition, "r2")
    both = snapshot(url, ["gap_scores", "gap_changes"])
    assert {row[0] for row in both["gap_scores"]} == {"r1", "r2"}
    assert [row for row in both["gap_scores"] if row[0] == "r1"] == r1
    assert {row[1] for row in both["gap_changes"]} == {"r2"}  # round_after


def test_publish__republishing_a_round_replaces_only_that_round(url, two_rounds, definition):
    publish(two_rounds, url, definition)
    r1 = [row for row in snapshot(url, ["gap_scores"])["gap_scores"] if row[0] == "r1"]
    two_rounds.execute("UPDATE gap_scores SET satisfaction = 1 WHERE round = 'r2'")
    two_rounds.execute("UPDATE gap_scores SET satisfaction = 2 WHERE round = 'r1'")
    publish(two_rounds, url, definition, "r2")
    rows = snapshot(url, ["gap_scores"])["gap_scores"]
    assert [row for row in rows if row[0] == "r1"] == r1
    assert {row[4] for row in rows if row[0] == "r2"} == {1.0}


def test_publish__a_failure_in_the_third_table_leaves_the_previous_publish_intact(
        url, two_rounds, definition):
    publish(two_rounds, url, definition)
    before = snapshot(url, MARTS + FORM_TABLES + ["publish_log"])
    two_rounds.execute("UPDATE gap_scores SET satisfaction = 0")
    two_rounds.execute("DELETE FROM fieldwork_progress")
    written: list[str] = []

    def fail_at_the_third(name: str, rows: int) -> None:
        written.append(name)
        if len(written) == 3:
            raise RuntimeError("injected failure while writing the third table")

    with pytest.raises(RuntimeError, match="injected"):
        publish(two_rounds, url, definition, on_table=fail_at_the_third)
    assert written == ["gap_scores", "municipality_scores", "gap_changes"]
    assert snapshot(url, MARTS + FORM_TABLES + ["publish_log"]) == before


@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")  # reflecting the CHECK below
def test_publish__a_database_error_midway_rolls_back_and_says_so(pg_url, two_rounds, definition):
    publish(two_rounds, pg_url, definition)
    before = snapshot(pg_url, MARTS)
    with psycopg.connect(pg_url, autocommit=True) as db:  # the third table now refuses its rows
        db.execute("ALTER TABLE gap_changes ADD CONSTRAINT refuse CHECK (n_before < 0) NOT VALID")
    with pytest.raises(PublishError) as caught:
        publish(two_rounds, pg_url, definition)
    assert "nothing was changed" in str(caught.value) and "refuse" in str(caught.value)
    assert PASSWORD not in str(caught.value)
    assert snapshot(pg_url, MARTS) == before


def _totals(read) -> tuple:
    """What a reader adds up across three tables: one publish's values in all, or a mix."""
    return (read("SELECT sum(satisfaction) FROM gap_scores"),
            read("SELECT sum(satisfaction) FROM municipality_scores"),
            read("SELECT count(*) FROM fieldwork_progress"))


def test_publish__a_reader_sees_the_old_round_or_the_new_never_a_mix(url, two_rounds, definition):
    publish(two_rounds, url, definition)
    if url.startswith("sqlite"):
        reader = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        snapshot_reader = None
    else:
        reader = psycopg.connect(url, autocommit=True)
        snapshot_reader = psycopg.connect(url)  # one REPEATABLE READ snapshot, taken before
        snapshot_reader.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")

    def read(sql: str):
        return reader.execute(sql).fetchone()[0]

    old = _totals(read)
    if snapshot_reader:
        assert _totals(lambda sql: snapshot_reader.execute(sql).fetchone()[0]) == old
    two_rounds.execute("UPDATE gap_scores SET satisfaction = satisfaction + 1")
    two_rounds.execute("UPDATE municipality_scores SET satisfaction = satisfaction + 1")
    two_rounds.execute("DELETE FROM fieldwork_progress WHERE round = 'r2'")
    seen: list[tuple] = []
    publish(two_rounds, url, definition, on_table=lambda name, rows: seen.append(_totals(read)))
    new = _totals(read)
    assert new != old and len(seen) == len(MARTS) + len(FORM_TABLES)
    assert set(seen) == {old}  # between any two statements of the publish: the old state whole
    if snapshot_reader:  # a snapshot taken before the publish still reads the old state whole
        assert _totals(lambda sql: snapshot_reader.execute(sql).fetchone()[0]) == old
        snapshot_reader.close()
    reader.close()


# --- errors and secrets -------------------------------------------------------------------------

def test_publish__a_wrong_password_is_one_line_naming_the_url_without_it(
        postgres, two_rounds, definition, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = postgres.url(password="not-the-Pw-42")
    with pytest.raises(PublishError) as caught:
        publish(two_rounds, wrong, definition)
    message = str(caught.value)
    assert f"cannot connect to postgresql://aimak:***@127.0.0.1:{postgres.port}/postgres" in message
    assert "password authentication failed" in message and "Fix:" in message
    assert "not-the-Pw-42" not in message and "\n" not in message
    assert "not-the-Pw-42" not in caplog.text


def test_publish__an_unreachable_server_names_the_url_and_the_fix(two_rounds, definition):
    url = f"postgresql://someone:hidden-Pw-7@127.0.0.1:{free_port()}/db"
    with pytest.raises(PublishError) as caught:
        publish(two_rounds, url, definition)
    assert "cannot connect to postgresql://someone:***@127.0.0.1" in str(caught.value)
    assert "hidden-Pw-7" not in str(caught.value) and "Fix:" in str(caught.value)


@pytest.mark.parametrize("bad", ["not a url", "nosuchdb://u:pw-9@host/db"])
def test_publish__a_bad_url_is_a_config_error_without_its_password(bad, two_rounds, definition):
    with pytest.raises(ConfigError) as caught:
        publish(two_rounds, bad, definition)
    assert "pw-9" not in str(caught.value) and "Fix:" in str(caught.value)


def test_publish__the_password_is_in_no_result_and_no_publish_log(pg_url, two_rounds, definition):
    result = publish(two_rounds, pg_url, definition)
    assert PASSWORD not in result.summary() and "***" in result.url
    with psycopg.connect(pg_url) as db:
        log = db.execute("SELECT * FROM publish_log").fetchall()
    assert len(log) == 1 and PASSWORD not in repr(log)
    row = dict(zip(["id", "published_at", "rounds", "warehouse", "study_code", "definition_round",
                    "definition_hash", "tables", "rows"], log[0][:9], strict=True))
    assert row["rounds"] == "r1, r2" and row["tables"]["gap_scores"] == 9
    assert len(row["definition_hash"]) == 64 and row["rows"] == sum(result.rows.values())


def test_publish__an_unknown_round_is_refused_naming_the_rounds(two_rounds, definition, tmp_path):
    with pytest.raises(ConfigError, match="'r9'.*r1, r2"):
        publish(two_rounds, f"sqlite:///{tmp_path / 'm.db'}", definition, "r9")


# --- the command line and the settings ------------------------------------------------------------

def test_settings__publish_url_comes_from_the_environment_and_stays_out_of_repr(tmp_path):
    settings = load_settings({"AIMAK_PUBLISH_URL": "postgresql://u:Pw-x1@h/db"},
                             config_file=tmp_path / "none.toml")
    assert settings.publish_url == "postgresql://u:Pw-x1@h/db" and "Pw-x1" not in repr(settings)


def test_cli_publish__to_wins_over_the_environment_and_prints_the_tables(
        two_rounds, tmp_path, monkeypatch):
    warehouse = tmp_path / "warehouse.duckdb"
    two_rounds.execute(f"ATTACH '{warehouse}' AS copy")
    two_rounds.execute("COPY FROM DATABASE memory TO copy")
    two_rounds.execute("DETACH copy")
    monkeypatch.setenv("AIMAK_PUBLISH_URL", "postgresql://u:env-Pw@127.0.0.1:1/never")
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    target = tmp_path / "marts.db"
    result = CliRunner().invoke(app, ["publish", "--to", f"sqlite:///{target}", "--round", "r2",
                                      "--warehouse", str(warehouse)])
    assert result.exit_code == 0, result.output
    assert "published round(s) r2 to sqlite:///" in result.output and "gap_scores: 3" in result.output
    with sqlite3.connect(target) as db:
        assert db.execute("SELECT count(*) FROM gap_scores").fetchone()[0] == 3


def test_cli_publish__without_a_url_says_how_to_set_one(tmp_path, monkeypatch):
    monkeypatch.delenv("AIMAK_PUBLISH_URL", raising=False)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    result = CliRunner().invoke(app, ["publish", "--warehouse", str(tmp_path / "w.duckdb")])
    assert result.exit_code == 1
    assert "no database to publish to" in result.output and "AIMAK_PUBLISH_URL" in result.output
