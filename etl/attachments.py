"""``aimak sync --attachments``: every submission's photos, audio and other files, downloaded once.

After a form's sync, the submissions not yet checked (new ones, and the new version of an edited
one) are read from the warehouse; each file their ``_attachments`` list is downloaded unless it
is kept already, streamed to disk through :class:`etl.http.HttpClient` (its retries; the token
only to KOBO_URL's origin). A file that cannot be had (a 404: the server lost it) is reported and
tried again at the next sync, never fatal. Once all of a submission's files are kept it is
checked, and the files an edit no longer lists are marked superseded (kept, never removed);
files of deleted submissions stay too.

Which question a file answers: ``question_xpath`` on current servers; older ones send only
``filename``, so the answer whose value is the file's name is looked up. A file the answers name
but the server does not list yet (ODK Collect sends a large submission in several parts) is
awaited: the submission is read again from the server, and stays unchecked until it arrives.
Persistence and the folder layout are the store's job (``warehouse.attachments``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson

from aimak.errors import (
    KoboAuthError,
    KoboError,
    KoboNotFoundError,
    KoboUnavailableError,
    WarehouseError,
)
from etl.http import HttpClient
from etl.kobo import ASSETS, KoboClient, form_id_of
from etl.normalize import form_schema

BATCH = 200  # submissions read from the warehouse at a time
COMMIT_SECONDS = 2.0  # files kept are recorded at least this often (a kill re-downloads the rest)
GIVE_UP_AFTER = 3  # files in a row the server could not serve (down, refusing): stop for this run
SHOWN_PROBLEMS = 20


@dataclass(frozen=True)
class Listed:
    """One file a submission lists, and where to get it."""

    basename: str
    attachment_uid: str | None  # 'att…' on current servers, the numeric id on older ones
    mimetype: str | None
    url: str  # on KOBO_URL's origin (a path under it, or the server's own absolute link)
    question_xpath: str | None
    endpoint: str | None = None  # kpi's attachment endpoint, when it is not ``url`` already


class FileStore(Protocol):
    def begin(self) -> None: ...
    def check_fileless(self, asset_uid: str) -> int: ...
    def unchecked(self, asset_uid: str, after_id: int, limit: int) -> list[tuple[int, str, str]]: ...
    def present(self, asset_uid: str, first_id: int, last_id: int) -> set[tuple[int, str]]: ...
    def scratch(self) -> Path: ...
    def keep(self, scratch: Path, asset_uid: str, submission_id: int, submission_uuid: str, *,
             basename: str, attachment_uid: str | None, question_xpath: str | None,
             mimetype: str | None, size: int, sha256: str) -> Path: ...
    def commit(self, asset_uid: str, done: list[tuple[int, str, set[str]]]) -> int: ...


@dataclass
class AttachmentResult:
    """What one form's attachment pass did, for the sync's summary."""

    form_id: str
    downloaded: int = 0
    present: int = 0
    failed: int = 0
    awaited: int = 0
    superseded: int = 0
    bytes: int = 0
    retries: int = 0
    problems: list[str] = field(default_factory=list)
    stopped: str | None = None

    def summary(self) -> str:
        line = (f"{self.form_id}: attachments {self.downloaded} downloaded "
                f"({_megabytes(self.bytes)}), {self.present} already present, {self.failed} failed, "
                f"{self.awaited} awaited, {self.superseded} superseded, {self.retries} retries")
        shown = [f"  {problem}" for problem in self.problems[:SHOWN_PROBLEMS]]
        if len(self.problems) > SHOWN_PROBLEMS:
            shown.append(f"  ... and {len(self.problems) - SHOWN_PROBLEMS} more")
        if self.stopped:
            shown.append(f"  {self.stopped}")
        return "\n".join([line, *shown])


def fetch_attachments(client: KoboClient, store: FileStore, asset: dict[str, Any],
                      batch: int = BATCH) -> AttachmentResult:
    """Download the files of the form's submissions that are not kept yet (see the module)."""
    uid, form_id = asset["uid"], form_id_of(asset)
    result = AttachmentResult(form_id)
    retries = client.http.retries
    media = media_questions(asset)
    store.begin()
    if not media:  # no question takes a file: only submissions listing some need a look
        store.check_fileless(uid)
    refused = 0  # files in a row the server could not serve
    after = 0
    while not result.stopped and (rows := store.unchecked(uid, after, batch)):
        done: list[tuple[int, str, set[str]]] = []  # submissions whose files are all kept
        present = store.present(uid, rows[0][0], rows[-1][0])
        committed = time.monotonic()
        for submission_id, submission_uuid, payload in rows:
            after = submission_id
            if time.monotonic() - committed > COMMIT_SECONDS:
                result.superseded += store.commit(uid, done)
                done, committed = [], time.monotonic()
            record = orjson.loads(payload)
            listed, awaited = _files_of(client, uid, submission_id, submission_uuid, record, media)
            result.awaited += awaited
            complete = not awaited
            for item in listed:
                if (submission_id, item.basename) in present:
                    result.present += 1
                    continue
                try:
                    size = _download(client, store, uid, submission_id, submission_uuid, item)
                except KoboError as err:
                    complete = False
                    result.failed += 1
                    result.problems.append(_problem(form_id, submission_id, item, err))
                    refused = refused + 1 if isinstance(err, KoboUnavailableError | KoboAuthError) else 0
                    if refused >= GIVE_UP_AFTER:
                        result.stopped = (
                            f"stopped after {refused} files in a row failed ({type(err).__name__}); "
                            "the files not fetched are tried again by the next sync")
                        break
                    continue
                refused = 0
                result.downloaded += 1
                result.bytes += size
            if result.stopped:
                break
            if complete:
                done.append((submission_id, submission_uuid, {item.basename for item in listed}))
        result.superseded += store.commit(uid, done)
    result.retries = client.http.retries - retries
    return result


