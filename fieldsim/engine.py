"""Drive JavaRosa, the form engine of ODK Collect, to fill XForms as an enumerator would.

One long-lived JVM runs ``fieldsim/java/AimakFiller.java`` (compiled on first use against the ODK
Validate jar that pyxform bundles, JavaRosa 5.1) and answers one JSON request per line on stdin
with one JSON reply per line on stdout, in request order (``threads`` > 1 fills several at once,
each thread with its own parsed forms). Relevance, constraints, calculations, choice filters and
repeats therefore behave exactly as on a phone, and the XML returned is what
``XFormSerializingVisitor`` writes: the ``xml_submission_file`` Collect sends.

Typical use::

    with FormEngine() as engine:
        filled = engine.fill(Path("survey.xml"), {"consent": "yes", "age": 34})
        for filled in engine.fill_many(FillRequest(form, answers) for answers in batch):
            ...

Answers map a question *name* to a value. Inside a repeat a value may be a list with one item per
instance (a list of lists for a nested repeat, outermost first), or the key may be ``name[k]``
(``name[i][j]`` for nested repeats) or a full path with repeat positions
(``/data/members[2]/member_name``). Questions absent from the map are left unanswered unless
``auto=True``, which gives each of them a valid random value from a seeded generator. Answers for
questions that exist but are not relevant are unused, as on a phone; a key that names no question
of the form at all (a renamed question, a typo) raises :class:`UnknownAnswers` instead of losing
the answer silently.
The facts behind the Java side: /work/shared/domain/javarosa.md.
"""

from __future__ import annotations

import collections
import datetime as dt
import decimal
import hashlib
import importlib.resources
import importlib.util
import itertools
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
import weakref
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aimak.errors import SimulationError
from aimak.settings import toolchain_paths

__all__ = [
    "DEFAULT_JAVA_OPTIONS",
    "DEFAULT_TZ",
    "FillError",
    "FillRejected",
    "FillRequest",
    "FilledInstance",
    "FormEngine",
    "UnknownAnswers",
    "compile_filler",
    "validate_jar",
]

DEFAULT_TZ = "Asia/Bishkek"
DEFAULT_DEVICEID = "collect:AIMAKSIMULATOR00"
# Measured on the 2-core box (bench/engine_fill.py --compare-options, ~100-question form):
# the capped heap keeps the JVM near 110 MB RSS instead of 500 MB; keeping the C2 compiler
# (no -XX:TieredStopAtLevel=1) costs ~50 ms at start but doubles the fill rate.
DEFAULT_JAVA_OPTIONS = ("-Xmx64m", "-XX:+UseSerialGC")
INSTALL_HINT = "install a Java 17 JDK: apt-get install openjdk-17-jdk-headless"
MAIN_CLASS = "AimakFiller"
FILLER_JAR = "filler.jar"
# JVM log lines (warnings included) go to stderr: stdout is the protocol stream
JVM_LOGGING = ("-Xlog:disable", "-Xlog:all=warning:stderr")
ARCHIVE_AFTER_FILLS = 20
_SOURCE = ("java", "AimakFiller.java")
_EOF = object()


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class FillError:
    """One answer JavaRosa refused, or a required question left empty."""

    kind: str  # constraint | required | bad_value
    question: str
    path: str
    value: str | None
    message: str
    allowed: tuple[str, ...] | None = None
    label: str | None = None

    def __str__(self) -> str:
        shown = "(empty)" if self.value is None else repr(self.value)
        return (
            f"question {self.question!r} ({self.path}) value {shown}: {self.kind}: {self.message}"
        )


@dataclass(frozen=True)
class FilledInstance:
    """A finalised instance: the submission XML and its meta/instanceID."""

    xml: bytes
    instance_id: str
    form: Path
    errors: tuple[FillError, ...] = ()


