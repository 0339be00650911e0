"""One HTTP session for KoboToolbox: timeouts, retries with exponential backoff and jitter on
network errors, timeouts, 429 and 5xx (honouring Retry-After, up to a cap), never on other 4xx.

This is the one retry layer (no flow or task retries on top of it), and its total time is
bounded: no new attempt starts more than ``RetryPolicy.deadline`` seconds after the first
failure. Until the server has answered once, a network fault (connection refused, unknown host,
TLS handshake) is retried only for ``RetryPolicy.first_contact`` seconds (half a second): it
almost always means a wrong URL or a server that is not running, and the message says which.

A response body is read inside the retry loop, so a connection dropped mid-body is retried like
any other network fault. The token travels only in the ``Authorization`` header, only to the
scheme, host and port of the base URL (an absolute link the server hands back, such as a ``next``
page, must point there too), and is redacted from every message this module builds. A file is
streamed to disk (:meth:`HttpClient.download`), never held in memory; a redirect away from the
base URL's origin (a storage bucket's signed link) is followed without the token.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urljoin, urlsplit

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
from aimak.settings import is_loopback

USER_AGENT = f"aimak/{__version__} (+municipal performance studies; python-requests)"
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
NETWORK_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
MAX_REDIRECTS = 5
CHUNK = 1 << 16  # bytes read from a streamed body at a time


class _CutShort(Exception):
    """A streamed body ended before its Content-Length: retried like a dropped connection."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry. Delay n = min(cap, base · 2^n) · U(0.5, 1).

    A server's ``Retry-After`` is honoured up to ``max_retry_after`` seconds, so a wrong or
    hostile header cannot stall a run for hours (gateways in front of kpi give up at ~120 s).
    No retry starts later than ``deadline`` seconds after the first failed attempt (a few
    gateway timeouts in a row, not hours), or ``first_contact`` seconds while the server has not
    answered this client at all.
    """

    attempts: int = 7
    base: float = 0.5
    cap: float = 30.0
    max_retry_after: float = 120.0
    deadline: float = 120.0
    first_contact: float = 0.5

    def delay(self, attempt: int, rng: random.Random) -> float:
        return min(self.cap, self.base * 2**attempt) * rng.uniform(0.5, 1.0)


@dataclass(frozen=True)
class Download:
    """A file written by :meth:`HttpClient.download`: its size, SHA-256 and declared type."""

    size: int
    sha256: str
    content_type: str | None


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
        clock: Callable[[], float] = time.monotonic,
        seed: int | None = None,
    ):
        self.base_url = base_url.rstrip("/") + "/"
        self._origin = _origin(urlsplit(self.base_url))
        self._token = token
        self.timeout = timeout
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._rng = random.Random(seed)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers["Accept"] = "application/json"
        if token:
            self.session.headers["Authorization"] = f"Token {token}"
        self.retries = 0  # how many retries this client made (for reports and tests)
        self.answered = False  # the server has answered this client at least once

    def __repr__(self) -> str:
        return f"HttpClient({self.base_url!r})"

    def close(self) -> None:
        self.session.close()

    def owns(self, path_or_url: str) -> bool:
        """True for a path under the base URL or a URL on its scheme, host and port."""
        parts = urlsplit(path_or_url)
        return (not parts.scheme and not parts.netloc) or _origin(parts) == self._origin

    def url(self, path_or_url: str) -> str:
        """The absolute URL for a path under the base URL, or an absolute URL checked to be on
        the base URL's scheme, host and port: the only place the token may be sent."""
        parts = urlsplit(path_or_url)
        if not parts.scheme and not parts.netloc:
            return urljoin(self.base_url, path_or_url.lstrip("/"))
        if not self.owns(path_or_url):
            raise KoboError(self._redact(
                f"refused to send the token to {_shown(parts)}: a link the server gave (such as the "
                f"next page) points away from KOBO_URL {_shown(urlsplit(self.base_url), path=False)} "
                "(another scheme, host or port), and nothing was sent there. Check that KOBO_URL is "
                "the address the server uses for itself (https or http, host, port) or, behind a "
                "reverse proxy, that the proxy forwards the Host and X-Forwarded-Proto headers."))
        return path_or_url

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
        first_failure: float | None = None
        while True:
            problem: str
            wait: float | None = None
            try:
                response = self.session.request(method, url, params=params, json=json, data=data,
                                                files=files, timeout=self.timeout)
                self.answered = True
                body = response.content  # read the whole body inside the retry loop
                if response.status_code in RETRY_STATUS:
                    problem = f"the server kept answering HTTP {response.status_code}"
                    wait = _retry_after(response, self.policy.max_retry_after)
                else:
                    self._raise_for_status(method, url, response)
                    if not parse_json or not body:
                        return response, None
                    try:
                        return response, orjson.loads(body)
                    except orjson.JSONDecodeError:
                        problem = "the server sent a truncated or malformed JSON body"
            except NETWORK_ERRORS as err:
                problem = self._diagnose(err)
            first_failure = self._back_off(method, url, problem, wait, attempt, first_failure, retry)
            attempt += 1

    def download(self, path_or_url: str, target: Path) -> Download:
        """GET a file and stream it into ``target`` (written afresh at each attempt, flushed to
        disk before returning), retried like :meth:`request`; never held in memory.

        Redirects are followed here, at most :data:`MAX_REDIRECTS`: with the token only while
        they stay on the base URL's origin, without it anywhere else."""
        url = self.url(path_or_url)
        attempt = 0
        first_failure: float | None = None
        while True:
            wait: float | None = None
            try:
                with self._get_streamed(url) as response:
                    self.answered = True
                    if response.status_code in RETRY_STATUS:
                        problem = f"HTTP {response.status_code}"
                        wait = _retry_after(response, self.policy.max_retry_after)
                    else:
                        self._raise_for_status("GET", url, response)
                        return _save(response, target)
            except (*NETWORK_ERRORS, _CutShort) as err:
                problem = "the body was cut short" if isinstance(err, _CutShort) else self._diagnose(err)
            except requests.RequestException as err:  # a malformed link, say: not worth a retry
                raise KoboError(self._redact(f"GET {_path(url)} failed: {type(err).__name__}")) from err
            first_failure = self._back_off("GET", url, problem, wait, attempt, first_failure)
            attempt += 1

    def _get_streamed(self, url: str) -> requests.Response:
        """The streamed response to a GET of ``url`` after its redirects (see :meth:`download`)."""
        any_type = {"Accept": "*/*"}  # kpi's media renderer, not JSON
        response = self.session.get(url, stream=True, timeout=self.timeout, allow_redirects=False,
                                    headers=any_type)
        for _ in range(MAX_REDIRECTS):
            if not response.is_redirect:
                return response
            target = urljoin(response.url, response.headers["Location"])
            response.close()
            token = {} if self.owns(target) else {"Authorization": None}  # None: header left out
            response = self.session.get(target, stream=True, timeout=self.timeout,
                                        allow_redirects=False, headers={**any_type, **token})
        response.close()
        raise KoboError(f"GET {_path(url)}: more than {MAX_REDIRECTS} redirects; the server or a "
                        "proxy in front of it sends the request round in circles.")

    def _back_off(self, method: str, url: str, problem: str, wait: float | None, attempt: int,
                  first_failure: float | None, retry: bool = True) -> float:
        """Wait before the next attempt, or raise when the attempts (or ``retry``) are spent or
        the next try would start after the policy's deadline from the first failure (its
        ``first_contact`` window while the server has never answered). Returns the time of the
        first failure, for the caller's next round."""
        now = self._clock()
        first_failure = now if first_failure is None else first_failure
        delay = max(self.policy.delay(attempt, self._rng), wait or 0.0)
        window = self.policy.deadline if self.answered else self.policy.first_contact
        if not retry or attempt + 1 >= self.policy.attempts or now - first_failure + delay > window:
            raise KoboUnavailableError(self._redact(
                f"{method} {_path(url)} failed after {attempt + 1} attempt(s) in "
                f"{now - first_failure:.1f} s: {problem}. Run the command again once that is "
                "fixed: work already stored is kept and the run resumes where it stopped."))
        self._sleep(delay)
        self.retries += 1
        return first_failure

    def pause(self, attempt: int) -> None:
        """Wait before retry ``attempt`` (0-based) of something the caller repeats itself."""
        self._sleep(self.policy.delay(attempt, self._rng))

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

    def _diagnose(self, err: Exception) -> str:
        """What a network fault most likely means, and what to check."""
        base = _shown(urlsplit(self.base_url), path=False)
        host = urlsplit(self.base_url).hostname or "?"
        causes = list(_causes(err))
        if any(isinstance(c, ConnectionRefusedError) for c in causes):
            local = (" For the local server, start it with 'aimak server' and use the URL it "
                     "prints" if is_loopback(host) else "")
            return (f"nothing answers at {base} (connection refused). Is the server running, and "
                    f"are the host and port in KOBO_URL right?{local}")
        if any(isinstance(c, socket.gaierror) for c in causes):
            return (f"the host name {host!r} is not known (DNS lookup failed). Check the spelling "
                    "of KOBO_URL and the internet connection")
        if any(isinstance(c, ssl.SSLCertVerificationError) for c in causes):
            reason = next(c.verify_message for c in causes if isinstance(c, ssl.SSLCertVerificationError))
            return (f"the TLS certificate of {host} is not trusted ({reason}). Check that KOBO_URL "
                    "names the right server, and the computer's date and time")
        tls = [c for c in causes if isinstance(c, ssl.SSLError)]
        if tls and any(_PLAIN_HTTP_SIGNS.search(str(c)) for c in tls):
            return (f"{base} does not speak https: it looks like a plain-http server "
                    f"({tls[-1].reason or tls[-1]}). Use http:// in KOBO_URL for a server on this "
                    "computer (such as 'aimak server'); a remote server needs https")
        if tls:
            return f"the TLS connection to {base} failed ({tls[-1]})"
        if isinstance(err, requests.Timeout):
            return f"{base} did not answer within {self.timeout[0]:.0f} s (connect) / {self.timeout[1]:.0f} s (read)"
        if isinstance(err, requests.exceptions.ChunkedEncodingError):
            return "the connection was cut off in the middle of an answer"
        return f"the connection to {base} failed ({type(err).__name__})"


