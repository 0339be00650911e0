"""Persistence of the local server: SQLite (WAL) in the data folder, attachments as files.

A restarted server keeps its users, assets, versions, deployments, submissions and files.
Submissions keep their KoboToolbox JSON as text so a data page is served by joining stored
strings, never by re-parsing them.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY, password TEXT NOT NULL, token TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS history (
    submission_id INTEGER NOT NULL, asset_uid TEXT NOT NULL, uuid TEXT NOT NULL,
    PRIMARY KEY (asset_uid, uuid));
CREATE TABLE IF NOT EXISTS assets (
    uid TEXT PRIMARY KEY, owner TEXT NOT NULL, name TEXT NOT NULL, asset_type TEXT NOT NULL,
    date_created TEXT NOT NULL, date_modified TEXT NOT NULL, content TEXT NOT NULL,
    version_id TEXT NOT NULL, xlsx BLOB, deployed_version_id TEXT, deployment_active INTEGER,
    deployment_uuid TEXT, date_deployed TEXT, xform TEXT, xform_version TEXT, formid INTEGER);
CREATE TABLE IF NOT EXISTS versions (
    uid TEXT PRIMARY KEY, asset_uid TEXT NOT NULL, content_hash TEXT NOT NULL,
    date_modified TEXT NOT NULL, date_deployed TEXT, content TEXT NOT NULL, number INTEGER);
CREATE TABLE IF NOT EXISTS imports (
    uid TEXT PRIMARY KEY, owner TEXT NOT NULL, status TEXT NOT NULL, messages TEXT NOT NULL,
    date_created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, asset_uid TEXT NOT NULL, uuid TEXT NOT NULL,
    root_uuid TEXT NOT NULL, xml_hash TEXT NOT NULL, submission_time TEXT NOT NULL,
    validation TEXT NOT NULL DEFAULT '{}', submitted_by TEXT, body TEXT NOT NULL, xml BLOB);
CREATE INDEX IF NOT EXISTS submissions_asset ON submissions (asset_uid, id);
CREATE UNIQUE INDEX IF NOT EXISTS submissions_uuid ON submissions (asset_uid, uuid);
CREATE INDEX IF NOT EXISTS submissions_hash ON submissions (asset_uid, xml_hash);
CREATE TABLE IF NOT EXISTS attachments (
    id INTEGER PRIMARY KEY AUTOINCREMENT, uid TEXT NOT NULL UNIQUE, submission_id INTEGER NOT NULL,
    asset_uid TEXT NOT NULL, basename TEXT NOT NULL, mimetype TEXT NOT NULL, path TEXT NOT NULL,
    xpath TEXT);
CREATE INDEX IF NOT EXISTS attachments_submission ON attachments (submission_id);
"""


REALM = "kobo"  # the Digest realm; stored password digests depend on it
DIGEST = "md5:"


def password_digest(username: str, password: str) -> str:
    """HA1 of RFC 2617 (md5 of ``user:realm:password``): checks Basic and Digest, keeps no password."""
    return DIGEST + hashlib.md5(f"{username}:{REALM}:{password}".encode()).hexdigest()


class NeedsPassword(ValueError):
    """``put_user`` was given no password for an account that does not exist yet."""

    def __init__(self, username: str):
        super().__init__(f"a new account needs a password: {username!r}")
        self.username = username


class TokenTaken(ValueError):
    """The token is another account's (``owner``); tokens identify exactly one account."""

    def __init__(self, owner: str):
        super().__init__(f"the token belongs to the account {owner!r}")
        self.owner = owner


