"""One HTTP session for KoboToolbox: timeouts, retries with exponential backoff and jitter on
network errors, timeouts, 429 and 5xx (honouring Retry-After), never on other 4xx.

A response body is read inside the retry loop, so a connection dropped mid-body is retried like
any other network fault. The token travels only in the ``Authorization`` header and is redacted
from every message this module builds.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import orjson
import requests

from aimak import __version__
from aimak.errors import (
    KoboAuthError,
    KoboError,
    KoboNotFoundError,
    KoboUnavailableError,
    redact,
)

USER_AGENT = f"aimak/{__version__} (+municipal performance studies; python-requests)"
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
NETWORK_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry. Delay n = min(cap, base · 2^n) · U(0.5, 1)."""

    attempts: int = 7
    base: float = 0.5
    cap: float = 30.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        return min(self.cap, self.base * 2**attempt) * rng.uniform(0.5, 1.0)


class HttpClient:
    """A requests session bound to one server and one token."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout: tuple[float, float] = (10.0, 180.0),
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        seed: int | None = None,
    ):
        self.base_url = base_url.rstrip("/") + "/"
        self._token = token
        self.timeout = timeout
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._rng = random.Random(seed)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers["Accept"] = "application/json"
        if token:
            self.session.headers["Authorization"] = f"Token {token}"
        self.retries = 0  # how many retries this client made (for reports and tests)

    def __repr__(self) -> str:
        return f"HttpClient({self.base_url!r})"

    def close(self) -> None:
        self.session.close()

    def url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return urljoin(self.base_url, path_or_url.lstrip("/"))

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: dict[str, Any] | None = None,
        files: dict[str, Any] | None = None,
        retry: bool = True,
        parse_json: bool = True,
    ) -> tuple[requests.Response, Any]:
        """Send a request; return the response and its parsed JSON body (or None).

        ``retry=False`` is for requests that are not safe to repeat (creating an import): a
        failure is then raised at once and the caller decides.
        """
        url = self.url(path_or_url)
        attempt = 0
        while True:
            problem: str
            wait: float | None = None
            try:
                response = self.session.request(method, url, params=params, json=json, data=data,
                                                files=files, timeout=self.timeout)
                body = response.content  # read the whole body inside the retry loop
                if response.status_code in RETRY_STATUS:
                    problem = f"HTTP {response.status_code}"
                    wait = _retry_after(response)
                else:
                    self._raise_for_status(method, url, response)
                    if not parse_json or not body:
                        return response, None
                    try:
                        return response, orjson.loads(body)
                    except orjson.JSONDecodeError:
                        problem = "a truncated or malformed JSON body"
            except NETWORK_ERRORS as err:
                problem = type(err).__name__
            if not retry or attempt + 1 >= self.policy.attempts:
                raise KoboUnavailableError(self._redact(
                    f"{method} {_path(url)} failed ({problem}) after {attempt + 1} attempt(s). "
                    f"Check that {self.base_url} is reachable and up, then run the command again: "
                    "work already stored is kept and the run resumes where it stopped."))
            delay = self.policy.delay(attempt, self._rng)
            self._sleep(max(delay, wait or 0.0))
            attempt += 1
            self.retries += 1

    def get_json(self, path_or_url: str, **params: Any) -> Any:
        return self.request("GET", path_or_url, params=params or None)[1]

    def _raise_for_status(self, method: str, url: str, response: requests.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        excerpt = self._redact(response.text[:300].strip())
        where = f"{method} {_path(url)}"
        if status in (401, 403):
            raise KoboAuthError(
                f"{where}: the server refused the credentials (HTTP {status}: {excerpt}). Check "
                "KOBO_TOKEN (KoboToolbox → Account settings → Security → API key) and that the "
                "account may access this project.")
        if status == 404:
            raise KoboNotFoundError(
                f"{where}: not found (HTTP 404). The asset or record does not exist on "
                f"{self.base_url} for this account, or KOBO_URL points to the wrong server.")
        raise KoboError(f"{where}: the server answered HTTP {status}: {excerpt}")

    def _redact(self, text: str) -> str:
        return redact(text, self._token)


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