class FillRejected(SimulationError):
    """JavaRosa refused one or more answers (constraint, required, bad value)."""

    def __init__(self, form: Path, errors: Iterable[FillError], instance: FilledInstance | None):
        self.form = Path(form)
        self.errors = tuple(errors)
        self.instance = instance
        lines = "\n".join(f"  {e}" for e in self.errors)
        count = len(self.errors)
        noun = "answer was" if count == 1 else "answers were"
        super().__init__(
            f"form {self.form.name}: {count} {noun} refused by JavaRosa:\n{lines}\n"
            "Fix the answers (or pass collect_errors=True to get them on the result)."
        )


class UnknownAnswers(SimulationError):
    """Answer keys that match no question of the form (by name, ``name[k]`` or path, repeats
    included): nothing was filled. Raised whatever ``collect_errors`` says."""

    def __init__(self, form: Path, keys: Iterable[str]):
        self.form = Path(form)
        self.keys = tuple(keys)
        shown = ", ".join(repr(k) for k in self.keys)
        noun = "answer key matches" if len(self.keys) == 1 else "answer keys match"
        super().__init__(
            f"form {self.form.name}: {len(self.keys)} {noun} no question of the form: {shown}. "
            "Was a question renamed or removed? Answer by question name, name[k] or full path."
        )


@dataclass
class FillRequest:
    """Everything one fill needs; the fields mirror :meth:`FormEngine.fill`."""

    form: Path
    answers: Mapping[str, Any] = field(default_factory=dict)
    repeats: Mapping[str, int | list[int]] | None = None
    auto: bool = False
    seed: int | None = None
    lang: str | None = None
    start: dt.datetime | str | None = None
    end: dt.datetime | str | None = None
    today: dt.date | str | None = None
    tz: str | None = None
    deviceid: str | None = None
    properties: Mapping[str, str] | None = None
    instance_id: str | None = None
    deprecated_id: str | None = None
    geopoint: tuple[float, float] | str | None = None
    lane: int | None = None  # which of the engine's filling threads (round-robin when None)


# --------------------------------------------------------------------------- build


def validate_jar() -> Path:
    """The ODK Validate jar of the installed pyxform (it bundles JavaRosa)."""
    spec = importlib.util.find_spec("pyxform")
    if spec is None or not spec.submodule_search_locations:
        raise SimulationError(
            "pyxform is not installed; the JavaRosa engine comes from its ODK Validate jar"
        )
    base = Path(next(iter(spec.submodule_search_locations)))
    jar = base / "validators" / "odk_validate" / "bin" / "ODK_Validate.jar"
    if not jar.is_file():
        raise SimulationError(f"pyxform has no ODK Validate jar at {jar}; reinstall pyxform==4.5.0")
    return jar


def _source_text() -> bytes:
    return importlib.resources.files("fieldsim").joinpath(*_SOURCE).read_bytes()


def _tool(name: str) -> str:
    home, _cache = toolchain_paths()
    if home:
        candidate = home / "bin" / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if not found:
        raise SimulationError(f"'{name}' was not found on PATH (nor in JAVA_HOME); {INSTALL_HINT}")
    return found


def _default_cache_root() -> Path:
    _home, cache = toolchain_paths()
    return cache / "aimak" / "javarosa"


_JAR_DIGESTS: dict[tuple[str, int, int], bytes] = {}


def _jar_digest(jar: Path) -> bytes:
    """sha256 of the jar, computed once per process for a given path, size and mtime."""
    stat = jar.stat()
    key = (str(jar), stat.st_size, stat.st_mtime_ns)
    if key not in _JAR_DIGESTS:
        _JAR_DIGESTS[key] = hashlib.sha256(jar.read_bytes()).digest()
    return _JAR_DIGESTS[key]