def media_questions(asset: dict[str, Any]) -> set[str]:
    """The paths of the form's questions that take a file (image, audio, video, file, ...), in
    every version (a question that moved between groups has several)."""
    schema = form_schema(asset["uid"], asset)
    return {key for table in schema.tables for f in table.fields if f.kind == "media" for key in f.keys}


def listed_files(http: HttpClient, asset_uid: str, submission_id: int, record: dict[str, Any],
                 media: set[str] = frozenset()) -> list[Listed]:
    """The files a record's ``_attachments`` lists (not those marked deleted), each with a URL
    on KOBO_URL's origin: the server's ``download_url`` when it points there (used as given),
    else kpi's attachment endpoint built from the file's uid or id, so the token never goes to
    another host (older servers link files on the kc host)."""
    answers: dict[str, str] | None = None  # looked up only for a file without question_xpath
    out: list[Listed] = []
    for entry in record.get("_attachments") or []:
        if not isinstance(entry, dict) or entry.get("is_deleted") is True:
            continue
        basename = entry.get("media_file_basename") or str(entry.get("filename") or "").rsplit("/", 1)[-1]
        key = entry.get("uid") or entry.get("id")
        endpoint = f"{ASSETS}{asset_uid}/data/{submission_id}/attachments/{key}/" if key else None
        url = entry.get("download_url")
        if not isinstance(url, str) or not url or not http.owns(url):
            url, endpoint = endpoint, None
        if not basename or url is None:
            continue
        xpath = entry.get("question_xpath")
        if not xpath:
            answers = answer_paths(record, media) if answers is None else answers
            xpath = answers.get(basename) or answers.get(_valid_name(basename))
        out.append(Listed(basename, None if key is None else str(key), entry.get("mimetype"), url,
                          xpath or None, endpoint))
    return out


