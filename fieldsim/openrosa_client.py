"""The phone's side of OpenRosa: list forms, download an XForm, send a finalised instance.

Works against KoboToolbox's KoboCAT endpoints and the local server alike. Authentication the way
the server accepts it: ``Authorization: Token <key>`` (KoboToolbox takes the API token on
``/submission`` and ``/formList``), or a username and password — Digest when the server's 401
challenge asks for it (as ODK Collect does), Basic otherwise. Explicit credentials win: when a
username and password are given they are used even if a token (e.g. ``KOBO_TOKEN``) is set too,
as a phone signed in with that account would. One keep-alive session per thread,
so a small thread pool can post in parallel. With a token or Basic credentials submissions go
through a lean HTTP/1.1 keep-alive connection per thread (:class:`~fieldsim.connection.Connection`: the whole request
in one write, the answer framed by Content-Length or chunks), a fraction of the client CPU of
requests or ``http.client``, which matters at hundreds of submissions a second; Digest goes
through requests.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import itertools
import secrets
import ssl
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase, HTTPBasicAuth, HTTPDigestAuth

from aimak.errors import SimulationError, redact
from etl.http import NETWORK_ERRORS
from fieldsim.connection import Connection, host_header

__all__ = ["FormListEntry", "OpenRosaClient", "ServerUnavailable", "SubmissionRejected",
           "SubmissionUnsent", "SubmitResult"]

XFORMS_LIST = "{http://openrosa.org/xforms/xformsList}"
OPENROSA_RESPONSE = "{http://openrosa.org/http/response}"
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".m4a": "audio/mp4",
        ".amr": "audio/amr", ".csv": "text/csv", ".mp4": "video/mp4"}


class ServerUnavailable(SimulationError):
    """The server could not be reached, or kept answering 5xx, for every attempt: nothing was
    refused, so the same request may work later."""

    def __init__(self, what: str, reason: str, attempts: int):
        self.what, self.reason, self.attempts = what, reason, attempts
        super().__init__(f"{what}: the server {reason} after {attempts} attempt(s); check that "
                         "it is up and reachable, then run the command again.")


class SubmissionUnsent(ServerUnavailable):
    """A submission could not be delivered (network or 5xx): a phone keeps it and sends it later."""

    def __init__(self, instance_id: str | None, reason: str, attempts: int):
        self.instance_id = instance_id
        super().__init__(f"submission {instance_id or '(no instanceID)'} was not sent", reason,
                         attempts)


class SubmissionRejected(SimulationError):
    """The server refused a submission (4xx other than a duplicate's 202)."""

    def __init__(self, status: int, message: str, instance_id: str | None):
        self.status, self.server_message, self.instance_id = status, message, instance_id
        hint = (" (the server holds this instanceID with other content: use another --seed, or a "
                "fresh server)" if status == 409 else "")
        super().__init__(f"the server refused submission {instance_id or '(no instanceID)'} with "
                         f"HTTP {status}: {message}{hint}")


@dataclass(frozen=True)
class FormListEntry:
    form_id: str  # the asset uid on KoboToolbox
    name: str
    version: str
    hash: str
    download_url: str
    manifest_url: str | None


@dataclass(frozen=True)
class SubmitResult:
    status: int  # 201 accepted, 202 duplicate
    message: str
    instance_id: str | None
    attempts: int = 1

    @property
    def duplicate(self) -> bool:
        return self.status == 202


class OpenRosaClient:
    """OpenRosa over keep-alive sessions (one per thread). ``base_url`` is where ``/formList`` and
    ``/submission`` live (kc.kobotoolbox.org on the hosted server; the local server's own URL)."""

    def __init__(self, base_url: str, *, token: str | None = None, username: str | None = None,
                 password: str | None = None, timeout: tuple[float, float] = (10.0, 120.0),
                 attempts: int = 5, send_attempts: int | None = None, pool: int = 8):
        if not token and not (username and password):
            raise SimulationError("OpenRosa needs credentials: a token (KOBO_TOKEN or --token) or "
                                  "--username with --password.")
        self.base_url = base_url.rstrip("/") + "/"
        self._token = token
        self._username, self._password = username, password
        self.timeout = timeout
        self.attempts = max(1, attempts)  # of a form list or download
        self.send_attempts = max(1, send_attempts or attempts)  # of a submission
        self.pool = pool
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()
        self._auth: AuthBase | None = None
        self._connections: list[Connection] = []
        self._boundary = secrets.token_hex(12)  # + a counter: unique, no random bytes per post
        self._posts = itertools.count()
        self._date = (0, "")
        self._head_start: str | None = None  # request line and fixed headers of a submission
        self._ssl: ssl.SSLContext | None = None  # built once (loads the CA store), for every reconnect

    def __repr__(self) -> str:
        return f"OpenRosaClient({self.base_url!r})"

    def __enter__(self) -> OpenRosaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()
            for conn in self._connections:
                conn.close()
            self._connections.clear()

    # -- plumbing -----------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=2, pool_maxsize=self.pool)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers["X-OpenRosa-Version"] = "1.0"
            session.headers["User-Agent"] = "aimak-fieldsim (ODK Collect compatible)"
            if self._uses_password:
                session.auth = self._password_auth()
            else:
                session.headers["Authorization"] = f"Token {self._token}"
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    @property
    def _uses_password(self) -> bool:
        """Explicit credentials are preferred over the token on every OpenRosa request."""
        return bool(self._username and self._password)

    def _password_auth(self) -> AuthBase:
        """Digest if the server challenges with Digest (ODK Collect's way), else Basic."""
        with self._lock:
            if self._auth is None:
                challenge = ""
                try:
                    probe = requests.head(self.url("submission"), timeout=self.timeout)
                    challenge = probe.headers.get("WWW-Authenticate", "")
                except requests.RequestException:
                    pass
                if challenge.lower().startswith("digest"):
                    self._auth = HTTPDigestAuth(self._username, self._password)
                else:
                    self._auth = HTTPBasicAuth(self._username, self._password)
            return self._auth

    def url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return urljoin(self.base_url, path_or_url.lstrip("/"))

    def _redact(self, text: str) -> str:
        return redact(text, self._token, self._password)

    def _request(self, method: str, url: str, attempts: int | None = None,
                 **kwargs: object) -> tuple[requests.Response, int]:
        """Send with retries on network faults (a body cut mid-way too) and 5xx, ``attempts``
        times at most (default: ``self.attempts``); return the last answer (possibly still a
        5xx) and the attempts made, or raise :class:`ServerUnavailable` when none came."""
        attempts = attempts or self.attempts
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._session().request(method, url, timeout=self.timeout, **kwargs)
                _ = response.content  # read inside the loop: a body cut mid-way is retried
                if response.status_code not in RETRY_STATUS or attempt >= attempts:
                    return response, attempt
            except NETWORK_ERRORS as err:
                if attempt >= attempts:
                    raise ServerUnavailable(self._redact(f"{method} {urlsplit(url).path}"),
                                            f"could not be reached ({type(err).__name__})",
                                            attempt) from None
            self._pause(attempt)

    @staticmethod
    def _pause(attempt: int) -> None:
        time.sleep(min(8.0, 0.25 * 2 ** (attempt - 1)))

    def _answered(self, response: requests.Response, attempts: int, what: str) -> requests.Response:
        """``response`` when it is a 200; the credentials refused, a 5xx left after the retries or
        another status raise, each in its own words."""
        self._check_auth(response, what)
        if response.status_code in RETRY_STATUS:
            raise ServerUnavailable(what, f"gave HTTP {response.status_code}", attempts)
        if response.status_code != 200:
            raise SimulationError(f"{what} answered HTTP {response.status_code}: "
                                  f"{self._redact(response.text[:200])}")
        return response

    def _check_auth(self, response: requests.Response, what: str) -> None:
        if response.status_code in (401, 403):
            raise SimulationError(
                f"{what}: the server refused the credentials (HTTP {response.status_code}). "
                "Check KOBO_TOKEN (or --token), or --username/--password of an account that "
                "owns the forms.")

    # -- forms --------------------------------------------------------------------------------

    def form_list(self) -> list[FormListEntry]:
        response = self._answered(*self._request("GET", self.url("formList")), "GET /formList")
        try:
            root = ET.fromstring(response.content)
        except ET.ParseError as err:
            raise SimulationError(f"GET /formList did not return an xformsList ({err}); is "
                                  f"{self.base_url} an OpenRosa server?") from None
        out = []
        for node in root.iter(f"{XFORMS_LIST}xform"):
            def text(tag: str, node: ET.Element = node) -> str:
                return (node.findtext(f"{XFORMS_LIST}{tag}") or "").strip()
            out.append(FormListEntry(text("formID"), text("name"), text("version"), text("hash"),
                                     text("downloadUrl"), text("manifestUrl") or None))
        return out

    def download_form(self, entry: FormListEntry, path: Path) -> Path:
        """Save the XForm exactly as served (with ``__version__`` and ``formhub/uuid``). A body
        whose md5 is not the formList's ``hash`` (cut short behind a 200) is fetched again, as
        ODK Collect checks it."""
        what = f"downloading form {entry.form_id}"
        for attempt in range(1, self.attempts + 1):
            response = self._answered(*self._request("GET", self.url(entry.download_url)), what)
            digest = "md5:" + hashlib.md5(response.content).hexdigest()
            if not entry.hash or digest == entry.hash:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(response.content)
                return path
            if attempt < self.attempts:
                self._pause(attempt)
        raise ServerUnavailable(what, f"sent a form whose md5 is not the formList's {entry.hash} "
                                "(a body cut short)", self.attempts)

    # -- submissions --------------------------------------------------------------------------

    def submit(self, xml: bytes, attachments: Mapping[str, bytes] | None = None, *,
               instance_id: str | None = None) -> SubmitResult:
        """POST one instance (multipart ``xml_submission_file`` + media files by basename).

        201 and 202 (duplicate) return a :class:`SubmitResult`; other 4xx raise
        :class:`SubmissionRejected`; network faults and 5xx are retried with backoff, and when
        every attempt failed :class:`SubmissionUnsent` says so (the instance can be sent later).
        """
        parts = [("xml_submission_file", "submission.xml", xml, "text/xml")]
        parts += [(name, name, data, MIME.get(Path(name).suffix.lower(), "application/octet-stream"))
                  for name, data in (attachments or {}).items()]
        header = self._plain_header()
        try:
            if header is None:  # Digest: let requests negotiate
                files = [(field, (name, data, mime)) for field, name, data, mime in parts]
                response, attempts = self._request(
                    "POST", self.url("submission"), self.send_attempts, files=files,
                    headers={"Date": email.utils.formatdate(usegmt=True)})
                status, body = response.status_code, response.content
            else:
                status, body, attempts = self._post_plain(parts, header)
        except ServerUnavailable as failure:
            raise SubmissionUnsent(instance_id, failure.reason, failure.attempts) from None
        if status in RETRY_STATUS:
            raise SubmissionUnsent(instance_id, f"gave HTTP {status}", attempts)
        message = _message(body)
        if status in (201, 202):
            return SubmitResult(status, message, instance_id, attempts)
        if status in (401, 403):
            raise SimulationError(
                f"POST /submission: the server refused the credentials (HTTP {status}). Check "
                "KOBO_TOKEN (or --token), or --username/--password of an account that owns the "
                "forms.")
        raise SubmissionRejected(status, self._redact(message), instance_id)

    def _plain_header(self) -> str | None:
        if not self._uses_password:
            return f"Token {self._token}"
        if isinstance(self._password_auth(), HTTPBasicAuth):
            pair = f"{self._username}:{self._password}".encode()
            return "Basic " + base64.b64encode(pair).decode("ascii")
        return None

    def _connection(self, fresh: bool = False) -> Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and not fresh:
            return conn
        if conn is not None:
            conn.close()
        parts = urlsplit(self.base_url)
        if parts.scheme == "https" and self._ssl is None:
            with self._lock:
                if self._ssl is None:
                    self._ssl = ssl.create_default_context()
        conn = Connection(parts.scheme, parts.hostname or "", parts.port, self.timeout, self._ssl)
        self._local.conn = conn
        with self._lock:
            self._connections.append(conn)
        return conn

    def _http_date(self) -> str:
        now = int(time.time())
        stamp, text = self._date
        if stamp != now:
            text = email.utils.formatdate(now, usegmt=True)
            self._date = (now, text)
        return text

    def _post_plain(self, parts: list[tuple[str, str, bytes, str]],
                    auth: str) -> tuple[int, bytes, int]:
        boundary = f"{self._boundary}{next(self._posts):08x}"
        chunks = []
        for field_name, name, data, mime in parts:
            chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{field_name}"; '
                          f'filename="{name}"\r\nContent-Type: {mime}\r\n\r\n'.encode())
            chunks.append(data)
            chunks.append(b"\r\n")
        chunks.append(f"--{boundary}--\r\n".encode())
        body = b"".join(chunks)
        if self._head_start is None:
            target = urlsplit(self.url("submission"))
            self._head_start = (f"POST {target.path or '/'} HTTP/1.1\r\nHost: {host_header(target)}"
                                "\r\nX-OpenRosa-Version: 1.0\r\n"
                                "User-Agent: aimak-fieldsim (ODK Collect compatible)\r\n"
                                "Accept-Encoding: identity\r\n")
        head = (f"{self._head_start}Authorization: {auth}\r\n"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                f"Content-Length: {len(body)}\r\nDate: {self._http_date()}\r\n\r\n")
        request = head.encode("latin-1") + body
        attempt = 0
        while True:
            attempt += 1
            try:
                conn = self._connection(fresh=attempt > 1)
                status, data = conn.exchange(request)
                if status not in RETRY_STATUS or attempt >= self.send_attempts:
                    return status, data, attempt
            except (OSError, ValueError) as err:
                if attempt >= self.send_attempts:
                    raise ServerUnavailable("POST /submission",
                                            f"could not be reached ({type(err).__name__})",
                                            attempt) from None
            self._pause(attempt)


def _message(body: bytes) -> str:
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return body[:200].decode("utf-8", "replace").strip()
    found = root.find(f"{OPENROSA_RESPONSE}message")
    if found is None:
        found = root.find("message")
    return (found.text or "").strip() if found is not None else ""
