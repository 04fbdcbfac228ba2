"""Pagination tokens: opaque, and unforgeable, so a client cannot page by tokens it made up.

A token is a MAC over (direction, user, cursor id) followed by the masked payload, keyed per
seed: a token the server did not issue, or one issued for another user, is refused with a 400.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct

_PAYLOAD = ">BIQ"  # backwards flag, user index, cursor id
_MAC_BYTES = 8
_TOKEN_BYTES = _MAC_BYTES + struct.calcsize(_PAYLOAD)


class PageTokens:
    """Makes and reads the `next_token` / `previous_token` of one world's timelines."""

    def __init__(self, seed: int) -> None:
        self._key = hashlib.sha256(f"pagination:{seed}".encode()).digest()

    def make(self, user_index: int, backwards: bool, cursor: int) -> str:
        payload = struct.pack(_PAYLOAD, 1 if backwards else 0, user_index, cursor)
        mac = hmac.new(self._key, payload, hashlib.sha256).digest()[:_MAC_BYTES]
        masked = bytes(a ^ b for a, b in zip(payload, self._mask(mac, len(payload)), strict=True))
        return base64.b32encode(mac + masked).decode("ascii").rstrip("=").lower()

    def read(self, token: str, user_index: int) -> tuple[bool, int] | None:
        """(backwards, cursor id), or None for a token not issued for this user."""
        try:
            raw = base64.b32decode(token.upper() + "=" * (-len(token) % 8))
        except (ValueError, TypeError):
            return None
        if len(raw) != _TOKEN_BYTES:
            return None
        mac, masked = raw[:_MAC_BYTES], raw[_MAC_BYTES:]
        payload = bytes(a ^ b for a, b in zip(masked, self._mask(mac, len(masked)), strict=True))
        expected = hmac.new(self._key, payload, hashlib.sha256).digest()[:_MAC_BYTES]
        if not hmac.compare_digest(mac, expected):
            return None
        backwards, index, cursor = struct.unpack(_PAYLOAD, payload)
        if index != user_index:
            return None
        return bool(backwards), cursor

    def _mask(self, mac: bytes, size: int) -> bytes:
        return hashlib.sha256(self._key + mac).digest()[:size]


_QUERY_PAYLOAD = ">8sQ"  # fingerprint of the request's query and bounds, cursor (an id or a time)
_QUERY_TOKEN_BYTES = _MAC_BYTES + struct.calcsize(_QUERY_PAYLOAD)


class QueryTokens:
    """The `next_token` of search and counts: valid only for the query and bounds that issued it."""

    def __init__(self, seed: int, kind: str) -> None:
        self._key = hashlib.sha256(f"{kind}:{seed}".encode()).digest()

    @staticmethod
    def fingerprint(*parts: object) -> bytes:
        return hashlib.sha256(repr(parts).encode()).digest()[:8]

    def make(self, fingerprint: bytes, cursor: int) -> str:
        payload = struct.pack(_QUERY_PAYLOAD, fingerprint, cursor)
        mac = hmac.new(self._key, payload, hashlib.sha256).digest()[:_MAC_BYTES]
        return base64.b32encode(mac + payload).decode("ascii").rstrip("=").lower()

    def read(self, token: str, fingerprint: bytes) -> int | None:
        """The cursor, or None for a token not issued for this query."""
        try:
            raw = base64.b32decode(token.upper() + "=" * (-len(token) % 8))
        except (ValueError, TypeError):
            return None
        if len(raw) != _QUERY_TOKEN_BYTES:
            return None
        mac, payload = raw[:_MAC_BYTES], raw[_MAC_BYTES:]
        if not hmac.compare_digest(mac, hmac.new(self._key, payload, hashlib.sha256).digest()[:_MAC_BYTES]):
            return None
        issued_for, cursor = struct.unpack(_QUERY_PAYLOAD, payload)
        return int(cursor) if issued_for == fingerprint else None