def answer_paths(record: dict[str, Any], media: set[str] = frozenset()) -> dict[str, str]:
    """Every answer value of a record (also as a server's storage cleans a file name) -> its
    path, repeats numbered from 1 as kpi numbers them (``grp/rep[2]/photo``); an answer to one
    of the ``media`` questions wins over another answer with the same value."""
    found: dict[str, str] = {}
    for wanted in (False, True):
        for key, value, repeats in _answers(record, {}):
            if (key in media) == wanted:
                parts = key.split("/")
                path = "/".join(part + (f"[{repeats[p]}]" if (p := "/".join(parts[:n])) in repeats else "")
                                for n, part in enumerate(parts, start=1))
                found[_valid_name(value)] = path
                found[value] = path
    return found


def _answers(record: dict[str, Any], repeats: dict[str, int]) -> Iterator[tuple[str, str, dict[str, int]]]:
    """(question path, value, the numbers of the repeat entries it sits in) of every string
    answer of a record or repeat entry."""
    for key, value in record.items():
        if key.startswith("_"):
            continue
        if isinstance(value, list):
            for index, entry in enumerate(value, start=1):
                if isinstance(entry, dict):
                    yield from _answers(entry, {**repeats, key: index})
        elif isinstance(value, str):
            yield key, value, repeats


def _files_of(client: KoboClient, asset_uid: str, submission_id: int, submission_uuid: str,
              record: dict[str, Any], media: set[str]) -> tuple[list[Listed], int]:
    """The files a submission lists, and how many its media answers name that are not listed
    yet; for those the submission is read again from the server first (the files may have
    arrived since, without a new ``_uuid``)."""
    listed = listed_files(client.http, asset_uid, submission_id, record, media)
    awaited = _unlisted(record, media, listed)
    if awaited:
        try:
            fresh = client.http.get_json(f"{ASSETS}{asset_uid}/data/{submission_id}/", format="json")
        except KoboError:  # deleted since (the next sync's reconciliation sees it), or unreachable
            fresh = None
        if isinstance(fresh, dict) and fresh.get("_uuid") == submission_uuid:
            listed = listed_files(client.http, asset_uid, submission_id, fresh, media)
            awaited = _unlisted(fresh, media, listed)
    return listed, awaited


def _unlisted(record: dict[str, Any], media: set[str], listed: list[Listed]) -> int:
    names = {item.basename for item in listed}
    return sum(1 for question, value, _repeats in _answers(record, {})
               if question in media and value and value not in names and _valid_name(value) not in names)


def _download(client: KoboClient, store: FileStore, asset_uid: str, submission_id: int,
              submission_uuid: str, item: Listed) -> int:
    """Download one file and have the store keep it; return its size."""
    scratch = store.scratch()
    try:
        try:
            got = client.http.download(item.url, scratch)
        except KoboNotFoundError:
            if item.endpoint is None:
                raise
            # the link as given failed (kpi adds the data request's ?format=json to it, which
            # its media renderer may refuse): the documented endpoint of the same file
            got = client.http.download(item.endpoint, scratch)
    except OSError as err:
        raise WarehouseError(f"cannot write the download of {item.basename!r} to {scratch}: "
                             f"{err.strerror or err}. Free disk space, then sync again.") from err
    store.keep(scratch, asset_uid, submission_id, submission_uuid, basename=item.basename,
               attachment_uid=item.attachment_uid, question_xpath=item.question_xpath,
               mimetype=item.mimetype, size=got.size, sha256=got.sha256)
    return got.size


def _problem(form_id: str, submission_id: int, item: Listed, err: KoboError) -> str:
    where = f"{form_id} _id {submission_id} {item.basename!r}"
    if item.question_xpath:
        where += f" ({item.question_xpath})"
    if isinstance(err, KoboNotFoundError):
        return f"{where}: not on the server (HTTP 404); tried again at the next sync"
    return f"{where}: {err}"


def _valid_name(name: str) -> str:
    """A file name as Django's storage cleans it (kpi keeps files under that name)."""
    return re.sub(r"(?u)[^-\w.]", "", str(name).strip().replace(" ", "_"))


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"
