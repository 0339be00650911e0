"""The warehouse side of attachments: the ``attachments`` table and the files it points at, kept
in ``attachments/<asset_uid>/<_id>/<file name>`` beside the warehouse file.

A file is downloaded into ``attachments/.partial/``, then moved to its place; the rows of the
files moved are written together (with the submissions they complete) by :meth:`commit`, so a
run killed at any point leaves no half file under a real name and no row without its file. A
file moved but not yet recorded is downloaded again by the next run, which finds it in place
and keeps it when the bytes are the same. ``attachment_checks`` remembers the submission versions
whose files are all here, so a later sync reads only the new and edited submissions.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from pathlib import Path

import duckdb

from aimak.errors import WarehouseError
from warehouse.transaction import transaction

FOLDER = "attachments"
PARTIAL = ".partial"
# characters a file name may not hold on Windows, Linux or macOS, and control characters
UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f]')
# types of the queued columns: asset_uid, _id, _uuid, basename, attachment_uid, question_xpath,
# question, mimetype, size, sha256, local_path
QUEUED = ("VARCHAR", "BIGINT", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR",
          "BIGINT", "VARCHAR", "VARCHAR")
LIVE_UNCHECKED = """
    FROM raw_submissions r
    WHERE r.asset_uid = ? AND r.superseded_at IS NULL AND r.deleted_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM attachment_checks c
                      WHERE c.asset_uid = r.asset_uid AND c._id = r._id AND c._uuid = r._uuid)
