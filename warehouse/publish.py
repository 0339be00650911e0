"""``aimak publish``: copy the marts, the dimension tables and the typed form tables (without
personal data) from the DuckDB warehouse to PostgreSQL, or any database SQLAlchemy reaches, for
dashboards that several people read (Power BI, Metabase, Superset).

One transaction per publish, so a reader sees the database as it was before or as it is after,
never a mix: the rounds published have their rows deleted and inserted again in every round table
(other rounds stay), the dimension and form tables are replaced whole (``warehouse.publish_tables``
says why), and a ``publish_log`` row records what was written. Publishing the same warehouse twice
leaves the same rows. A failure anywhere rolls everything back.

Bulk path: PostgreSQL (psycopg 3) gets each table as CSV written by DuckDB and streamed through
``COPY ... FROM STDIN``; other databases get batched ``executemany`` inserts. The URL's password
never reaches a message, a log or the ``publish_log`` (which does not keep the URL at all).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote_plus

import duckdb
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

import aimak
from aimak.errors import ConfigError, PublishError, WarehouseError, redact
from forms.definition import Definition
from warehouse.payloads import lit, q
from warehouse.personal import form_content, personal_questions
from warehouse.publish_tables import DIMENSIONS, ROUND_TABLES, Spec, form_table, log_table

BATCH = 5000  # rows per executemany batch (databases without a bulk path)
COPY_CHUNK = 1 << 20  # bytes per write into PostgreSQL's COPY
GEO_PARTS = ("latitude", "longitude", "altitude", "accuracy")  # a geopoint's own columns
URL_FIX = ("Fix: check the host, port, database, user and password in --to or AIMAK_PUBLISH_URL "
           "(e.g. postgresql://user:password@host:5432/database, or sqlite:///path/to/file.db).")


@dataclass(frozen=True)
class PublishResult:
    """What a publish wrote: rows per table, the rounds replaced, the time it took, the target
    (its password shown as ***) and the personal columns of each form table left out."""

    url: str
    rounds: tuple[str, ...]
    rows: dict[str, int]
    seconds: float
    left_out: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [f"published round(s) {', '.join(self.rounds)} to {self.url}: "
                 f"{sum(self.rows.values())} rows in {len(self.rows)} tables, {self.seconds:.1f} s"]
        lines += [f"  {name}: {rows}" for name, rows in self.rows.items()]
        lines += [f"  {name}: personal data left out ({', '.join(columns)})"
                  for name, columns in self.left_out.items() if columns]
        return "\n".join(lines)


@dataclass(frozen=True)
class Item:
    """One table to write: its declaration, where its rows come from in DuckDB (``source``: the
    FROM and WHERE of the query), and its round key (None: replaced whole)."""

    table: sa.Table
    source: str
    types: dict[str, str]  # the warehouse's column -> DuckDB type
    round_key: str | None = None


@dataclass
class Plan:
    metadata: sa.MetaData
    items: list[Item]
    rounds: tuple[str, ...]
    left_out: dict[str, tuple[str, ...]]


def publish(conn: duckdb.DuckDBPyConnection, url: str, definition: Definition,
            round_code: str | None = None, *, meanings: Mapping[str, str] | None = None,
            on_table: Callable[[str, int], None] | None = None) -> PublishResult:
    """Publish the warehouse's rounds (or ``round_code`` only) to ``url`` in one transaction.

    ``meanings``: column texts of the gap report's data dictionary by key
    (``reports.gap_columns.meanings``), used as column comments. ``on_table(name, rows)`` is
    called after each table is written, inside the transaction (progress)."""
    started = time.perf_counter()
    target = target_url(url)
    shown = sa.make_url(url).render_as_string(hide_password=True)
    secrets = _secrets(target)
    plan = plan_publish(conn, definition, round_code, meanings or {})
    engine = _engine(target, shown)
    rows: dict[str, int] = {}
    try:
        with _connected(engine, shown, secrets) as db:
            _lock(db)
            for item in plan.items:
                _prepare(db, item)
                rows[item.table.name] = _write(conn, db, item, plan.rounds)
                if on_table:
                    on_table(item.table.name, rows[item.table.name])
            seconds = time.perf_counter() - started
            _log(db, plan.metadata, conn, definition, plan.rounds, rows, seconds)
    except (DBAPIError, engine.dialect.loaded_dbapi.Error) as err:  # the latter: from COPY
        raise PublishError(f"publishing to {shown} failed, so nothing was changed there (the "
                           f"transaction was rolled back): {_reason(err, secrets)}") from None
    finally:
        engine.dispose()
    return PublishResult(shown, plan.rounds, rows, time.perf_counter() - started, plan.left_out)


# --- the target --------------------------------------------------------------------------------

def target_url(url: str) -> sa.URL:
    """The SQLAlchemy URL of ``url``; plain ``postgresql://`` uses psycopg 3 (the driver Aimak
    installs), not psycopg2."""
    try:
        target = sa.make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"the publish URL {_shown_raw(url)!r} is not a SQLAlchemy URL. " + URL_FIX) from None
    if target.drivername in ("postgresql", "postgres"):
        target = target.set(drivername="postgresql+psycopg")
    return target


def _shown_raw(url: str) -> str:
    """An unparseable URL as shown in a message: anything between '://' and '@' hidden."""
    head, sep, rest = url.partition("://")
    return f"{head}{sep}***@{rest.rpartition('@')[2]}" if sep and "@" in rest else url


def _secrets(target: sa.URL) -> tuple[str, ...]:
    password = target.password
    return (str(password), quote_plus(str(password))) if password else ()


def _engine(target: sa.URL, shown: str) -> Engine:
    try:
        return sa.create_engine(target)
    except NoSuchModuleError:
        raise ConfigError(f"the publish URL {shown} names a database SQLAlchemy does not know "
                          f"({target.drivername!r}). " + URL_FIX) from None
    except ImportError as err:
        raise ConfigError(f"the publish URL {shown} needs the Python driver {err.name!r}, which is "
                          f"not installed. Fix: pip install it, or use postgresql:// (psycopg 3 "
                          "is installed with aimak) or sqlite:///.") from None


@contextmanager
def _connected(engine: Engine, shown: str, secrets: tuple[str, ...]) -> Iterator[Connection]:
    """A connection in one transaction (committed when the block ends); a target that cannot be
    reached or refuses the login is a :class:`PublishError` naming it, password hidden."""
    try:
        db = engine.connect()
    except (DBAPIError, SQLAlchemyError) as err:
        raise PublishError(f"cannot connect to {shown}: {_reason(err, secrets)}. "
                           + URL_FIX) from None
    with db, db.begin():
        yield db


def _reason(err: Exception, secrets: tuple[str, ...]) -> str:
    """The driver's own message, first line, secrets hidden (SQLAlchemy's adds the statement and
    its parameters, too long to read)."""
    text = str(getattr(err, "orig", None) or err).strip().splitlines()
    return redact(text[0] if text else type(err).__name__, *secrets)


def _lock(db: Connection) -> None:
    """Two publishes at once to one PostgreSQL database take turns (each deletes what the other
    inserts otherwise); SQLite's own write lock does the same."""
    if db.dialect.name == "postgresql":
        db.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('aimak publish'))"))


