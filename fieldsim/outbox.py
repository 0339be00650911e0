"""The simulated phones' outbox: finalised instances that could not be sent yet, kept on disk.

ODK Collect keeps a finalised form that failed to send and sends it again later; so do the
simulated phones. Each waiting instance is a folder in the outbox (``NNNNNN-<uuid>/`` holding
``submission.xml``, its media files and ``entry.json``), numbered in the order it was to be
sent; a folder appears whole (written aside, then renamed) and goes once the server has answered
201 or 202. An edit waits while the instance it edits still waits, so the server never sees an
edit of something it does not have. The folder outlives the run: a later run sends what is left.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from aimak.errors import SimulationError
from fieldsim.openrosa_client import (
    OpenRosaClient,
    SubmissionRejected,
    SubmissionUnsent,
    SubmitResult,
)

GIVE_UP_AFTER = 3  # instances in a row that could not be sent end a round: the network is down


@dataclass(frozen=True)
class Entry:
    """One waiting instance."""

    folder: Path
    form: str  # our form id (citizen_survey …)
    instance_id: str
    deprecated_id: str | None  # the instance an edit replaces

    @property
    def xml(self) -> bytes:
        return (self.folder / "submission.xml").read_bytes()

    @property
    def media(self) -> dict[str, bytes]:
        folder = self.folder / "media"
        return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.is_dir() else {}


class Outbox:
    """The instances waiting in ``folder``, in the order they were to be sent (thread-safe)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._lock = threading.Lock()
        for aside in self.folder.glob(".*.part"):  # a write cut short: the instance was not kept
            shutil.rmtree(aside, ignore_errors=True)
        self._waiting = {entry.instance_id: entry for entry in self._read()}
        self._next = max((int(e.folder.name.split("-", 1)[0]) for e in self._waiting.values()),
                         default=0) + 1

    def __len__(self) -> int:
        with self._lock:
            return len(self._waiting)

    def __contains__(self, instance_id: object) -> bool:
        with self._lock:
            return instance_id in self._waiting

    def instance_ids(self) -> list[str]:
        return [entry.instance_id for entry in self.entries()]

    def entries(self) -> list[Entry]:
        with self._lock:
            return sorted(self._waiting.values(), key=lambda e: e.folder.name)

    def _read(self) -> Iterator[Entry]:
        if not self.folder.is_dir():
            return
        for folder in sorted(self.folder.iterdir()):
            meta = folder / "entry.json"
            if folder.name.startswith(".") or not meta.is_file():
                continue
            data = json.loads(meta.read_text(encoding="utf-8"))
            yield Entry(folder, data["form"], data["instance_id"], data.get("deprecated_id"))

    def add(self, form: str, instance_id: str, xml: bytes, media: dict[str, bytes],
            deprecated_id: str | None = None) -> Entry:
        """Keep an instance for later (again: an instance already waiting stays where it is)."""
        with self._lock:
            if instance_id in self._waiting:
                return self._waiting[instance_id]
            number, self._next = self._next, self._next + 1
        name = f"{number:06d}-{instance_id.removeprefix('uuid:')}"
        aside = self.folder / f".{name}.part"
        (aside / "media").mkdir(parents=True)
        (aside / "submission.xml").write_bytes(xml)
        for basename, data in media.items():
            (aside / "media" / basename).write_bytes(data)
        (aside / "entry.json").write_text(json.dumps(
            {"form": form, "instance_id": instance_id, "deprecated_id": deprecated_id}),
            encoding="utf-8")
        entry = Entry(self.folder / name, form, instance_id, deprecated_id)
        aside.rename(entry.folder)
        with self._lock:
            self._waiting[instance_id] = entry
        return entry

    def _remove(self, entry: Entry) -> None:
        with self._lock:
            self._waiting.pop(entry.instance_id, None)
        shutil.rmtree(entry.folder, ignore_errors=True)

    def send(self, client: OpenRosaClient,
             on_answer: Callable[[Entry, SubmitResult], None] | None = None) -> int:
        """One round: send every waiting instance once, in order; return how many went.

        An edit is skipped while the instance it edits still waits. After ``GIVE_UP_AFTER``
        instances in a row could not be sent the round ends (the next round tries again). A
        refusal (4xx) stops with an error naming the folder, which stays for a person to look at.
        """
        sent = missed = 0
        for entry in self.entries():
            if entry.deprecated_id is not None and entry.deprecated_id in self:
                continue
            try:
                answer = client.submit(entry.xml, entry.media, instance_id=entry.instance_id)
            except SubmissionUnsent:
                missed += 1
                if missed >= GIVE_UP_AFTER:
                    break
                continue
            except SubmissionRejected as err:
                raise SimulationError(f"{err}. It waits in {entry.folder}: remove that folder to "
                                      "drop it, then run again.") from err
            missed = 0
            self._remove(entry)
            sent += 1
            if on_answer is not None:
                on_answer(entry, answer)
        return sent
