"""Identifiers shaped like KoboToolbox's: asset uids ``a…``, version ids ``v…``, import ``i…``,
attachment ``att…``, 40-hex tokens and 32-hex deployment uuids."""

from __future__ import annotations

import secrets

# kpi's KpiUidField uses shortuuid's 57-character alphabet
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def uid(prefix: str, length: int = 21) -> str:
    return prefix + "".join(secrets.choice(ALPHABET) for _ in range(length))


def token() -> str:
    return secrets.token_hex(20)


def hex32() -> str:
    return secrets.token_hex(16)