# OpenSSL's words for a TLS hello answered by plain HTTP (1.1/3.0, and 3.2+)
_PLAIN_HTTP_SIGNS = re.compile(r"WRONG_VERSION_NUMBER|wrong version number|record layer failure|"
                               r"packet length too long|http request", re.IGNORECASE)


def _causes(err: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps (requests → urllib3 → the socket's own error)."""
    seen: set[int] = set()
    stack = [err]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = (current.__cause__, current.__context__, getattr(current, "reason", None),
                  *current.args)
        stack += [item for item in linked if isinstance(item, BaseException)]


def _save(response: requests.Response, target: Path) -> Download:
    """Write a streamed body to ``target`` chunk by chunk, hashing it on the way; flushed to disk
    so a file that is kept survives a power cut. A body shorter than its Content-Length (a
    dropped connection the transport did not notice) raises :class:`_CutShort`."""
    digest, size = hashlib.sha256(), 0
    with open(target, "wb") as handle:
        for chunk in response.iter_content(CHUNK):
            handle.write(chunk)
            digest.update(chunk)
            size += len(chunk)
        handle.flush()
        os.fsync(handle.fileno())
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and "Content-Encoding" not in response.headers \
            and int(declared) != size:
        raise _CutShort()
    return Download(size, digest.hexdigest(), response.headers.get("Content-Type"))


def _retry_after(response: requests.Response, cap: float) -> float | None:
    """Seconds the server asks us to wait (a number or an HTTP date), at most ``cap``."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, OverflowError):
            return None
    if seconds != seconds:  # NaN
        return None
    return min(cap, max(0.0, seconds))


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(parts: SplitResult) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) with the default port filled in; None when the URL has no valid one."""
    scheme = parts.scheme.lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:  # a port that is not a number
        return None
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port


def _shown(parts: SplitResult, path: bool = True) -> str:
    """scheme://host[:port][/path] for messages: no user, password or query string."""
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ":?"
    host = parts.hostname or "?"
    host = f"[{host}]" if ":" in host else host
    scheme = f"{parts.scheme}:" if parts.scheme else ""
    return f"{scheme}//{host}{port}{parts.path if path else ''}"


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
