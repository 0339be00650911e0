"""A simulated field team: fill the deployed forms with JavaRosa and send them over OpenRosa.

``simulate()`` finds the deployed forms through the KPI API, downloads each XForm as a phone does
(formList → downloadUrl: the root id is the asset uid, with ``__version__`` and ``formhub/uuid``),
fills every visit of the schedule in one long-lived JavaRosa JVM (pipelined, on two filling threads
on a 2-core machine) while a small thread pool posts the finalised instances, then resends a few,
edits a few, deletes two through the API, sets validation statuses, and writes ``truth.json`` and
``fieldwork.csv`` into ``out_dir``.
"""

from __future__ import annotations

import collections
import contextlib
import csv
import datetime as dt
import os
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

from aimak.errors import SimulationError
from etl.http import HttpClient
from etl.kobo import KoboClient, form_id_of
from fieldsim import phrases
from fieldsim.answers import Answers, citizen_answers, focus_group_answers, lsg_answers
from fieldsim.engine import FillRequest, FormEngine
from fieldsim.fieldwork import (
    CITIZEN,
    FOCUS,
    LSG,
    Visit,
    default_start,
    fieldwork_summary,
    plan_fieldwork,
)
from fieldsim.openrosa_client import OpenRosaClient
from fieldsim.personas import World, draw_respondents, make_world
from fieldsim.truth import expected_cells, truth_document, write_truth
from forms import BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY
from forms.build import load_study
from forms.sample_plan import plan_sample

__all__ = ["DEFAULT_SEED", "FORM_IDS", "SimulationResult", "discover_forms", "openrosa_base",
           "simulate"]

DEFAULT_SEED = 2026
FORM_IDS = (CITIZEN, LSG, FOCUS)
# Measured with bench/simulate.py (3,000 interviews, 2 cores shared with the server): the C1
# compiler alone (TieredStopAtLevel=1) gives ~360-400 citizen submissions/s against ~210 with C2,
# whose compile threads compete for the cores the server and the client need (a run's JVM CPU
# doubles); C2 only pays off in much longer runs. A larger heap than the engine's default means
# fewer collections.
JAVA_OPTIONS = ("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")
# JavaRosa needs ~2-3 ms of CPU for a citizen interview, so one filling thread would be the
# slowest stage: two threads fill at once on a 2-core machine (the server and this process fill
# the gaps), in one JVM, which compiles JavaRosa once (a second JVM's start and warm-up cost
# ~1.5 s of CPU); more threads than cores only add competition.
FILL_THREADS = max(1, min(2, os.cpu_count() or 1))
# The posting threads wait on the server; with CPython's default 5 ms switch interval each of
# their wake-ups waits for the answer-generating thread to drop the GIL, which capped a run at
# ~180 posts/s. A short interval while simulating lets them in at once.
SWITCH_INTERVAL = 0.0005
Progress = Callable[[str, int, int], None]
Item = TypeVar("Item")


@dataclass
class SimulationResult:
    out_dir: Path
    truth_path: Path
    forms: dict[str, str]  # form id -> asset uid
    xforms: dict[str, Path]  # form id -> the deployed XForm as downloaded
    visits: list[Visit]
    filled: int = 0
    posted: int = 0
    accepted: int = 0
    duplicates: int = 0
    edited: int = 0
    deleted: int = 0
    validation: dict[str, int] = field(default_factory=dict)
    live: dict[str, int] = field(default_factory=dict)  # form id -> records on the server
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.posted / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        live = ", ".join(f"{k} {v}" for k, v in self.live.items())
        lines = [f"filled {self.filled} instances with JavaRosa and posted {self.posted} in "
                 f"{self.seconds:.1f} s ({self.rate:.0f}/s): {self.accepted} accepted, "
                 f"{self.duplicates} duplicates, {self.edited} edits; {self.deleted} deleted",
                 f"records on the server: {live}",
                 f"truth: {self.truth_path}"]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def openrosa_base(kpi_url: str) -> str:
    """KoboToolbox serves OpenRosa on the KoboCAT host (kf. → kc., eu. → kc-eu.); a self-hosted
    or local server on the same host."""
    parts = urlsplit(kpi_url.rstrip("/"))
    host = parts.netloc
    if host.startswith("kf."):
        host = "kc." + host[3:]
    elif host == "eu.kobotoolbox.org":
        host = "kc-eu.kobotoolbox.org"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def discover_forms(kobo: KoboClient, wanted: tuple[str, ...] = FORM_IDS) -> dict[str, str]:
    """form id → uid of the deployed, active asset (the most recently modified if several)."""
    found: dict[str, tuple[str, str]] = {}
    for summary in kobo.list_assets():
        if not summary.get("has_deployment") or summary.get("deployment__active") is False:
            continue
        asset = kobo.asset(summary["uid"])
        if asset.get("deployment__active") is False:
            continue
        fid = form_id_of(asset)
        stamp = str(asset.get("date_modified", ""))
        if fid in wanted and (fid not in found or stamp > found[fid][0]):
            found[fid] = (stamp, asset["uid"])
    return {fid: uid for fid, (_, uid) in found.items()}


