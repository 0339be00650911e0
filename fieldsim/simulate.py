"""A simulated field team: fill the deployed forms with JavaRosa and send them over OpenRosa.

``simulate()`` finds the deployed forms through the KPI API, downloads each XForm as a phone does
(formList → downloadUrl: the root id is the asset uid, with ``__version__`` and ``formhub/uuid``),
fills every visit of the schedule in one long-lived JavaRosa JVM (pipelined, on two filling threads
on a 2-core machine) while a small thread pool posts the finalised instances, then resends a few,
edits a few, deletes two through the API, sets validation statuses, and writes ``truth.json`` and
``fieldwork.csv`` into ``out_dir``.

On a bad network nothing is lost: an instance the server does not take (unreachable, 5xx) waits
in ``out_dir/outbox`` and is sent in later rounds (:mod:`fieldsim.sending`), and what is still
there at the end is reported; running the same command again sends it.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime as dt
import os
import random
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
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
)
from fieldsim.openrosa_client import OpenRosaClient
from fieldsim.outbox import Outbox
from fieldsim.personas import World
from fieldsim.result import SimulationResult
from fieldsim.rounds import change_truth, check_deployed_round, load_round
from fieldsim.run_parameters import RunParameters
from fieldsim.sending import Sender
from fieldsim.supervision import supervise, write_log
from fieldsim.truth import expected_cells, truth_document, write_truth
from forms import BUNDLED_DEFINITION, BUNDLED_GEOGRAPHY

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
# tries of one post before the instance waits in the outbox for a later round (ODK Collect tries
# once per automatic send and keeps the form)
SEND_ATTEMPTS = 3
Progress = Callable[[str, int, int], None]
Item = TypeVar("Item")


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
             fill_threads: int = FILL_THREADS,
             send_attempts: int = SEND_ATTEMPTS,
             round_code: str | None = None) -> SimulationResult:
    """Run the simulated fieldwork against the server at ``server_url`` (the KPI base).

    ``respondents`` citizen interviews in total (default: the sample plan's), split by the sample
    plan; per municipality one LSG assessment and the focus groups of ``sample_plan.focus_groups``.
    Raises :class:`SimulationError` (a form is not deployed, JavaRosa refused an answer, the
    server refused a submission). ``fill_threads`` threads of the JavaRosa JVM fill at once,
    ``workers`` threads post, each instance is tried ``send_attempts`` times before it waits in
    the outbox (``out_dir/outbox``) for a later round.

    ``round_code`` is the study round simulated (default: the definition's); the deployed forms
    must carry it. Another round than the definition's is a follow-up of it (:mod:`fieldsim.rounds`):
    shifted truths, a new sample, and by default fieldwork after the baseline's.

    When ``out_dir`` holds an outbox that an earlier run could not send, the arguments must be
    that run's: this run then only sends the outbox (and supervises what arrives), or, if that run
    stopped before every instance was filled, runs the same fieldwork again.

    For the duration of the run this changes a process-wide setting: CPython's thread switch
    interval (``sys.setswitchinterval``) is lowered to ``SWITCH_INTERVAL`` and restored on return,
    so other threads of the calling process switch more often meanwhile.
    """
    began = time.perf_counter()
    fill_threads = max(1, fill_threads)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    progress = on_progress or (lambda stage, done, total: None)
    outbox = Outbox(out_dir / "outbox")
    base_round = load_round(Path(definition), Path(geography))
    wanted_round = round_code or base_round
    round_code = None if wanted_round == base_round else wanted_round  # None: the baseline
    run = RunParameters(seed, respondents, start or default_start(follow_up=bool(round_code)),
                        Path(definition), Path(geography), round_code=round_code)
    if len(outbox):
        run = RunParameters.read(out_dir, outbox)
        run.check(seed, respondents, round_code)
        if run.handed_over:
            return _send_outbox(run, outbox, began, server_url, token, username, password,
                                openrosa_url, progress, send_attempts)
    with _short_switch_interval():
        engine = FormEngine(java_options=java_options, threads=fill_threads)
        with contextlib.ExitStack() as stack:
            stack.callback(engine.close)
            # the JVM starts while the fieldwork is planned and the forms are found and downloaded
            aside = ThreadPoolExecutor(2, thread_name_prefix="aimak-aside")
            stack.callback(aside.shutdown)
            started = aside.submit(engine.start)
            world, people, visits = run.plan()
            run.write(out_dir)  # before anything is sent: a later run can send what is kept
            kobo, client = _clients(stack, server_url, token, username, password, openrosa_url,
                                    workers, send_attempts)
            forms = _deployed_forms(kobo, server_url)
            xforms = _download(client, forms, out_dir / "forms")
            check_deployed_round(xforms, wanted_round)
            result = SimulationResult(out_dir, out_dir / "truth.json", forms, xforms, visits)
            sender = Sender(client, outbox, result, progress,
                            len(visits) + sum(bool(v.resend_at) + bool(v.edit_at) for v in visits),
                            workers, out_dir / "instances" if keep_instances else None)
            stack.callback(sender.close)
            started.result()
            _send_all(world, visits, xforms, sender, result, engine, fill_threads)
            dataclasses.replace(run, handed_over=True).write(out_dir)
            # the JVM stops and the truth is computed while the supervisors wait on the server
            aside.submit(engine.close)
            cells = aside.submit(expected_cells, world)
            supervise(kobo, forms, visits, result, progress)
            cells = cells.result()
        _write_outputs(result, world, cells, len(people), began)
        return result


def _send_outbox(run: RunParameters, outbox: Outbox, began: float, server_url: str,
                 token: str | None, username: str | None, password: str | None,
                 openrosa_url: str | None, progress: Progress, send_attempts: int) -> SimulationResult:
    """A later run: send what an earlier run kept in its outbox, then supervise it."""
    out_dir = outbox.folder.parent
    world, people, visits = run.plan()
    with contextlib.ExitStack() as stack:
        kobo, client = _clients(stack, server_url, token, username, password, openrosa_url, 1,
                                send_attempts)
        forms = _deployed_forms(kobo, server_url)
        xforms = {fid: out_dir / "forms" / f"{fid}.xml" for fid in forms}
        result = SimulationResult(out_dir, out_dir / "truth.json", forms, xforms, visits,
                                  resumed=True)
        sender = Sender(client, outbox, result, progress, len(outbox), 1)
        stack.callback(sender.close)
        sender.round()
        sender.finish()
        supervise(kobo, forms, visits, result, progress)
    _write_outputs(result, world, expected_cells(world), len(people), began)
    return result


def _clients(stack: contextlib.ExitStack, server_url: str, token: str | None, username: str | None,
             password: str | None, openrosa_url: str | None, workers: int,
             attempts: int) -> tuple[KoboClient, OpenRosaClient]:
    """The KPI client (supervisors) and the OpenRosa client (phones), closed with ``stack``."""
    http = HttpClient(server_url, token)
    if not token and username and password:
        http.session.auth = (username, password)
    kobo = KoboClient(http)
    stack.callback(kobo.close)
    client = OpenRosaClient(openrosa_url or openrosa_base(server_url), token=token,
                            username=username, password=password, pool=workers,
                            send_attempts=attempts)
    stack.callback(client.close)
    return kobo, client


def _deployed_forms(kobo: KoboClient, server_url: str) -> dict[str, str]:
    forms = discover_forms(kobo)
    missing = [f for f in FORM_IDS if f not in forms]
    if missing:
        raise SimulationError(f"form(s) {', '.join(missing)} are not deployed on {server_url}: "
                              "run 'aimak forms deploy' first.")
    return forms


def _write_outputs(result: SimulationResult, world: World, cells: list, respondents: int,
                   began: float) -> None:
    """``truth.json`` and ``fieldwork.csv``, with what is still unsent."""
    result.seconds = time.perf_counter() - began
    summary = fieldwork_summary(result.visits) | {
        "forms": result.forms, "live_records": result.live, "unsent": result.unsent,
        "warnings": result.warnings}
    write_truth(result.truth_path, truth_document(world, cells, respondents=respondents,
                                                  fieldwork=summary,
                                                  changes=change_truth(world, cells)))
    write_log(result.out_dir / "fieldwork.csv", result.visits)


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
    rng = random.Random(f"answers:{world.draws}:{visit.key}")
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


def _send_all(world: World, visits: list[Visit], xforms: dict[str, Path], sender: Sender,
              result: SimulationResult, engine: FormEngine, lanes: int) -> None:
    """Fill on ``lanes`` threads of the engine while the sender posts the instances in the order
    of sending; then the resends, then the edits (filled with the rest, posted only after the
    resends). What could not be sent waits in the outbox and is sent in a round after each of
    these stages and in the final rounds. The first refused fill or post stops the run."""
    first = sorted((v for v in visits), key=lambda v: v.sent)
    later: list[tuple[dt.datetime, str, Visit]] = sorted(
        [(v.resend_at, "resend", v) for v in visits if v.resend_at]
        + [(v.edit_at, "edit", v) for v in visits if v.edit_at], key=lambda t: t[0])
    edits = [visit for _, kind, visit in later if kind == "edit"]
    kept: dict[str, tuple[bytes, dict[str, bytes]]] = {}
    held: dict[str, tuple[bytes, dict[str, bytes]]] = {}  # filled edits, by visit key
    resent = {v.key for v in visits if v.resend_at}

    def fill(items: list[tuple[Visit, bool]], lane_of: list[int]) -> None:
        meta: collections.deque[tuple[Visit, bool, Answers]] = collections.deque()

        def requests() -> Iterator[FillRequest]:
            for (visit, edit), lane in zip(items, lane_of, strict=True):
                if sender.stop.is_set():
                    return
                answers = _answers(world, visit)
                meta.append((visit, edit, answers))
                request = _request(world, visit, xforms[visit.form], answers, edit=edit)
                request.lane = lane
                yield request

        try:
            for filled in engine.fill_many(requests()):
                visit, edit, answers = meta.popleft()
                with sender.lock:
                    result.filled += 1
                    result.edited += edit
                if visit.key in resent and not edit:
                    kept[visit.key] = (filled.xml, answers.media)
                if edit:
                    held[visit.key] = (filled.xml, answers.media)
                else:
                    sender.send(visit.form, filled.xml, answers.media, visit.instance_id)
                if sender.stop.is_set():
                    break
        except BaseException as exc:  # noqa: BLE001 - raised by sender.drain() below
            sender.fail(exc)

    # the first sendings, then the edits, in one stream over the engine's lanes
    items = [(v, False) for v in first] + [(v, True) for v in edits]
    fill(items, _lanes(items, lanes, lambda item: _language(world, item[0])))
    sender.drain()  # every first sending is answered or kept
    sender.round()
    for _, kind, visit in later:
        if kind == "resend":
            xml, media = kept[visit.key]
            sender.resend(visit.form, xml, media, visit.instance_id)
    sender.drain()
    sender.round()
    for visit in edits:
        xml, media = held[visit.key]
        sender.send(visit.form, xml, media, visit.edit_instance_id, deprecated_id=visit.instance_id)
    sender.drain()
    sender.finish()