def compile_filler(cache_dir: Path | None = None) -> Path:
    """Compile AimakFiller.java once per (source, jar) and return the folder of classes.

    The classes live in ``<cache_dir>/<hash of source + jar>/`` (default cache:
    ``~/.cache/aimak/javarosa``), with ``filler.jar`` holding the same classes (the JVM's class
    data sharing archives classes from jars only). Concurrent compilations are safe: each writes
    a temporary folder and renames it into place.
    """
    jar = validate_jar()
    source = _source_text()
    digest = hashlib.sha256()
    digest.update(source)
    digest.update(_jar_digest(jar))
    root = Path(cache_dir) if cache_dir is not None else _default_cache_root()
    target = root / digest.hexdigest()[:20]
    if (target / f"{MAIN_CLASS}.class").is_file():
        if not (target / FILLER_JAR).is_file():  # a cache folder from before the jar
            _write_jar(target)
        return target
    javac = _tool("javac")
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=root))
    try:
        (work / "src").mkdir()
        src = work / "src" / f"{MAIN_CLASS}.java"
        src.write_bytes(source)
        classes = work / "classes"
        classes.mkdir()
        run = subprocess.run(
            [javac, "-nowarn", "-encoding", "UTF-8", "-cp", str(jar), "-d", str(classes), str(src)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if run.returncode != 0:
            raise SimulationError(
                f"javac could not compile {MAIN_CLASS}.java against {jar.name} "
                f"(exit {run.returncode}):\n{run.stderr.strip()[-3000:]}\n"
                f"A JDK 17 is needed ({INSTALL_HINT}); if it is installed, the jar's API changed: "
                "keep pyxform pinned to 4.5.0."
            )
        _write_jar(classes)
        try:
            classes.rename(target)
        except OSError:
            if not (target / f"{MAIN_CLASS}.class").is_file():
                raise
    except subprocess.TimeoutExpired as exc:
        raise SimulationError("javac did not finish within 300 s") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _write_jar(classes: Path) -> Path:
    """``classes/filler.jar`` with the compiled classes of that folder (written aside, then
    renamed into place)."""
    final = classes / FILLER_JAR
    part = classes / f".{FILLER_JAR}.{os.getpid()}.{threading.get_ident()}"
    with zipfile.ZipFile(part, "w", zipfile.ZIP_STORED) as out:
        for item in sorted(classes.glob("*.class")):
            out.write(item, item.name)
    os.replace(part, final)
    return final


def _class_archive(classes: Path, java: str) -> Path:
    """Where the JVM's class data sharing archive of the filler lives: one per JDK and ODK jar
    (the JVM refuses, and ignores, an archive whose JDK or class path differ)."""
    jar = validate_jar()
    stat = jar.stat()
    key = f"{os.path.realpath(java)}|{jar}|{stat.st_size}|{stat.st_mtime_ns}"
    return classes / f"filler-{hashlib.sha256(key.encode()).hexdigest()[:12]}.jsa"


# --------------------------------------------------------------------------- the engine


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot send a {type(value).__name__} as an answer: {value!r}")


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _pump_stdout(proc: subprocess.Popen, replies: queue.Queue) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        replies.put(line)
    replies.put(_EOF)


def _pump_stderr(proc: subprocess.Popen, tail: collections.deque) -> None:
    assert proc.stderr is not None
    for line in proc.stderr:
        tail.append(line.decode("utf-8", "replace").rstrip())


def _terminate(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            proc.kill()
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass


class FormEngine:
    """One JavaRosa JVM that fills forms; a context manager (``close()`` kills the JVM).

    ``collect_errors=False`` makes refused answers raise :class:`FillRejected` (a
    :class:`SimulationError` naming the form, question, value and message); ``True`` returns them
    on ``FilledInstance.errors`` instead. ``timeout`` bounds the wait for each reply, so a hung or
    crashed JVM is reported instead of waited on. After a crash the next call starts a new JVM.
    ``threads`` > 1 fills that many instances at once inside the one JVM (each thread keeps its
    own parsed forms; ``FillRequest.lane`` picks the thread); results still come in request order.
    """

    def __init__(
        self,
        *,
        cache_dir: Path | None = None,
        java_options: Iterable[str] = DEFAULT_JAVA_OPTIONS,
        tz: str = DEFAULT_TZ,
        deviceid: str = DEFAULT_DEVICEID,
        timeout: float = 60.0,
        collect_errors: bool = False,
        window: int = 256,
        threads: int = 1,
    ) -> None:
        self.cache_dir = cache_dir
        self.java_options = tuple(java_options)
        self.tz = tz
        self.deviceid = deviceid
        self.timeout = timeout
        self.collect_errors = collect_errors
        self.window = max(1, window)
        self.threads = max(1, threads)
        self.javarosa_version: str | None = None
        self.started_in: float | None = None  # seconds from launch to "ready"
        self._proc: subprocess.Popen | None = None
        self._replies: queue.Queue = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=40)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._finalizer: weakref.finalize | None = None
        # form path -> absolute path (resolve() is lstat heavy)
        self._resolved: dict[Path | str, str] = {}
        self._archive: tuple[Path, Path] | None = None  # (being written, final) class archive
        self._fills = 0  # replies read from the running JVM

    # -- lifecycle -------------------------------------------------------------------

    def __enter__(self) -> FormEngine:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pid(self) -> int | None:
        """Process id of the running JVM (for measurements), or None."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def start(self) -> None:
        """Compile if needed and launch the JVM; wait until it says it is ready."""
        if self._proc is not None and self._proc.poll() is None:
            return
        classes = compile_filler(self.cache_dir)
        java = _tool("java")
        # Class data sharing: the first JVM writes an archive of the classes it loaded when it
        # exits; later ones map it instead of loading and verifying ~1,000 classes again (about
        # a third of the start-up, on every JVM a simulation starts).
        archive = _class_archive(classes, java)
        if archive.is_file():
            sharing = [f"-XX:SharedArchiveFile={archive}"]
            self._archive = None
        else:
            part = archive.with_name(f".{archive.name}.{os.getpid()}.{id(self)}")
            sharing = [f"-XX:ArchiveClassesAtExit={part}"]
            self._archive = (part, archive)
        cmd = [
            java,
            *JVM_LOGGING,
            *sharing,
            *self.java_options,
            f"-Daimak.threads={self.threads}",
            "-Dfile.encoding=UTF-8",
            f"-Duser.timezone={self.tz}",
            "-Duser.language=en",
            "-Duser.country=US",
            "-cp",
            os.pathsep.join([str(classes / FILLER_JAR), str(validate_jar())]),
            MAIN_CLASS,
        ]
        began = time.perf_counter()
        try:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                bufsize=1 << 16,
            )
        except OSError as exc:
            raise SimulationError(f"cannot start java ({java}): {exc}; {INSTALL_HINT}") from exc
        self._proc = proc
        self._fills = 0
        self._replies = queue.Queue()
        self._stderr.clear()
        self._finalizer = weakref.finalize(self, _terminate, proc)
        # the threads get no reference to self, so a dropped engine is collected and its JVM killed
        threading.Thread(target=_pump_stdout, args=(proc, self._replies), daemon=True).start()
        threading.Thread(target=_pump_stderr, args=(proc, self._stderr), daemon=True).start()
        hello = self._next_reply(None)
        if not hello.get("ready"):
            self.close()
            raise SimulationError(f"the JavaRosa process did not start correctly: {hello!r}")
        self.javarosa_version = hello.get("javarosa")
        self.started_in = time.perf_counter() - began

    def close(self) -> None:
        """Stop the JVM (idempotent)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        archive, self._archive = self._archive, None
        try:
            if proc.stdin and not proc.stdin.closed:
                proc.stdin.close()
            proc.wait(timeout=2 if archive is None else 10)  # writing the archive takes ~0.3 s
        except (OSError, subprocess.TimeoutExpired):
            pass
        _terminate(proc)
        if archive is not None:
            part, final = archive
            try:  # kept only from a JVM that did real work: it holds the classes fills need
                if proc.returncode == 0 and part.is_file() and self._fills >= ARCHIVE_AFTER_FILLS:
                    os.replace(part, final)
            except OSError:
                pass
            part.unlink(missing_ok=True)
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None

    def _died(self, what: str) -> SimulationError:
        proc, self._proc = self._proc, None
        code = None
        if proc is not None:
            _terminate(proc)
            code = proc.returncode
        tail = "\n".join(self._stderr) or "(nothing on stderr)"
        return SimulationError(
            f"the JavaRosa process {what} (exit code {code}); last stderr lines:\n{tail}\n"
            "The next call starts a new JVM."
        )

    def _next_reply(self, want_id: int | None) -> dict:
        """Read replies until the one for ``want_id`` (skipping leftovers of an abandoned stream)."""
        deadline = time.monotonic() + self.timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = self._replies.get(timeout=max(remaining, 0.001))
            except queue.Empty:
                raise self._died(
                    f"sent no reply within {self.timeout:g} s and was killed"
                ) from None
            if line is _EOF:
                raise self._died("stopped")
            reply = json.loads(line)
            got = reply.get("id")
            if want_id is None or got == want_id:
                return reply
            if got is None:
                raise SimulationError(
                    f"the JavaRosa process could not read a request: {reply.get('exception')}"
                )
            # a reply to a request of an earlier, abandoned fill_many: drop it

    # -- requests --------------------------------------------------------------------

    def _form_path(self, form: Path | str) -> str:
        resolved = self._resolved.get(form)
        if resolved is None:  # the JVM re-reads a file whose size or mtime changed, not its path
            resolved = self._resolved[form] = str(Path(form).resolve())
        return resolved

    def _payload(self, req: FillRequest, rid: int) -> bytes:
        geopoint = req.geopoint
        if isinstance(geopoint, tuple | list):
            geopoint = " ".join(str(x) for x in geopoint)
        body = {
            "id": rid,
            "form": self._form_path(req.form),
            "answers": dict(req.answers or {}),
            "repeats": dict(req.repeats or {}),
            "auto": bool(req.auto),
            "seed": req.seed,
            "lang": req.lang,
            "tz": req.tz or self.tz,
            "start": _iso(req.start),
            "end": _iso(req.end),
            "today": _iso(req.today),
            "deviceid": req.deviceid or self.deviceid,
            "properties": dict(req.properties or {}),
            "instanceID": req.instance_id,
            "deprecatedID": req.deprecated_id,
            "geopoint": geopoint,
        }
        if req.lane is not None:
            body["lane"] = req.lane
        text = json.dumps(body, ensure_ascii=False, default=_json_default, separators=(",", ":"))
        return text.encode("utf-8") + b"\n"

    def _result(self, req: FillRequest, reply: dict, collect: bool) -> FilledInstance:
        self._fills += 1
        form = Path(req.form)
        if "exception" in reply:
            raise SimulationError(
                f"form {form.name}: JavaRosa failed: {reply['exception']} ({reply.get('exceptionType')})"
            )
        if reply.get("unknownAnswers"):
            raise UnknownAnswers(form, reply["unknownAnswers"])
        errors = tuple(
            FillError(
                kind=e["kind"],
                question=e["question"],
                path=e["path"],
                value=e.get("value"),
                message=e["message"],
                allowed=tuple(e["allowed"]) if e.get("allowed") is not None else None,
                label=e.get("label"),
            )
            for e in reply.get("errors", ())
        )
        instance = FilledInstance(
            xml=reply["xml"].encode("utf-8"),
            instance_id=reply.get("instanceID") or "",
            form=form,
            errors=errors,
        )
        if errors and not collect:
            raise FillRejected(form, errors, instance)
        return instance

    def _send(self, data: bytes) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None:
            raise SimulationError("the JavaRosa process is not running")
        try:
            proc.stdin.write(data)
            proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise self._died("stopped reading requests") from None

    def _acquire(self) -> None:
        if not self._lock.acquire(timeout=self.timeout):
            raise SimulationError("the engine is busy (a fill_many stream is still open on it)")

    def fill(
        self,
        form: Path,
        answers: Mapping[str, Any] | None = None,
        *,
        repeats: Mapping[str, int | list[int]] | None = None,
        auto: bool = False,
        seed: int | None = None,
        lang: str | None = None,
        start: dt.datetime | str | None = None,
        end: dt.datetime | str | None = None,
        today: dt.date | str | None = None,
        tz: str | None = None,
        deviceid: str | None = None,
        properties: Mapping[str, str] | None = None,
        instance_id: str | None = None,
        deprecated_id: str | None = None,
        geopoint: tuple[float, float] | str | None = None,
        collect_errors: bool | None = None,
    ) -> FilledInstance:
        """Fill ``form`` once and finalise it as Collect does.

        ``repeats`` gives the number of instances per repeat name (an int, or a list with one count
        per instance of the enclosing repeat); by default as many as the longest list of answers
        inside it (1 for a plain value, 0 without answers; 1–3 at random in auto mode).
        ``start``/``end``/``today`` set the preloads (naive times are in ``tz``, default
        Asia/Bishkek, which is also the offset written); ``lang`` is the UI language (full name
        like ``"Русский (ru)"`` or the code ``"ru"``); ``deprecated_id`` makes this an edit of a
        finalised instance (meta/deprecatedID set, a new instanceID).
        """
        req = FillRequest(
            form=Path(form),
            answers=answers or {},
            repeats=repeats,
            auto=auto,
            seed=seed,
            lang=lang,
            start=start,
            end=end,
            today=today,
            tz=tz,
            deviceid=deviceid,
            properties=properties,
            instance_id=instance_id,
            deprecated_id=deprecated_id,
            geopoint=geopoint,
        )
        collect = self.collect_errors if collect_errors is None else collect_errors
        self._acquire()
        try:
            self.start()
            rid = next(self._ids)
            self._send(self._payload(req, rid))
            return self._result(req, self._next_reply(rid), collect)
        finally:
            self._lock.release()

    def fill_many(
        self, requests: Iterable[FillRequest], *, collect_errors: bool | None = None
    ) -> Iterator[FilledInstance]:
        """Fill many forms, pipelined: a writer thread sends while this generator reads.

        Results come in request order. At most ``window`` requests are in flight. Stopping early
        (break, an exception) stops the writer; leftover replies are skipped by the next call.
        """
        collect = self.collect_errors if collect_errors is None else collect_errors
        self._acquire()
        try:
            self.start()
            pending: queue.Queue = queue.Queue()
            slots = threading.Semaphore(self.window)
            stop = threading.Event()
            failure: list[BaseException] = []

            def writer() -> None:
                try:
                    for req in requests:
                        proc = self._proc
                        if proc is None or proc.stdin is None:
                            return
                        if not slots.acquire(blocking=False):
                            proc.stdin.flush()  # the window is full: let the JVM see everything
                            while not slots.acquire(timeout=0.2):
                                if stop.is_set():
                                    return
                        if stop.is_set():
                            return
                        rid = next(self._ids)
                        data = self._payload(req, rid)
                        pending.put((rid, req))
                        proc.stdin.write(data)
                        # every request at once: a request left in the buffer while the JVM
                        # runs dry costs more than a pipe write (the JVM reads whole batches)
                        proc.stdin.flush()
                    proc = self._proc
                    if proc is not None and proc.stdin is not None:
                        proc.stdin.flush()
                except BaseException as exc:  # noqa: BLE001 - reported by the reading side
                    failure.append(exc)
                finally:
                    pending.put(None)

            thread = threading.Thread(target=writer, name="aimak-fill-writer", daemon=True)
            thread.start()
            try:
                while True:
                    try:
                        item = pending.get(timeout=self.timeout)
                    except queue.Empty:
                        raise SimulationError(
                            f"no request was produced within {self.timeout:g} s"
                        ) from None
                    if item is None:
                        break
                    rid, req = item
                    reply = self._next_reply(rid)
                    slots.release()
                    yield self._result(req, reply, collect)
                if failure:
                    exc = failure[0]
                    if isinstance(exc, BrokenPipeError | OSError | ValueError):
                        raise self._died("stopped reading requests") from exc
                    raise exc
            finally:
                stop.set()
                thread.join(timeout=5)
        finally:
            self._lock.release()