@contextlib.contextmanager
def _short_switch_interval(interval: float = SWITCH_INTERVAL) -> Iterator[None]:
    """Lower CPython's process-wide thread switch interval to at most ``interval`` for the
    duration of the block; the previous value is restored on exit."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(min(previous, interval))
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def simulate(server_url: str, token: str | None, *, respondents: int | None = None,
             seed: int = DEFAULT_SEED, out_dir: Path = Path("out/simulate"),
             username: str | None = None, password: str | None = None,
             on_progress: Progress | None = None, definition: Path = BUNDLED_DEFINITION,
             geography: Path = BUNDLED_GEOGRAPHY, start: dt.date | None = None,
             openrosa_url: str | None = None, workers: int = 4,
             keep_instances: bool = True,
             java_options: tuple[str, ...] = JAVA_OPTIONS,
             fill_threads: int = FILL_THREADS) -> SimulationResult:
    """Run the simulated fieldwork against the server at ``server_url`` (the KPI base).

    ``respondents`` citizen interviews in total (default: the sample plan's), split by the sample
    plan; per municipality one LSG assessment and the focus groups of ``sample_plan.focus_groups``.
    Raises :class:`SimulationError` (a form is not deployed, JavaRosa refused an answer, the
    server refused a submission). ``fill_threads`` threads of the JavaRosa JVM fill at once,
    ``workers`` threads post.

    For the duration of the run this changes a process-wide setting: CPython's thread switch
    interval (``sys.setswitchinterval``) is lowered to ``SWITCH_INTERVAL`` and restored on return,
    so other threads of the calling process switch more often meanwhile.
    """
    began = time.perf_counter()
    fill_threads = max(1, fill_threads)
    with _short_switch_interval():
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        progress = on_progress or (lambda stage, done, total: None)
        engine = FormEngine(java_options=java_options, threads=fill_threads)
        with contextlib.ExitStack() as stack:
            stack.callback(engine.close)
            # the JVM starts while the fieldwork is planned and the forms are found and downloaded
            aside = ThreadPoolExecutor(2, thread_name_prefix="aimak-aside")
            stack.callback(aside.shutdown)
            started = aside.submit(engine.start)
            study, geo = load_study(Path(definition), Path(geography))
            plan = plan_sample(study, geo)
            world = make_world(study, geo, seed)
            people = draw_respondents(world, plan, respondents)
            visits = plan_fieldwork(world, plan, people, start=start or default_start())

            http = HttpClient(server_url, token)
            if not token and username and password:
                http.session.auth = (username, password)
            kobo = KoboClient(http)
            stack.callback(kobo.close)
            client = OpenRosaClient(openrosa_url or openrosa_base(server_url), token=token,
                                    username=username, password=password, pool=workers)
            stack.callback(client.close)
            forms = discover_forms(kobo)
            missing = [f for f in FORM_IDS if f not in forms]
            if missing:
                raise SimulationError(f"form(s) {', '.join(missing)} are not deployed on {server_url}: "
                                      "run 'aimak forms deploy' first.")
            xforms = _download(client, forms, out_dir / "forms")
            result = SimulationResult(out_dir, out_dir / "truth.json", forms, xforms, visits)
            started.result()
            _send_all(world, visits, xforms, client, result, out_dir, progress, workers, keep_instances,
                      engine, fill_threads)
            # the JVM stops and the truth is computed while the supervisors wait on the server
            aside.submit(engine.close)
            cells = aside.submit(expected_cells, world)
            _supervise(kobo, forms, visits, result, progress)
            cells = cells.result()
        result.seconds = time.perf_counter() - began
        summary = fieldwork_summary(visits) | {"forms": forms, "live_records": result.live,
                                                "warnings": result.warnings}
        write_truth(result.truth_path, truth_document(world, cells, respondents=len(people),
                                                      fieldwork=summary))
        _write_log(out_dir / "fieldwork.csv", visits)
        return result


def _download(client: OpenRosaClient, forms: dict[str, str], folder: Path) -> dict[str, Path]:
    entries = {e.form_id: e for e in client.form_list()}
    out = {}
    for fid, uid in forms.items():
        if uid not in entries:
            raise SimulationError(f"form {fid} (asset {uid}) is deployed but not in the server's "
                                  "formList: is the deployment active and owned by this account?")
        out[fid] = client.download_form(entries[uid], folder / f"{fid}.xml")
    return out


def _answers(world: World, visit: Visit) -> Answers:
    rng = random.Random(f"answers:{world.seed}:{visit.key}")
    stamp = int(visit.end.timestamp() * 1000)
    if visit.form == CITIZEN:
        return citizen_answers(world, visit.respondent, world.enumerators[visit.enumerator], rng)
    if visit.form == LSG:
        return lsg_answers(world, visit.municipality, phrases.person(rng),
                           visit.start.date().isoformat(), "ru", rng, stamp)
    language = rng.choice(("ky", "ru", "mixed"))
    return focus_group_answers(
        world, visit.municipality, visit.group_type, date=visit.start.date().isoformat(),
        start=visit.start.strftime("%H:%M:%S"), end=visit.end.strftime("%H:%M:%S"),
        moderator=phrases.person(rng), notetaker=phrases.person(rng), language=language,
        rng=rng, stamp_ms=stamp)


def _request(world: World, visit: Visit, xform: Path, answers: Answers, *,
             edit: bool = False) -> FillRequest:
    enumerator = world.enumerators.get(visit.enumerator)
    end = visit.end
    if edit:
        answers.values["hh_size"] = min(30, int(answers.values.get("hh_size", 4)) + 1)
        end = visit.edit_at
    return FillRequest(
        form=xform, answers=answers.values, repeats=answers.repeats,
        lang=enumerator.language if enumerator else "ru", start=visit.start, end=end,
        today=visit.start.date(), tz="Asia/Bishkek",
        deviceid=enumerator.deviceid if enumerator else f"collect:SUPERVISOR{visit.enumerator}",
        instance_id=visit.edit_instance_id if edit else visit.instance_id,
        deprecated_id=visit.instance_id if edit else None)


def _language(world: World, visit: Visit) -> str:
    enumerator = world.enumerators.get(visit.enumerator)
    return enumerator.language if enumerator else "ru"


def _lanes(items: list[Item], count: int, key: Callable[[Item], str]) -> list[int]:
    """The filling thread (lane) of each item: each key (the UI language) on one lane when that
    keeps the lanes balanced (a lane keeps one parsed form per language, so it parses and warms
    up fewer), otherwise every ``count``-th item on the same lane."""
    if count == 1:
        return [0] * len(items)
    groups: dict[str, list[int]] = collections.defaultdict(list)
    for index, item in enumerate(items):
        groups[key(item)].append(index)
    bins: list[list[int]] = [[] for _ in range(count)]
    for name in sorted(groups, key=lambda k: (-len(groups[k]), k)):
        min(bins, key=len).extend(groups[name])
    if max(len(b) for b in bins) > 1.1 * len(items) / count + 8:
        return [i % count for i in range(len(items))]
    lanes = [0] * len(items)
    for lane, indexes in enumerate(bins):
        for index in indexes:
            lanes[index] = lane
    return lanes


def _send_all(world: World, visits: list[Visit], xforms: dict[str, Path], client: OpenRosaClient,
              result: SimulationResult, out_dir: Path, progress: Progress, workers: int,
              keep: bool, engine: FormEngine, lanes: int) -> None:
    """Fill on ``lanes`` threads of the engine while ``workers`` threads post the instances in the
    order of sending; then the resends, then the edits (filled with the rest, posted only after
    the resends). The first failure (a refused fill or post) stops the run."""
    first = sorted((v for v in visits), key=lambda v: v.sent)
    later: list[tuple[dt.datetime, str, Visit]] = sorted(
        [(v.resend_at, "resend", v) for v in visits if v.resend_at]
        + [(v.edit_at, "edit", v) for v in visits if v.edit_at], key=lambda t: t[0])
    edits = [visit for _, kind, visit in later if kind == "edit"]
    total = len(first) + len(later)
    done = [0]
    lock = threading.Lock()
    kept: dict[str, tuple[bytes, dict[str, bytes]]] = {}
    held: dict[str, tuple[bytes, dict[str, bytes]]] = {}  # filled edits, by visit key
    resent = {v.key for v in visits if v.resend_at}
    failures: list[BaseException] = []
    stop = threading.Event()

    def post(xml: bytes, media: dict[str, bytes], visit: Visit, instance_id: str) -> None:
        if stop.is_set():
            return
        try:
            if keep:
                folder = out_dir / "instances" / visit.form
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"{instance_id.removeprefix('uuid:')}.xml").write_bytes(xml)
            answer = client.submit(xml, media, instance_id=instance_id)
        except BaseException as exc:  # noqa: BLE001 - raised by the caller of _send_all
            fail(exc)
            return
        with lock:
            result.posted += 1
            result.accepted += answer.status == 201
            result.duplicates += answer.duplicate
            done[0] += 1
            progress("submitting", done[0], total)

    def fail(exc: BaseException) -> None:
        with lock:
            failures.append(exc)
        stop.set()

    with ThreadPoolExecutor(workers, thread_name_prefix="aimak-post") as pool:
        slots = threading.BoundedSemaphore(workers * 4)

        def send(xml: bytes, media: dict[str, bytes], visit: Visit, instance_id: str) -> None:
            slots.acquire()
            try:
                future = pool.submit(post, xml, media, visit, instance_id)
            except BaseException:
                slots.release()
                raise
            future.add_done_callback(lambda _f: slots.release())

        def fill(items: list[tuple[Visit, bool]], lane_of: list[int]) -> None:
            meta: collections.deque[tuple[Visit, bool, Answers]] = collections.deque()

            def requests() -> Iterator[FillRequest]:
                for (visit, edit), lane in zip(items, lane_of, strict=True):
                    if stop.is_set():
                        return
                    answers = _answers(world, visit)
                    meta.append((visit, edit, answers))
                    request = _request(world, visit, xforms[visit.form], answers, edit=edit)
                    request.lane = lane
                    yield request

            try:
                for filled in engine.fill_many(requests()):
                    visit, edit, answers = meta.popleft()
                    with lock:
                        result.filled += 1
                        result.edited += edit
                        if visit.key in resent and not edit:
                            kept[visit.key] = (filled.xml, answers.media)
                        if edit:
                            held[visit.key] = (filled.xml, answers.media)
                    if not edit:
                        send(filled.xml, answers.media, visit, visit.instance_id)
                    if stop.is_set():
                        break
            except BaseException as exc:  # noqa: BLE001 - raised by the caller of _send_all
                fail(exc)

        def drain() -> None:
            for _ in range(workers * 4):  # every slot free: every post submitted so far is done
                slots.acquire()
            for _ in range(workers * 4):
                slots.release()
            if failures:
                raise failures[0]

        # the first sendings, then the edits, in one stream over the engine's lanes
        items = [(v, False) for v in first] + [(v, True) for v in edits]
        fill(items, _lanes(items, lanes, lambda item: _language(world, item[0])))
        drain()  # every first sending is answered
        for _, kind, visit in later:
            if kind == "resend":
                xml, media = kept[visit.key]
                send(xml, media, visit, visit.instance_id)
        drain()
        for visit in edits:
            xml, media = held[visit.key]
            send(xml, media, visit, visit.edit_instance_id)
        drain()


def _supervise(kobo: KoboClient, forms: dict[str, str], visits: list[Visit],
               result: SimulationResult, progress: Progress) -> None:
    """Delete what supervisors delete and set validation statuses through the KPI API."""
    progress("supervising", 0, 1)
    for fid, uid in forms.items():
        ids: dict[str, int] = {}
        for page in kobo.iter_pages(uid, fields=["_id", "_uuid"]):
            for record in page.records:
                ids[f"uuid:{record['_uuid'].removeprefix('uuid:')}"] = record["_id"]
        mine = [v for v in visits if v.form == fid]
        for v in mine:
            if v.deleted and v.final_instance_id in ids:
                kobo.http.request("DELETE", f"api/v2/assets/{uid}/data/{ids[v.final_instance_id]}/",
                                  parse_json=False)
                result.deleted += 1
        by_status: dict[str, list[int]] = collections.defaultdict(list)
        for v in mine:
            if v.validation and not v.deleted and v.final_instance_id in ids:
                by_status[v.validation].append(ids[v.final_instance_id])
        for status, id_list in sorted(by_status.items()):
            kobo.http.request("PATCH", f"api/v2/assets/{uid}/data/validation_statuses/",
                              json={"payload": {"submission_ids": id_list,
                                                "validation_status.uid": status}})
            result.validation[status] = result.validation.get(status, 0) + len(id_list)
        page = kobo.http.get_json(f"api/v2/assets/{uid}/data/", format="json", limit=1)
        result.live[fid] = int(page.get("count", 0))
    progress("supervising", 1, 1)


def _write_log(path: Path, visits: list[Visit]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["key", "form", "municipality", "village", "enumerator", "sex", "age_group",
                      "consent", "start", "end", "sent", "late", "instance_id", "final_instance_id",
                      "resent", "edited", "deleted", "validation_status"])
        for v in sorted(visits, key=lambda v: v.sent):
            r = v.respondent
            out.writerow([v.key, v.form, v.municipality, r.village if r else "", v.enumerator,
                          r.sex if r else "", r.age_group if r else "",
                          "" if r is None else ("yes" if r.consent else "no"),
                          v.start.isoformat(), v.end.isoformat(), v.sent.isoformat(), v.late,
                          v.instance_id, v.final_instance_id, bool(v.resend_at), bool(v.edit_at),
                          v.deleted, v.validation or ""])