class Store:
    """A thread-safe SQLite store (one connection, one lock: the server is small)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "media").mkdir(exist_ok=True)
        self.db = sqlite3.connect(self.folder / "kpi.sqlite3", check_same_thread=False,
                                  isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self.lock = threading.RLock()
        for row in self.all(f"SELECT username, password FROM users WHERE password NOT LIKE '{DIGEST}%'"):
            self.run("UPDATE users SET password = ? WHERE username = ?",  # data folders of older runs
                     (password_digest(row["username"], row["password"]), row["username"]))

    def close(self) -> None:
        with self.lock:
            self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def one(self, sql: str, params: tuple = ()) -> sqlite3.Row | None:
        with self.lock:
            return self.db.execute(sql, params).fetchone()

    def all(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        with self.lock:
            return self.db.execute(sql, params).fetchall()

    def run(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        with self.lock:
            return self.db.execute(sql, params)

    # --- users -----------------------------------------------------------------------------

    def put_user(self, username: str, password: str | None, token: str) -> None:
        """Create or update an account (the password is kept only as its Digest HA1).

        ``password=None`` keeps the stored password of an existing account. A token that
        belongs to another account raises :class:`TokenTaken`; that account is left alone.
        """
        with self.transaction() as db:
            owner = db.execute("SELECT username FROM users WHERE token = ? AND username != ?",
                               (token, username)).fetchone()
            if owner is not None:
                raise TokenTaken(owner["username"])
            if password is None:
                if db.execute("UPDATE users SET token = ? WHERE username = ?",
                              (token, username)).rowcount == 0:
                    raise NeedsPassword(username)
                return
            db.execute("INSERT INTO users VALUES (?, ?, ?) ON CONFLICT (username) DO UPDATE SET "
                       "password = excluded.password, token = excluded.token",
                       (username, password_digest(username, password), token))

    def user_by_token(self, token: str) -> str | None:
        row = self.one("SELECT username FROM users WHERE token = ?", (token,))
        return row["username"] if row else None

    def token_of(self, username: str) -> str | None:
        row = self.one("SELECT token FROM users WHERE username = ?", (username,))
        return row["token"] if row else None

    def ha1_of(self, username: str) -> str | None:
        """The stored HA1 hex digest of the user's password, None for an unknown user."""
        row = self.one("SELECT password FROM users WHERE username = ?", (username,))
        return row["password"].removeprefix(DIGEST) if row else None

    # --- assets ----------------------------------------------------------------------------

    def asset(self, uid: str) -> dict[str, Any] | None:
        row = self.one("SELECT * FROM assets WHERE uid = ?", (uid,))
        if row is None:
            return None
        asset = dict(row)
        asset["content"] = json.loads(asset["content"])
        return asset

    def deployment(self, uid: str) -> dict[str, Any] | None:
        """What a submission needs of its asset (owner and deployment columns), without reading
        and parsing the asset's content: that parse was most of the cost of a submission."""
        row = self.one("SELECT uid, owner, deployed_version_id, deployment_active, deployment_uuid "
                       "FROM assets WHERE uid = ?", (uid,))
        return dict(row) if row is not None else None

    def assets_of(self, owner: str) -> list[dict[str, Any]]:
        rows = self.all("SELECT uid FROM assets WHERE owner = ? ORDER BY date_modified DESC, uid",
                        (owner,))
        return [self.asset(row["uid"]) for row in rows]

    def versions(self, asset_uid: str) -> list[sqlite3.Row]:
        return self.all("SELECT uid, content_hash, date_modified, date_deployed, number FROM versions "
                        "WHERE asset_uid = ? ORDER BY number DESC", (asset_uid,))

    def deployed_versions(self, asset_uid: str) -> list[sqlite3.Row]:
        return self.all("SELECT uid, content_hash, date_modified, date_deployed FROM versions "
                        "WHERE asset_uid = ? AND date_deployed IS NOT NULL ORDER BY number DESC",
                        (asset_uid,))

    def submission_count(self, asset_uid: str) -> int:
        return self.one("SELECT count(*) AS n FROM submissions WHERE asset_uid = ?", (asset_uid,))["n"]

    def last_submission_time(self, asset_uid: str) -> str | None:
        row = self.one("SELECT max(submission_time) AS t FROM submissions WHERE asset_uid = ?",
                       (asset_uid,))
        return row["t"] if row else None

    def insert_records(self, asset_uid: str, records: list[dict[str, Any]], submitted_by: str) -> None:
        """Bulk path for seeding a server (benchmarks, training sets): records already in
        KoboToolbox's JSON shape without ``_id``; ids are assigned here, in order."""
        with self.transaction() as db:
            start = db.execute("SELECT coalesce(max(id), 0) FROM submissions").fetchone()[0]
            rows = []
            for offset, record in enumerate(records, start=1):
                record = {"_id": start + offset, **{k: v for k, v in record.items() if k != "_id"}}
                rows.append((start + offset, asset_uid, record["_uuid"],
                             record.get("meta/rootUuid") or record["meta/instanceID"],
                             record["_uuid"], record["_submission_time"], submitted_by,
                             json.dumps(record, ensure_ascii=False)))
            db.executemany("INSERT INTO submissions (id, asset_uid, uuid, root_uuid, xml_hash, "
                           "submission_time, submitted_by, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
