"""A throwaway PostgreSQL server for the tests and the benchmark: ``initdb`` in a new temporary
folder, ``postgres`` on 127.0.0.1 at a free port (no Unix socket outside that folder), a password
login (scram-sha-256), stopped and removed at the end.

The binaries come from PATH (``initdb``) or Debian's ``/usr/lib/postgresql/<version>/bin``
(package ``postgresql``, which ``.ci/run`` installs). PostgreSQL refuses to run as root, so as root
the server runs as the ``postgres`` user the package creates.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

USER, PASSWORD, DATABASE = "aimak", "s3cret-Pw_for.tests", "postgres"
MISSING = ("PostgreSQL's binaries (initdb, postgres) are not installed: apt-get install postgresql "
           "(Debian's package; .ci/run installs it when initdb is missing)")


def binaries() -> Path | None:
    """The folder holding initdb and postgres, or None."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                      key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    return versions[-1].parent if versions else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    """``with PostgresServer() as server: server.url(...)``."""

    def __init__(self) -> None:
        self.bin = binaries()
        if self.bin is None:
            raise RuntimeError(MISSING)
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="aimak-pg-"))
        self.process: subprocess.Popen | None = None
        self.user = "postgres" if os.geteuid() == 0 else None

    def url(self, password: str = PASSWORD, database: str = DATABASE) -> str:
        return f"postgresql://{USER}:{password}@127.0.0.1:{self.port}/{database}"

    def __enter__(self) -> PostgresServer:
        data = self.folder / "data"
        secret = self.folder / "pw"
        secret.write_text(PASSWORD + "\n")
        if self.user:
            account = pwd.getpwnam(self.user)
            for path in (self.folder, secret):
                os.chown(path, account.pw_uid, account.pw_gid)
        self._run(str(self.bin / "initdb"), "-D", str(data), "-U", USER, f"--pwfile={secret}",
                  "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync")
        log = (self.folder / "server.log").open("w")
        self.process = subprocess.Popen(
            [str(self.bin / "postgres"), "-D", str(data), "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.folder}",
             "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
            stdout=log, stderr=subprocess.STDOUT, user=self.user, start_new_session=True)
        self._wait_ready()
        return self

    def _run(self, *command: str) -> None:
        done = subprocess.run(command, capture_output=True, text=True, user=self.user, check=False)
        if done.returncode:
            raise RuntimeError(f"{command[0]} failed: {done.stderr.strip() or done.stdout.strip()}")

    def _wait_ready(self, timeout: float = 60) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(host="127.0.0.1", port=self.port, user=USER, password=PASSWORD,
                                dbname=DATABASE, connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = (self.folder / "server.log").read_text(errors="replace")
                    self.__exit__(None, None, None)
                    raise RuntimeError(f"PostgreSQL did not start:\n{log}") from None
                time.sleep(0.2)

    def __exit__(self, *exc: object) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)
