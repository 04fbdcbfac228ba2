"""What the X API's rate-limit headers say: the window of an endpoint, the reset a 429 names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime


@dataclass
class Window:
    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None


def header_int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def spent_window_reset(headers: Mapping[str, str]) -> float | None:
    """The reset (epoch s) of the windows this response says are spent — the 15-minute one, a
    24-hour app or user limit; the latest when several are (nothing passes before it) — else the
    15-minute reset when none says ``remaining: 0``."""
    spent = [
        reset
        for prefix in ("x-rate-limit", "x-app-limit-24hour", "x-user-limit-24hour")
        if (reset := header_int(headers, f"{prefix}-reset")) and header_int(headers, f"{prefix}-remaining") == 0
    ]
    if spent:
        return float(max(spent))
    reset = header_int(headers, "x-rate-limit-reset")
    return float(reset) if reset else None


def longer_window_spent(headers: Mapping[str, str]) -> bool:
    """Whether a 24-hour app or user limit says it is spent (``remaining: 0``)."""
    return any(
        header_int(headers, f"{prefix}-remaining") == 0 and header_int(headers, f"{prefix}-reset")
        for prefix in ("x-app-limit-24hour", "x-user-limit-24hour")
    )


def retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """``Retry-After`` in seconds: delta-seconds or an HTTP date (RFC 9110)."""
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        return parsedate_to_datetime(value).timestamp() - now
    except (TypeError, ValueError):
        return None
