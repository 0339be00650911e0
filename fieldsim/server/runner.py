"""Running the server: :class:`LocalServer` in a background thread, :func:`serve` in the foreground.

The listening socket is bound here, before uvicorn starts, so a port that is taken fails with a
clear :class:`~aimak.errors.LocalServerError` and port 0 gives a free port known at once. uvicorn's
access log is off (request lines could carry tokens) and it does not touch the host's logging.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import uvicorn

from aimak.errors import LocalServerError
from aimak.settings import is_loopback
from fieldsim.server import ids
from fieldsim.server.app import create_app
from fieldsim.server.faults import FaultSpecError
from fieldsim.server.store import NeedsPassword, TokenTaken

LOOPBACK = "127.0.0.1"
ANY_INTERFACE = ("0.0.0.0", "::", "")
DEFAULT_PASSWORD = "demo"  # of an account created without a password


class LocalServer:
    """The server on ``host`` (loopback by default) and ``port`` (0: a free one); stopped on exit.

    ``api_url`` is the KPI base (append ``/api/v2/...``) and also the OpenRosa base that ODK
    Collect is given (``openrosa_url``). The user ``username`` is created or updated: with
    ``password=None`` an existing account keeps its password (``self.password`` is then None, as
    only a digest is stored) and a new one gets ``"demo"``; with ``token=None`` the token kept
    from the last run is reused, or a new 40-hex one made. A token that is another account's is
    refused (:class:`~aimak.errors.LocalServerError`).
    """

    def __init__(self, data_dir: Path, *, username: str = "demo", password: str | None = None,
                 token: str | None = None, legacy: bool = False, faults: str | None = None,
                 host: str = LOOPBACK, port: int = 0):
        try:
            self.app, self.state = create_app(Path(data_dir), legacy=legacy, faults=faults)
        except FaultSpecError as err:
            raise LocalServerError(f"--faults: {err}") from err
        store = self.state.store
        if password is None and store.ha1_of(username) is None:
            password = DEFAULT_PASSWORD
        self.username, self.password = username, password
        self.token = token or store.token_of(username) or ids.token()
        try:
            self.add_user(username, password, self.token)
        except LocalServerError:
            store.close()
            raise
        self.host, self.port = host, port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:  # no secrets
        return f"LocalServer({self.api_url!r}, username={self.username!r})"

    def add_user(self, username: str, password: str | None, token: str) -> None:
        """Create (or update) an account; it sees only its own assets. ``password=None`` keeps
        an existing account's password."""
        try:
            self.state.store.put_user(username, password, token)
        except TokenTaken as err:
            raise LocalServerError(
                f"the token given for {username!r} already belongs to the account {err.owner!r} "
                f"in {self.state.store.folder}; it was left unchanged. Fix: give no token (--token) "
                f"to keep {username!r}'s own, or one no other account uses.") from err
        except NeedsPassword as err:
            raise LocalServerError(
                f"there is no account {username!r} in {self.state.store.folder} yet, and a new "
                f"account needs a password. Fix: give one (--password).") from err

    @property
    def api_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def openrosa_url(self) -> str:
        return self.api_url

    @property
    def pipeline_url(self) -> str | None:
        """``KOBO_URL`` for the pipeline on this computer: a loopback URL, the only plain-http
        address the pipeline sends its token to (on every interface, 127.0.0.1 reaches it too).
        None when the server listens on one non-loopback address only."""
        if self.host in ANY_INTERFACE:
            return f"http://{'[::1]' if ':' in self.host else LOOPBACK}:{self.port}"
        return self.api_url if is_loopback(self.host) else None

    @property
    def phone_url(self) -> str:
        """The server URL to type into ODK Collect: on every interface, this computer's address
        on the local network (the interface a packet to a private address would leave by)."""
        if self.host not in ANY_INTERFACE:
            return self.api_url
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            probe.connect(("10.255.255.255", 1))  # no packet is sent; this picks the interface
            address = probe.getsockname()[0]
        except OSError:
            address = LOOPBACK  # no network: only this computer can connect anyway
        finally:
            probe.close()
        return f"http://{address}:{self.port}"

    def deployed_forms(self) -> list[str]:
        """Names of the account's active deployed forms (what ODK Collect would list)."""
        rows = self.state.store.all("SELECT name FROM assets WHERE owner = ? AND deployment_active = 1 "
                                    "AND xform IS NOT NULL ORDER BY name", (self.username,))
        return [row["name"] for row in rows]

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted connections only for sockets
        # that say they are TCP; without it every answer waits ~40 ms for a delayed ACK.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as err:
            sock.close()
            raise LocalServerError(
                f"cannot listen on {self.host}:{self.port} ({err.strerror}). Fix: choose another "
                "--port, or stop the program that uses it.") from err
        sock.listen(128)
        sock.set_inheritable(True)
        return sock

    def start(self) -> LocalServer:
        """Bind and start serving in a daemon thread; return once requests are accepted."""
        sock = self._bind()
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, log_config=None,
                                lifespan="off", timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        daemon=True, name="aimak-local-server")
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                sock.close()
                raise LocalServerError(f"the local server on {self.api_url} did not start; "
                                       "see the messages above")
            time.sleep(0.01)
        return self

    def wait(self) -> None:
        """Block until the server stops (Ctrl+C or SIGTERM in :func:`serve`)."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=0.5)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            if self._thread is not None:
                self._thread.join(timeout=10)
            self._server = None
        self.state.store.close()

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(host: str, port: int, data_dir: Path, username: str, password: str | None,
          token: str | None, legacy: bool = False, faults: str | None = None,
          on_ready: Callable[[LocalServer], None] | None = None) -> None:
    """Run the server until Ctrl+C or SIGTERM. ``on_ready`` gets the started server (to print URLs)."""
    server = LocalServer(data_dir, username=username, password=password, token=token,
                         legacy=legacy, faults=faults, host=host, port=port)
    server.start()

    def terminate(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        if on_ready is not None:
            on_ready(server)
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.stop()
