"""The phone's side of OpenRosa: list forms, download an XForm, send a finalised instance.

Works against KoboToolbox's KoboCAT endpoints and the local server alike. Authentication the way
the server accepts it: ``Authorization: Token <key>`` (KoboToolbox takes the API token on
``/submission`` and ``/formList``), or a username and password — Digest when the server's 401
challenge asks for it (as ODK Collect does), Basic otherwise. Explicit credentials win: when a
username and password are given they are used even if a token (e.g. ``KOBO_TOKEN``) is set too,
as a phone signed in with that account would. One keep-alive session per thread,
so a small thread pool can post in parallel. With a token or Basic credentials submissions go
through a lean HTTP/1.1 keep-alive connection per thread (:class:`_Connection`: the whole request
in one write, the answer framed by Content-Length or chunks), a fraction of the client CPU of
requests or ``http.client``, which matters at hundreds of submissions a second; Digest goes
through requests.
"""

from __future__ import annotations

import base64
import email.utils
import itertools
import secrets
import socket
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

__all__ = ["FormListEntry", "OpenRosaClient", "SubmissionRejected", "SubmitResult"]

XFORMS_LIST = "{http://openrosa.org/xforms/xformsList}"
OPENROSA_RESPONSE = "{http://openrosa.org/http/response}"
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".m4a": "audio/mp4",
        ".amr": "audio/amr", ".csv": "text/csv", ".mp4": "video/mp4"}


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
                 attempts: int = 5, pool: int = 8):
        if not token and not (username and password):
            raise SimulationError("OpenRosa needs credentials: a token (KOBO_TOKEN or --token) or "
                                  "--username with --password.")
        self.base_url = base_url.rstrip("/") + "/"
        self._token = token
        self._username, self._password = username, password
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.pool = pool
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()
        self._auth: AuthBase | None = None
        self._connections: list[_Connection] = []
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

    def _request(self, method: str, url: str, **kwargs: object) -> tuple[requests.Response, int]:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._session().request(method, url, timeout=self.timeout, **kwargs)
                _ = response.content
                if response.status_code not in RETRY_STATUS or attempt >= self.attempts:
                    return response, attempt
                problem = f"HTTP {response.status_code}"
            except (requests.ConnectionError, requests.Timeout) as err:
                if attempt >= self.attempts:
                    raise SimulationError(self._redact(
                        f"{method} {url} failed ({type(err).__name__}) after {attempt} attempts; "
                        "check that the server is up and reachable.")) from None
                problem = type(err).__name__
            del problem
            time.sleep(min(8.0, 0.25 * 2 ** (attempt - 1)))

    def _check_auth(self, response: requests.Response, what: str) -> None:
        if response.status_code in (401, 403):
            raise SimulationError(
                f"{what}: the server refused the credentials (HTTP {response.status_code}). "
                "Check KOBO_TOKEN (or --token), or --username/--password of an account that "
                "owns the forms.")

    # -- forms --------------------------------------------------------------------------------

    def form_list(self) -> list[FormListEntry]:
        response, _ = self._request("GET", self.url("formList"))
        self._check_auth(response, "GET /formList")
        if response.status_code != 200:
            raise SimulationError(f"GET /formList answered HTTP {response.status_code}: "
                                  f"{self._redact(response.text[:200])}")
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
        """Save the XForm exactly as served (with ``__version__`` and ``formhub/uuid``)."""
        response, _ = self._request("GET", self.url(entry.download_url))
        self._check_auth(response, f"GET {entry.download_url}")
        if response.status_code != 200:
            raise SimulationError(f"downloading form {entry.form_id} answered HTTP "
                                  f"{response.status_code}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(response.content)
        return path

    # -- submissions --------------------------------------------------------------------------

    def submit(self, xml: bytes, attachments: Mapping[str, bytes] | None = None, *,
               instance_id: str | None = None) -> SubmitResult:
        """POST one instance (multipart ``xml_submission_file`` + media files by basename).

        201 and 202 (duplicate) return a :class:`SubmitResult`; other 4xx raise
        :class:`SubmissionRejected`; network faults and 5xx are retried with backoff.
        """
        parts = [("xml_submission_file", "submission.xml", xml, "text/xml")]
        parts += [(name, name, data, MIME.get(Path(name).suffix.lower(), "application/octet-stream"))
                  for name, data in (attachments or {}).items()]
        header = self._plain_header()
        if header is None:  # Digest: let requests negotiate
            files = [(field, (name, data, mime)) for field, name, data, mime in parts]
            response, attempts = self._request("POST", self.url("submission"), files=files,
                                               headers={"Date": email.utils.formatdate(usegmt=True)})
            status, body = response.status_code, response.content
        else:
            status, body, attempts = self._post_plain(parts, header)
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

    def _connection(self, fresh: bool = False) -> _Connection:
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
        conn = _Connection(parts.scheme, parts.hostname or "", parts.port, self.timeout, self._ssl)
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
            self._head_start = (f"POST {target.path or '/'} HTTP/1.1\r\nHost: {_host_header(target)}"
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
                if status not in RETRY_STATUS or attempt >= self.attempts:
                    return status, data, attempt
            except (OSError, ValueError) as err:
                if attempt >= self.attempts:
                    raise SimulationError(
                        f"POST {self.base_url}submission failed ({type(err).__name__}) after "
                        f"{attempt} attempts; check that the server is up and reachable.") from None
            time.sleep(min(8.0, 0.25 * 2 ** (attempt - 1)))


def _host_header(url) -> str:
    host = url.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    default = 443 if url.scheme == "https" else 80
    return host if url.port in (None, default) else f"{host}:{url.port}"


class _Connection:
    """One keep-alive HTTP/1.1 connection that sends a ready request in one write and reads the
    answer (Content-Length, chunked, or until the server closes). Errors are OSError or
    ValueError (a malformed answer); the caller retries them on a fresh connection."""

    MAX_HEAD = 65536

    def __init__(self, scheme: str, host: str, port: int | None,
                 timeout: tuple[float, float], context: ssl.SSLContext | None = None):
        self.scheme, self.host = scheme, host
        self.context = context
        self.port = port or (443 if scheme == "https" else 80)
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.buffer = b""

    def close(self) -> None:
        sock, self.sock = self.sock, None
        self.buffer = b""
        if sock is not None:
            sock.close()

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout[0])
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.scheme == "https":
                if self.context is None:
                    self.context = ssl.create_default_context()
                sock = self.context.wrap_socket(sock, server_hostname=self.host)
            sock.settimeout(self.timeout[1])
        except BaseException:
            sock.close()
            raise
        self.sock, self.buffer = sock, b""
        return sock

    def _more(self, sock: socket.socket) -> None:
        data = sock.recv(65536)
        if not data:
            raise ConnectionResetError("the server closed the connection")
        self.buffer += data

    def _head(self, sock: socket.socket) -> tuple[int, str, dict[str, str]]:
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            if len(self.buffer) > self.MAX_HEAD:
                raise ValueError("the answer's header is too long")
            self._more(sock)
        lines = self.buffer[:end].decode("latin-1").split("\r\n")
        self.buffer = self.buffer[end + 4:]
        version, _, rest = lines[0].partition(" ")
        if not version.startswith("HTTP/"):
            raise ValueError(f"not an HTTP answer: {lines[0][:80]!r}")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if colon:
                name = name.strip().lower()
                headers[name] = f"{headers[name]}, {value.strip()}" if name in headers else value.strip()
        return int(rest[:3]), version, headers

    def _take(self, sock: socket.socket, size: int) -> bytes:
        while len(self.buffer) < size:
            self._more(sock)
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def _line(self, sock: socket.socket) -> bytes:
        while (end := self.buffer.find(b"\r\n")) < 0:
            if len(self.buffer) > self.MAX_HEAD:
                raise ValueError("a chunk header is too long")
            self._more(sock)
        line, self.buffer = self.buffer[:end], self.buffer[end + 2:]
        return line

    def _chunked(self, sock: socket.socket) -> bytes:
        out = []
        while True:
            size = int(self._line(sock).split(b";", 1)[0].strip(), 16)
            if size == 0:
                while self._line(sock):  # trailers, up to the empty line
                    pass
                return b"".join(out)
            out.append(self._take(sock, size))
            if self._take(sock, 2) != b"\r\n":
                raise ValueError("a chunk does not end with CRLF")

    def exchange(self, request: bytes) -> tuple[int, bytes]:
        sock = self.sock or self._connect()
        try:
            sock.sendall(request)
            status, version, headers = self._head(sock)
            while 100 <= status < 200:  # interim answers (100 Continue) come before the real one
                status, version, headers = self._head(sock)
            connection = headers.get("connection", "").lower()
            closing = "close" in connection or (version == "HTTP/1.0" and "keep-alive" not in connection)
            if "chunked" in headers.get("transfer-encoding", "").lower():
                body = self._chunked(sock)
            elif "content-length" in headers:
                body = self._take(sock, int(headers["content-length"]))
            elif status in (204, 304):
                body = b""
            else:  # no framing: the body runs until the server closes
                while True:
                    try:
                        self._more(sock)
                    except ConnectionResetError:
                        break
                body, closing = self.buffer, True
        except BaseException:
            self.close()
            raise
        if closing:
            self.close()
        return status, body


def _message(body: bytes) -> str:
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return body[:200].decode("utf-8", "replace").strip()
    found = root.find(f"{OPENROSA_RESPONSE}message")
    if found is None:
        found = root.find("message")
    return (found.text or "").strip() if found is not None else ""
