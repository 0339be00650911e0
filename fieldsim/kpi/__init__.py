"""A KoboToolbox-compatible local server: KPI API v2 and OpenRosa on one port.

``LocalServer`` runs it in a background thread (tests, the demo, benchmarks, ``aimak server``). Data persists in a folder, so a restarted server keeps its
forms and submissions.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import uvicorn

from fieldsim.kpi import ids
from fieldsim.kpi.app import create_app

__all__ = ["LocalServer"]


class LocalServer:
    """Start the server on 127.0.0.1 and a free port; stop it on exit.

    ``api_url`` is the KPI base (append ``/api/v2/...``) and also the OpenRosa base that ODK
    Collect is given. The user ``username``/``password``/``token`` is created or updated.
    """

    def __init__(self, data_dir: Path, *, username: str = "demo", password: str = "demo",
                 token: str | None = None, legacy: bool = False, faults: str | None = None,
                 host: str = "127.0.0.1", port: int = 0):
        self.app, self.state = create_app(Path(data_dir), legacy=legacy, faults=faults)
        self.username, self.password = username, password
        existing = self.state.store.one("SELECT token FROM users WHERE username = ?", (username,))
        self.token = token or (existing["token"] if existing else ids.token())
        self.state.store.put_user(username, password, self.token)
        self.host, self.port = host, port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"LocalServer({self.api_url!r})"

    def add_user(self, username: str, password: str, token: str) -> None:
        self.state.store.put_user(username, password, token)

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def openrosa_url(self) -> str:
        return self.api_url

    def start(self) -> LocalServer:
        config = uvicorn.Config(self.app, host=self.host, port=self.port, log_level="warning",
                                access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True, name="kpi-local")
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the local KoboToolbox server did not start")
            time.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._server = None
        self.state.store.close()

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

