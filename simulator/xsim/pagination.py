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