"""


class AttachmentStore:
    """The attachments of one warehouse: ``conn`` open on it, ``folder`` the folder it is in."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, folder: Path):
        self.conn = conn
        self.folder = Path(folder)
        self.root = self.folder / FOLDER
        self._queued: list[tuple] = []  # rows of files moved in place, written by commit()
        self._moved_into: set[Path] = set()  # folders whose new entries commit() flushes first

    def begin(self) -> None:
        """Make the folders and drop the partial downloads a killed run left (only aimak writes
        in ``.partial``; the warehouse lock keeps a second run out)."""
        partial = self.root / PARTIAL
        partial.mkdir(parents=True, exist_ok=True)
        for leftover in partial.iterdir():
            leftover.unlink()

    def check_fileless(self, asset_uid: str) -> int:
        """Mark checked every unchecked live submission that lists no file; return how many.

        The payloads are read only when some submission is unchecked, and only in the range of
        ``_id`` those span (usually the newest), so a sync with nothing new stays cheap."""
        first, last = self.conn.execute(f"SELECT min(r._id), max(r._id) {LIVE_UNCHECKED}",
                                        [asset_uid]).fetchone()
        if first is None:
            return 0
        return self.conn.execute(f"""
            INSERT INTO attachment_checks SELECT r.asset_uid, r._id, r._uuid, now()
            {LIVE_UNCHECKED} AND r._id BETWEEN ? AND ?
              AND coalesce(json_array_length(r.payload, '$._attachments'), 0) = 0
            ON CONFLICT DO NOTHING
        """, [asset_uid, first, last]).fetchone()[0]

    def unchecked(self, asset_uid: str, after_id: int, limit: int) -> list[tuple[int, str, str]]:
        """(``_id``, ``_uuid``, payload) of live submissions not yet checked, after ``after_id``
        in ``_id`` order, at most ``limit`` (read whole, so the caller may write in between)."""
        return self.conn.execute(f"""
            SELECT r._id, r._uuid, CAST(r.payload AS VARCHAR) {LIVE_UNCHECKED} AND r._id > ?
            ORDER BY r._id LIMIT ?
        """, [asset_uid, after_id, limit]).fetchall()

    def present(self, asset_uid: str, first_id: int, last_id: int) -> set[tuple[int, str]]:
        """(``_id``, file name) of the files recorded for submissions ``first_id``..``last_id``."""
        return set(self.conn.execute(
            "SELECT _id, basename FROM attachments WHERE asset_uid = ? AND _id BETWEEN ? AND ?",
            [asset_uid, first_id, last_id]).fetchall())

    def scratch(self) -> Path:
        """A fresh path to download into (in ``.partial``, on the same disk as the files)."""
        return self.root / PARTIAL / uuid.uuid4().hex

    def keep(self, scratch: Path, asset_uid: str, submission_id: int, submission_uuid: str, *,
             basename: str, attachment_uid: str | None, question_xpath: str | None,
             mimetype: str | None, size: int, sha256: str) -> Path:
        """Move a downloaded file to its place and queue its row for :meth:`commit`; return its
        path.

        A file already in that place is kept when it holds the same bytes (a run killed between
        the move and the commit); one with other bytes is not aimak's to replace, so the
        download goes beside it under a name carrying its checksum."""
        folder = self.root / _safe(asset_uid) / str(submission_id)
        target = folder / _safe(basename)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if target.exists() and _sha256(target) == sha256:
                scratch.unlink()
            else:
                if target.exists():
                    target = target.with_name(f"{target.stem}__{sha256[:12]}{target.suffix}")
                os.replace(scratch, target)
                self._moved_into.add(folder)
        except OSError as err:
            raise WarehouseError(
                f"cannot keep the file {basename!r} of submission {submission_id} as {target}: "
                f"{err.strerror or err}. Free disk space or fix the folder's permissions, then "
                "sync again: files kept so far stay.") from err
        question = re.sub(r"\[\d+\]", "", question_xpath) if question_xpath else None
        self._queued.append((asset_uid, submission_id, submission_uuid, basename, attachment_uid,
                             question_xpath, question, mimetype, size, sha256,
                             target.relative_to(self.folder).as_posix()))
        return target

    def commit(self, asset_uid: str, done: list[tuple[int, str, set[str]]]) -> int:
        """Record the queued files, then settle ``done``, in one transaction; return how many
        files became superseded.

        Each (``_id``, ``_uuid``, names) in ``done`` is a submission version whose listed files
        (``names``) are all recorded: the submission's other files are marked superseded (a
        listed one current again) and the version checked."""
        queued, self._queued = self._queued, []
        if not queued and not done:
            return 0
        for folder in self._moved_into:  # the moves reach the disk before the rows do
            _sync_folder(folder)
        self._moved_into.clear()
        ids, uuids = [d[0] for d in done], [d[1] for d in done]
        listed_ids = [i for i, _u, names in done for _name in names]
        listed_names = [name for _i, _u, names in done for name in sorted(names)]
        listed = """EXISTS (SELECT 1 FROM (SELECT unnest(?::BIGINT[]) AS i, unnest(?::VARCHAR[]) AS n)
                            WHERE i = a._id AND n = a.basename)"""
        batch = "a.asset_uid = ? AND a._id IN (SELECT unnest(?::BIGINT[]))"
        with transaction(self.conn):
            if queued:  # one statement: column lists zipped by unnest
                columns = [list(column) for column in zip(*queued, strict=True)]
                self.conn.execute(f"""
                    INSERT INTO attachments SELECT {", ".join(f"unnest(?::{t}[])" for t in QUEUED)},
                        now(), NULL ON CONFLICT DO NOTHING""", columns)
            if not done:
                return 0
            superseded = self.conn.execute(
                f"UPDATE attachments a SET superseded_at = now() WHERE {batch} "
                f"AND a.superseded_at IS NULL AND NOT {listed}",
                [asset_uid, ids, listed_ids, listed_names]).fetchone()[0]
            self.conn.execute(
                f"UPDATE attachments a SET superseded_at = NULL WHERE {batch} "
                f"AND a.superseded_at IS NOT NULL AND {listed}",
                [asset_uid, ids, listed_ids, listed_names])
            self.conn.execute("""
                INSERT INTO attachment_checks
                SELECT ?, unnest(?::BIGINT[]), unnest(?::VARCHAR[]), now() ON CONFLICT DO NOTHING
            """, [asset_uid, ids, uuids])
        return superseded


def _safe(name: str) -> str:
    """A file or folder name that is safe on every system and stays inside its folder."""
    cleaned = UNSAFE.sub("_", name).strip().rstrip(".")
    return cleaned if cleaned and cleaned not in (".", "..", PARTIAL) else "_"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sync_folder(folder: Path) -> None:
    """Flush a rename to disk (a no-op where folders cannot be opened, as on Windows)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
