"""Ctrl-C ends any command within two seconds, with exit status 130 and a word on resuming.

The first Ctrl-C raises ``KeyboardInterrupt`` in the main thread as usual, so every ``with``
block unwinds: an open DuckDB transaction rolls back, connections and servers close (landing
files are written whole or not at all, so nothing half-written is left). Then the command line
calls :func:`exit_now`, which skips the interpreter's own shutdown, where libraries can spend
seconds (Prefect's temporary server, its event clients). Should the unwinding itself hang, a
watchdog thread, woken by the signal through :func:`signal.set_wakeup_fd` even while the main
thread is busy in C code, ends the process :data:`GRACE` seconds after Ctrl-C (and faulthandler's
C thread a little later, if even the watchdog cannot run). Either way the processes this one
started are stopped. Later Ctrl-Cs are ignored meanwhile, so they cannot interrupt a rollback.
"""

from __future__ import annotations

import _thread
import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType

EXIT_STATUS = 130  # 128 + SIGINT, what shells report for a command ended by Ctrl-C
GRACE = 1.0  # seconds between Ctrl-C and the forced exit
MESSAGE = ("interrupted: nothing half-written was kept (an open transaction is rolled back, "
           "landing files are written whole). Run the same command again: it resumes where it "
           "stopped.")

DEMO_MESSAGE = ("interrupted: the demo stopped and its servers are closed. Run it again: it "
                "starts over, keeping only fieldwork an earlier demo finished.")

_said = threading.Lock()
_message = [MESSAGE]
_interrupted = threading.Event()


def interrupted() -> bool:
    """True once Ctrl-C was pressed: any error raised after it is a consequence (DuckDB, for one,
    turns the interrupt into ``RuntimeError: Query interrupted``), not something to report."""
    return _interrupted.is_set()


def say_on_interrupt(message: str) -> None:
    """What :func:`announce` prints for this command (a command that starts over, not resumes)."""
    _message[0] = message


def announce() -> None:
    """Print the message on stderr, once per process."""
    if _said.acquire(blocking=False):
        sys.stderr.write(f"\n{_message[0]}\n")
        sys.stderr.flush()


@contextmanager
def prompt_interrupt(grace: float = GRACE) -> Iterator[None]:
    """While the block runs, Ctrl-C interrupts it and the process is gone ``grace`` s later."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals are only delivered to the main thread; nothing to arrange elsewhere
        return
    receiver, sender = socket.socketpair()
    sender.setblocking(False)

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        if _interrupted.is_set():
            return  # already unwinding: let the rollback finish, the watchdog ends the process
        if frame is not None and frame.f_code.co_name == "__del__":
            # raised in a finaliser, the interrupt would only be printed and lost: ask again
            threading.Timer(0.02, _thread.interrupt_main).start()
            return
        _interrupted.set()
        _quiet_background_errors()
        raise KeyboardInterrupt

    def watch() -> None:
        woken = b""
        while signal.SIGINT not in woken:  # other handled signals wake it too
            try:
                woken = receiver.recv(64)
            except OSError:
                return
            if not woken:
                return  # the block ended normally and closed the pair
        _backstop(grace + 0.6)
        threading.Event().wait(grace)
        exit_now()

    previous_handler = signal.signal(signal.SIGINT, on_sigint)
    previous_fd = signal.set_wakeup_fd(sender.fileno(), warn_on_full_buffer=False)
    watchdog = threading.Thread(target=watch, name="aimak-interrupt-watchdog", daemon=True)
    watchdog.start()
    try:
        yield
    finally:
        signal.set_wakeup_fd(previous_fd)
        signal.signal(signal.SIGINT, previous_handler)
        if not _interrupted.is_set():
            sender.close()  # wakes the watchdog with nothing: it ends
        # when interrupted, the watchdog keeps the pair and counts down to the forced exit


def _quiet_background_errors() -> None:
    """Once interrupted, threads whose connections or servers were just closed under them die
    with errors that say nothing to the user: they are not printed."""
    threading.excepthook = lambda args: None
    sys.unraisablehook = lambda unraisable: None


def exit_now() -> None:
    """End the process at once with status 130, after the message, flushed output and the
    processes it started. Called once the interrupted work has unwound: the interpreter's own
    finalisation is skipped, as libraries' clean-up there can take seconds (Prefect's temporary
    server and event clients)."""
    announce()
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):
            stream.flush()
    _stop_children()
    os._exit(EXIT_STATUS)


def _backstop(seconds: float) -> None:
    """Should even the watchdog thread be frozen (the interpreter finalising, or C code holding
    the GIL), faulthandler's own C thread ends the process (status 1) ``seconds`` from now."""
    import faulthandler

    faulthandler.dump_traceback_later(seconds, exit=True, file=open(os.devnull, "w"))  # noqa: SIM115


def _stop_children(proc: Path = Path("/proc")) -> None:
    """SIGTERM to the processes this one started (Prefect's temporary server, a JVM), so a
    forced exit leaves none behind; Linux only (read from /proc), nothing elsewhere."""
    me = str(os.getpid())
    try:
        entries = [entry for entry in proc.iterdir() if entry.name.isdigit()]
    except OSError:
        return
    for entry in entries:
        try:
            stat = (entry / "stat").read_text()
            parent = stat.rsplit(")", 1)[1].split()[1]  # the field after the state
            if parent == me:
                os.kill(int(entry.name), signal.SIGTERM)
        except (OSError, IndexError, ValueError):
            continue
