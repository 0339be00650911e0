"""Who is asking: ``Authorization: Token …`` (KPI and OpenRosa), Basic, or Digest as ODK Collect
sends it after a 401 challenge. Credentials never reach a log line."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections import OrderedDict

from fieldsim.server.store import REALM, Store, password_digest

MAX_NONCES = 1000
_PAIRS = re.compile(r'(\w+)=(?:"([^"]*)"|([^,\s]*))')


class AuthFailure(Exception):
    """``body`` is the DRF-style detail the real server answers with."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


class Authenticator:
    def __init__(self, store: Store):
        self.store = store
        self.nonces: OrderedDict[str, None] = OrderedDict()  # the latest MAX_NONCES challenges

    def user(self, header: str | None, method: str, path: str) -> str | None:
        """The username, None without credentials; AuthFailure for bad ones."""
        if not header:
            return None
        scheme, _, value = header.partition(" ")
        scheme = scheme.lower()
        if scheme == "token":
            key = value.strip()
            if not key:
                raise AuthFailure("Invalid token header. No credentials provided.")
            user = self.store.user_by_token(key)
            if user is None:
                raise AuthFailure("Invalid token.")
            return user
        if scheme == "basic":
            try:
                username, _, password = base64.b64decode(value.strip()).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError) as err:
                raise AuthFailure("Invalid basic header.") from err
            stored = self.store.ha1_of(username)
            given = password_digest(username, password).removeprefix("md5:")
            if not password or stored is None or not secrets.compare_digest(stored, given):
                raise AuthFailure("Invalid username/password.")
            return username
        if scheme == "digest":
            return self._digest(value, method, path)
        raise AuthFailure("Authentication credentials were not provided.")

    def challenge(self) -> str:
        nonce = secrets.token_hex(16)
        self.nonces[nonce] = None
        while len(self.nonces) > MAX_NONCES:
            self.nonces.popitem(last=False)
        return f'Digest realm="{REALM}", qop="auth", nonce="{nonce}", opaque="{secrets.token_hex(8)}", algorithm=MD5'

    def _digest(self, value: str, method: str, path: str) -> str:
        fields = {m[0]: m[1] or m[2] for m in _PAIRS.findall(value)}
        username = fields.get("username", "")
        ha1 = self.store.ha1_of(username)
        if ha1 is None or fields.get("nonce") not in self.nonces or fields.get("realm", REALM) != REALM:
            raise AuthFailure("Invalid username/password.")
        ha2 = _md5(f"{method}:{fields.get('uri', path)}")
        if fields.get("qop"):
            expected = _md5(f"{ha1}:{fields['nonce']}:{fields.get('nc', '')}:{fields.get('cnonce', '')}:"
                            f"{fields['qop']}:{ha2}")
        else:
            expected = _md5(f"{ha1}:{fields['nonce']}:{ha2}")
        if not secrets.compare_digest(expected, fields.get("response", "")):
            raise AuthFailure("Invalid username/password.")
        return username