# --- what is published -------------------------------------------------------------------------

def plan_publish(conn: duckdb.DuckDBPyConnection, definition: Definition,
                 round_code: str | None, meanings: Mapping[str, str]) -> Plan:
    """The tables to write and the queries of their rows; the rounds to replace."""
    relations = _columns_by_table(conn)
    missing = [s.name for s in ROUND_TABLES + DIMENSIONS if s.name not in relations]
    if missing:
        raise WarehouseError(f"the warehouse has no {', '.join(missing)}: nothing to publish. "
                             "Fix: run 'aimak score' (after 'aimak sync') first.")
    rounds = _rounds(conn, round_code)
    metadata = sa.MetaData()
    items = [_mart_item(metadata, spec, relations, meanings, rounds) for spec in ROUND_TABLES]
    items += [_mart_item(metadata, spec, relations, meanings, None) for spec in DIMENSIONS]
    left_out: dict[str, tuple[str, ...]] = {}
    personal_of: dict[str, frozenset[str]] = {}  # per asset: a form's repeats share its content
    for form_id, asset_uid, name in _synced_tables(conn, relations):
        if asset_uid not in personal_of:
            personal_of[asset_uid] = frozenset(personal_questions(
                definition, form_id, form_content(conn, asset_uid)))
        personal = personal_of[asset_uid]
        kept = [(c, t) for c, t in relations[name].items() if not _is_personal(c, personal)]
        left_out[name] = tuple(c for c in relations[name] if _is_personal(c, personal))
        rows = ("submissions, one row per live submission" if name.startswith("submissions_")
                else "a repeat, one row per instance")
        comment = (f"Typed answers of the form {form_id!r} ({rows}), as synced into the "
                   "warehouse; personal questions left out.")
        items.append(Item(form_table(metadata, name, kept, comment), f"FROM {q(name)}",
                          relations[name]))
    log_table(metadata)
    return Plan(metadata, items, rounds, left_out)


