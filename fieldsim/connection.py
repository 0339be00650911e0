"""One keep-alive HTTP/1.1 connection that sends a ready request in one write and reads the answer.

The simulated phones post hundreds of submissions a second; requests or ``http.client`` cost a
multiple of this in client CPU. Errors are ``OSError`` or ``ValueError`` (a malformed answer);
the caller retries them on a fresh connection.
"""

from __future__ import annotations

import socket
import ssl
from urllib.parse import SplitResult


def host_header(url: SplitResult) -> str:
    """The ``Host`` header for ``url``: the port only when it is not the scheme's default."""
    host = url.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    default = 443 if url.scheme == "https" else 80
    return host if url.port in (None, default) else f"{host}:{url.port}"


class Connection:
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
