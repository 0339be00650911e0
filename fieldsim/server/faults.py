"""Seedable fault injection (off by default): added latency, a share of requests answered with
502/503/504, connections dropped mid-body, bodies cut short behind a 200, a slow page and a slow
import task.

Spec: comma-separated ``key=value``: ``latency`` (seconds added to every request),
``error_rate`` (share answered 502/503/504), ``drop_rate`` (share whose body is cut off),
``truncate_rate`` (share of 200 answers whose body is cut in half but sent as a whole one, with
the Content-Length of the cut body, as a proxy whose buffer filled up does: only the JSON shows
it), ``slow_page`` (seconds added to data pages), ``import_delay`` (seconds an import task stays
``processing`` before it runs, as when Celery is busy), ``seed`` (for the random choices).
Example: ``latency=0.05,error_rate=0.25,drop_rate=0.05,truncate_rate=0.1,slow_page=2.0,seed=7``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

KEYS = {"latency", "error_rate", "drop_rate", "truncate_rate", "slow_page", "import_delay", "seed"}
RATES = {"error_rate", "drop_rate", "truncate_rate"}


class FaultSpecError(ValueError):
    """The fault specification cannot be read; the message quotes it and says what is allowed."""


class ConnectionDropped(Exception):
    """Raised inside the server to abort a response mid-body (uvicorn then closes the socket)."""


class _HideDrops(logging.Filter):
    """uvicorn logs an aborted response as an application error; an injected drop is not one."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


logging.getLogger("uvicorn.error").addFilter(_HideDrops())


@dataclass(frozen=True)
class Faults:
    latency: float = 0.0
    error_rate: float = 0.0
    drop_rate: float = 0.0
    truncate_rate: float = 0.0
    slow_page: float = 0.0
    import_delay: float = 0.0  # applied by the import task, not by the middleware
    seed: int | None = None

    @classmethod
    def parse(cls, spec: str | None) -> Faults:
        if not spec:
            return cls()
        values: dict[str, float] = {}
        for part in spec.split(","):
            if not part.strip():
                continue
            key, _, value = part.strip().partition("=")
            if key not in KEYS:
                raise FaultSpecError(f"unknown fault {key!r} in {spec!r}; use {', '.join(sorted(KEYS))}")
            try:
                values[key] = float(value)
            except ValueError as err:
                raise FaultSpecError(f"fault {key!r} needs a number, got {value!r} in {spec!r}") from err
            if values[key] < 0 or (key in RATES and values[key] > 1):
                bounds = "between 0 and 1" if key in RATES else "0 or more"
                raise FaultSpecError(f"fault {key!r} must be {bounds}, got {value!r} in {spec!r}")
        seed = values.pop("seed", None)
        return cls(**values, seed=int(seed) if seed is not None else None)

    @property
    def active(self) -> bool:
        """Whether the middleware has anything to do."""
        return any((self.latency, self.error_rate, self.drop_rate, self.truncate_rate,
                    self.slow_page))


class FaultMiddleware:
    """ASGI middleware applying :class:`Faults` to every request."""

    def __init__(self, app: ASGIApp, faults: Faults):
        self.app = app
        self.faults = faults
        self.rng = random.Random(faults.seed)
        self.lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.faults.active:
            await self.app(scope, receive, send)
            return
        with self.lock:
            error = self.rng.random() < self.faults.error_rate
            status = self.rng.choice((502, 503, 504))
            drop = self.rng.random() < self.faults.drop_rate
            # drawn only when asked for, so the other faults of a seed stay where they were
            truncate = bool(self.faults.truncate_rate) and self.rng.random() < self.faults.truncate_rate
        if self.faults.latency:
            await asyncio.sleep(self.faults.latency)
        if self.faults.slow_page and scope["path"].rstrip("/").endswith("/data"):
            await asyncio.sleep(self.faults.slow_page)
        if error:
            body = f"<html><body><h1>{status} Gateway error</h1></body></html>".encode()
            await send({"type": "http.response.start", "status": status,
                        "headers": [(b"content-type", b"text/html"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        if truncate and not drop:
            await self.app(scope, receive, _truncating(send))
            return
        if not drop:
            await self.app(scope, receive, send)
            return

        async def cut(message: dict) -> None:
            if message["type"] == "http.response.body":
                body = message.get("body", b"")
                await send({"type": "http.response.body", "body": body[: max(1, len(body) // 2)],
                            "more_body": True})
                raise ConnectionDropped("fault injection: connection dropped mid-body")
            await send(message)

        await self.app(scope, receive, cut)


def _truncating(send: Send) -> Send:
    """A ``send`` that holds a 200 answer back, then sends the first half of its body as if it
    were all of it (Content-Length of the half); other answers pass unchanged."""
    start: dict | None = None
    chunks: list[bytes] = []

    async def cut(message: dict) -> None:
        nonlocal start
        if message["type"] == "http.response.start" and message.get("status") == 200:
            start = message
            return
        if start is None or message["type"] != "http.response.body":
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body"):
            return
        body = b"".join(chunks)
        body = body[: len(body) // 2]
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    return cut