def _columns_by_table(conn: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for table, column, kind in conn.execute("""
            SELECT table_name, column_name, data_type FROM duckdb_columns()
            WHERE database_name = current_database() AND schema_name = 'main' AND NOT internal
            ORDER BY table_name, column_index""").fetchall():
        found.setdefault(table, {})[column] = kind
    return found


def _rounds(conn: duckdb.DuckDBPyConnection, round_code: str | None) -> tuple[str, ...]:
    union = " UNION ".join(f"SELECT DISTINCT CAST({q(s.round_key or '')} AS VARCHAR) AS r "
                           f"FROM {q(s.name)}" for s in ROUND_TABLES)
    found = tuple(row[0] for row in conn.execute(
        f"SELECT r FROM ({union}) WHERE r IS NOT NULL ORDER BY r").fetchall())
    if not found:
        raise WarehouseError("the warehouse holds no scored round: nothing to publish. Fix: run "
                             "'aimak sync' and 'aimak score' first.")
    if round_code is None:
        return found
    if round_code not in found:
        raise ConfigError(f"--round {round_code!r} is not a round of the warehouse (rounds: "
                          f"{', '.join(found)}). Fix: pass one of those, or score that round "
                          "first.")
    return (round_code,)


def _mart_item(metadata: sa.MetaData, spec: Spec, relations: dict[str, dict[str, str]],
               meanings: Mapping[str, str], rounds: tuple[str, ...] | None) -> Item:
    table = spec.table(metadata, meanings)
    where = ""
    if rounds is not None and spec.round_key:
        where = f" WHERE {q(spec.round_key)} IN ({', '.join(lit(r) for r in rounds)})"
    return Item(table, f"FROM {q(spec.name)}{where}", relations[spec.name],
                spec.round_key if rounds is not None else None)


def _synced_tables(conn: duckdb.DuckDBPyConnection,
                   relations: dict[str, dict[str, str]]) -> list[tuple[str, str, str]]:
    """(form id, asset uid, table) of every synced form's tables, each table once."""
    seen: set[str] = set()
    found = []
    for form_id, asset_uid, table in conn.execute("""
            SELECT form_id, asset_uid, table_name FROM form_tables
            WHERE NOT starts_with(repeat_path, '?')
            ORDER BY table_name, repeat_path""").fetchall():
        if table in relations and table not in seen:
            seen.add(table)
            found.append((form_id, asset_uid, table))
    return found


def _is_personal(column: str, personal: frozenset[str]) -> bool:
    """A personal question's column, one of its choices' (``q/choice``) or, for a geopoint, its
    parts (``q_latitude``, ...)."""
    if column in personal or column.partition("/")[0] in personal:
        return True
    base, _sep, part = column.rpartition("_")
    return part in GEO_PARTS and base in personal


# --- writing -----------------------------------------------------------------------------------

def _prepare(db: Connection, item: Item) -> None:
    """Create the table when it is missing. A round table that lacks declared columns gets
    them (its other rounds stay); a table replaced whole whose columns changed is made again."""
    table = item.table
    inspector = sa.inspect(db)
    if not inspector.has_table(table.name):
        table.create(db)
        return
    have = {column["name"] for column in inspector.get_columns(table.name)}
    wanted = [column for column in table.columns]
    if item.round_key is None and have != {c.name for c in wanted}:
        table.drop(db)
        table.create(db)
        return
    preparer = db.dialect.identifier_preparer
    for column in wanted:
        if column.name not in have:
            kind = column.type.compile(dialect=db.dialect)
            db.execute(sa.text(f"ALTER TABLE {preparer.format_table(table)} ADD COLUMN "
                               f"{preparer.quote(column.name)} {kind}"))


def _write(conn: duckdb.DuckDBPyConnection, db: Connection, item: Item,
           rounds: tuple[str, ...]) -> int:
    table = item.table
    if item.round_key:
        db.execute(table.delete().where(table.c[item.round_key].in_(rounds)))
    else:
        db.execute(table.delete())
    postgres = db.dialect.name == "postgresql" and db.dialect.driver == "psycopg"
    select = rows_query(item, utc_naive=not postgres)
    if postgres:
        return _copy(conn, db, table, select)
    return _insert(conn, db, table, select)


def rows_query(item: Item, utc_naive: bool) -> str:
    """The DuckDB query of the item's rows, one expression per declared column (instants in UTC
    without an offset when ``utc_naive``: for databases that keep none)."""
    exprs = []
    for column in item.table.columns:
        kind = item.types.get(column.name)
        ref = q(column.name)
        if kind is None:
            exprs.append(f"NULL AS {ref}")
        elif isinstance(column.type, sa.DateTime) and column.type.timezone:
            # SQLite and most others keep no offset: the instant in UTC
            exprs.append(f"timezone('UTC', {ref}) AS {ref}" if utc_naive else ref)
        elif isinstance(column.type, sa.Text) and ("[]" in kind or kind.startswith(("STRUCT", "MAP"))):
            exprs.append(f"CAST(to_json({ref}) AS VARCHAR) AS {ref}")
        else:
            exprs.append(f"CAST({ref} AS {_duckdb_type(column.type)}) AS {ref}")
    return f"SELECT {', '.join(exprs)} {item.source}"


def _duckdb_type(kind: sa.types.TypeEngine) -> str:
    for sa_type, name in ((sa.BigInteger, "BIGINT"), (sa.Double, "DOUBLE"),
                          (sa.Boolean, "BOOLEAN"), (sa.Date, "DATE"), (sa.DateTime, "TIMESTAMP"),
                          (sa.Time, "TIME")):
        if isinstance(kind, sa_type):
            return name
    return "VARCHAR"


def _copy(conn: duckdb.DuckDBPyConnection, db: Connection, table: sa.Table, select: str) -> int:
    """PostgreSQL's bulk path: DuckDB writes the rows as CSV, streamed into ``COPY FROM STDIN``
    (NULL is an empty field, an empty text a quoted one: the CSV forms of both agree)."""
    preparer = db.dialect.identifier_preparer
    columns = ", ".join(preparer.quote(c.name) for c in table.columns)
    statement = f"COPY {preparer.format_table(table)} ({columns}) FROM STDIN (FORMAT csv)"
    raw = db.connection.driver_connection
    with tempfile.TemporaryDirectory(prefix="aimak-publish-") as folder:
        path = Path(folder) / "rows.csv"
        conn.execute(f"COPY ({select}) TO {lit(str(path))} (FORMAT csv, HEADER false)")
        with raw.cursor() as cursor:
            with cursor.copy(statement) as copy, path.open("rb") as rows:
                while chunk := rows.read(COPY_CHUNK):
                    copy.write(chunk)
            return cursor.rowcount


def _insert(conn: duckdb.DuckDBPyConnection, db: Connection, table: sa.Table, select: str) -> int:
    """Any other database: batches of ``executemany`` inserts."""
    names = [c.name for c in table.columns]
    result = conn.execute(select)
    written = 0
    while batch := result.fetchmany(BATCH):
        db.execute(table.insert(), [dict(zip(names, row, strict=True)) for row in batch])
        written += len(batch)
    return written


def _log(db: Connection, metadata: sa.MetaData, conn: duckdb.DuckDBPyConnection,
         definition: Definition, rounds: tuple[str, ...], rows: dict[str, int],
         seconds: float) -> None:
    log = metadata.tables["publish_log"]
    log.create(db, checkfirst=True)
    path = conn.execute("SELECT path FROM duckdb_databases() "
                        "WHERE database_name = current_database()").fetchone()
    db.execute(log.insert().values(
        published_at=dt.datetime.now(dt.UTC), rounds=", ".join(rounds),
        warehouse=str(Path(path[0]).absolute()) if path and path[0] else "(in memory)",
        study_code=definition.study.code, definition_round=definition.study.round,
        definition_hash=definition_hash(definition), tables=rows, rows=sum(rows.values()),
        seconds=round(seconds, 3), aimak_version=aimak.__version__))


def definition_hash(definition: Definition) -> str:
    """SHA-256 of the loaded study definition (every setting, text and code)."""
    data = json.dumps(dataclasses.asdict(definition), sort_keys=True, default=str,
                      ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()
