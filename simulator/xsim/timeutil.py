"""Time helpers shared by the simulator: snowflake ids and the API's timestamp formats.

The X API encodes a post's creation time in its id, and clients (and tests) rely on that
to turn `start_time` into `since_id` and back, so the simulator uses the real scheme.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

TWEPOCH_MS = 1288834974657
"""Twitter's snowflake epoch (2010-11-04T01:42:54.657Z) in Unix milliseconds."""

DAY_MS = 86_400_000
HOUR_MS = 3_600_000

_RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")


def id_from_ms(unix_ms: int, low_bits: int = 0) -> int:
    """Snowflake id for a post created at `unix_ms`; `low_bits` are the 22 worker/sequence bits."""
    return ((unix_ms - TWEPOCH_MS) << 22) | (low_bits & 0x3FFFFF)


def ms_from_id(snowflake: int) -> int:
    """Creation time (Unix ms) encoded in a snowflake id."""
    return (snowflake >> 22) + TWEPOCH_MS


def id_from_time(when: datetime) -> int:
    """Smallest snowflake id created at `when` (what a client uses as a time boundary)."""
    return id_from_ms(to_ms(when))


def time_from_id(snowflake: int | str) -> datetime:
    """Creation time of a snowflake id as an aware UTC datetime."""
    return from_ms(ms_from_id(int(snowflake)))


def to_ms(when: datetime) -> int:
    """Unix milliseconds of an aware datetime (naive ones are taken as UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def from_ms(unix_ms: int) -> datetime:
    """Aware UTC datetime of Unix milliseconds."""
    return datetime.fromtimestamp(unix_ms / 1000, tz=UTC)


def parse_rfc3339(text: str) -> datetime | None:
    """Parse an RFC 3339 timestamp strictly (the API rejects anything looser); None if invalid."""
    match = _RFC3339.match(text)
    if match is None:
        return None
    try:
        base = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return base.astimezone(UTC)


def parse_when(value: datetime | str) -> datetime:
    """Accept a datetime or an ISO string from Python callers; raise ValueError otherwise."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = parse_rfc3339(value)
    if parsed is None:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(f"not an ISO 8601 timestamp: {value!r}") from exc
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


_DAY_TEXT: dict[int, str] = {}


def format_api_time(unix_ms: int) -> str:
    """The v2 `created_at` format: second precision with a literal `.000Z`, as real responses show.

    Computed from a per-day cache because it runs twice for every post rendered.
    """
    day, rest = divmod(unix_ms // 1000, 86_400)
    date = _DAY_TEXT.get(day)
    if date is None:
        date = _DAY_TEXT.setdefault(day, from_ms(day * DAY_MS).strftime("%Y-%m-%d"))
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{date}T{hours:02d}:{minutes:02d}:{seconds:02d}.000Z"


def format_iso(when: datetime) -> str:
    """A compact ISO string for control endpoints and logs."""
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")
