"""The simulated world clock.

Tests freeze it and move it by hand so that "new tweets appear" and "metrics grow" happen
on demand; the CLI lets it follow wall time so a long-running demo sees a live account.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from xsim.timeutil import from_ms, parse_when, to_ms


class SimClock:
    """World time: `start` plus any `advance()`, plus elapsed real time unless frozen."""

    def __init__(
        self,
        start: datetime | str,
        frozen: bool = True,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self._monotonic = monotonic
        self._base_ms = to_ms(parse_when(start))
        self._anchor = monotonic()
        self.frozen = frozen

    def now_ms(self) -> int:
        """Current world time in Unix milliseconds."""
        with self._lock:
            if self.frozen:
                return self._base_ms
            return self._base_ms + int((self._monotonic() - self._anchor) * 1000)

    def now(self) -> datetime:
        """Current world time as an aware UTC datetime."""
        return from_ms(self.now_ms())

    def set(self, when: datetime | str) -> None:
        """Jump to `when`; an unfrozen clock keeps running from there."""
        new_ms = to_ms(parse_when(when))
        with self._lock:
            self._base_ms = new_ms
            self._anchor = self._monotonic()

    def advance(self, seconds: float = 0.0, minutes: float = 0.0, hours: float = 0.0, days: float = 0.0) -> datetime:
        """Move world time forward (or back, with negative values); returns the new time."""
        delta = timedelta(seconds=seconds, minutes=minutes, hours=hours, days=days)
        with self._lock:
            self._base_ms += int(delta.total_seconds() * 1000)
        return self.now()
