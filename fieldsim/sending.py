"""The simulated phones' sending: a small thread pool posts the finalised instances over OpenRosa.

An instance that cannot be sent (the server could not be reached, or gave 5xx, for every
attempt) is not lost: it goes to the outbox (:mod:`fieldsim.outbox`) and is sent again in later
rounds, with growing waits at the end of the run, as ODK Collect keeps and resends finalised
forms. An edit whose original still waits joins it in the outbox; a resend of an instance that
still waits is not needed. While the server looks down (``DOWN_AFTER`` failures in a row) new
instances go straight to the outbox, and one now and then probes whether it is back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fieldsim.openrosa_client import OpenRosaClient, SubmissionUnsent, SubmitResult
from fieldsim.outbox import Entry, Outbox
from fieldsim.result import SimulationResult

Progress = Callable[[str, int, int], None]
FINAL_ROUNDS = (0.5, 1.0, 2.0, 4.0, 8.0)  # waits before the rounds at the end of a run (s)
DOWN_AFTER = 8  # instances in a row that could not be sent: the server counts as down
PROBE_WAIT = (1.0, 8.0)  # while it is down, one instance tries after this wait, doubling to the cap


class Sender:
    """Posts instances on ``workers`` threads (at most ``4 × workers`` waiting), records the answers
    in ``result`` and keeps what could not be sent in ``outbox``. The first other failure (a
    refusal) stops it: :meth:`drain` raises it."""

    def __init__(self, client: OpenRosaClient, outbox: Outbox, result: SimulationResult,
                 progress: Progress, total: int, workers: int, keep: Path | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.client, self.outbox, self.result = client, outbox, result
        self.progress, self.total, self.keep, self.sleep = progress, total, keep, sleep
        self.workers = workers
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="aimak-post")
        self.slots = threading.BoundedSemaphore(workers * 4)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.failures: list[BaseException] = []
        self.done = 0
        self.misses = 0
        self.probe_at = 0.0
        self.probe_wait = PROBE_WAIT[0]

    def close(self) -> None:
        """Stop: posts not started are dropped (their instances were never handed over), so an
        interrupted run ends at once; a rerun of the same fieldwork sends them."""
        self.stop.set()
        self.pool.shutdown(wait=True, cancel_futures=True)

    def fail(self, exc: BaseException) -> None:
        with self.lock:
            self.failures.append(exc)
        self.stop.set()

    # -- the first sending ----------------------------------------------------------------------

    def send(self, form: str, xml: bytes, media: dict[str, bytes], instance_id: str,
             deprecated_id: str | None = None) -> None:
        """Post an instance on the pool (an edit of an instance that still waits joins it)."""
        if self.stop.is_set():
            return
        if deprecated_id is not None and deprecated_id in self.outbox:
            self._queue(form, xml, media, instance_id, deprecated_id)
            return
        self.slots.acquire()
        try:
            future = self.pool.submit(self._post, form, xml, media, instance_id, deprecated_id)
        except BaseException:
            self.slots.release()
            raise
        future.add_done_callback(lambda _f: self.slots.release())

    def resend(self, form: str, xml: bytes, media: dict[str, bytes], instance_id: str) -> None:
        """Send an instance again, as a phone does; one still in the outbox goes with it anyway."""
        if instance_id in self.outbox:
            self._count()
            return
        self.send(form, xml, media, instance_id)

    def _post(self, form: str, xml: bytes, media: dict[str, bytes], instance_id: str,
              deprecated_id: str | None) -> None:
        if self.stop.is_set():
            return
        try:
            if self.keep is not None:
                folder = self.keep / form
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"{instance_id.removeprefix('uuid:')}.xml").write_bytes(xml)
            if self._looks_down():
                self._queue(form, xml, media, instance_id, deprecated_id)
                return
            try:
                answer = self.client.submit(xml, media, instance_id=instance_id)
            except SubmissionUnsent:
                self._missed()
                self._queue(form, xml, media, instance_id, deprecated_id)
                return
            self._reached()
            self._answered(answer)
            self._count()
        except BaseException as exc:  # noqa: BLE001 - raised by drain() in the caller's thread
            self.fail(exc)

    def _queue(self, form: str, xml: bytes, media: dict[str, bytes], instance_id: str,
               deprecated_id: str | None) -> None:
        self.outbox.add(form, instance_id, xml, media, deprecated_id)
        with self.lock:
            self.result.queued += 1
        self._count()

    def _answered(self, answer: SubmitResult) -> None:
        with self.lock:
            self.result.posted += 1
            self.result.accepted += answer.status == 201
            self.result.duplicates += answer.duplicate

    def _count(self) -> None:
        with self.lock:
            self.done += 1
            done = self.done
        self.progress("submitting", done, self.total)

    def _looks_down(self) -> bool:
        """True while the server counts as down, except for the one post that probes it."""
        with self.lock:
            if self.misses < DOWN_AFTER:
                return False
            now = time.monotonic()
            if now < self.probe_at:
                return True
            self.probe_at = now + self.probe_wait
            self.probe_wait = min(PROBE_WAIT[1], self.probe_wait * 2)
            return False

    def _missed(self) -> None:
        with self.lock:
            self.misses += 1
            if self.misses == DOWN_AFTER:
                self.probe_at = time.monotonic() + self.probe_wait

    def _reached(self) -> None:
        with self.lock:
            self.misses = 0
            self.probe_wait = PROBE_WAIT[0]

    def drain(self) -> None:
        """Wait until every post handed over so far is answered or kept; raise the first failure."""
        for _ in range(self.workers * 4):  # every slot free: every post submitted so far is done
            self.slots.acquire()
        for _ in range(self.workers * 4):
            self.slots.release()
        if self.failures:
            raise self.failures[0]

    # -- the outbox -----------------------------------------------------------------------------

    def round(self) -> int:
        """Send what waits in the outbox once (see :meth:`Outbox.send`); return how many went."""
        def answered(_entry: Entry, answer: SubmitResult) -> None:
            self._answered(answer)
            with self.lock:
                self.result.sent_later += 1

        sent = self.outbox.send(self.client, answered)
        if sent:
            self._reached()
        return sent

    def finish(self) -> None:
        """The last rounds, with growing waits between them, until the outbox is empty; what is
        left is listed in ``result.unsent``."""
        for wait in FINAL_ROUNDS:
            if not len(self.outbox):
                break
            self.sleep(wait)
            self.round()
        self.result.unsent = self.outbox.instance_ids()
        self.result.outbox = self.outbox.folder
