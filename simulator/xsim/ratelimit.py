"""Per-endpoint 15-minute rate-limit windows (and the 1-request-per-second rule of full-archive
search), measured on an injectable clock.

A test can hand the same fake clock to the simulator and to the client, so "sleep until
x-rate-limit-reset" takes no real time and the arithmetic is still checked.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

WINDOW_SECONDS = 900

DEFAULT_LIMITS: dict[str, int] = {
    "GET /2/users/by": 300,
    "GET /2/users": 300,
    "GET /2/users/:id": 300,
    "GET /2/users/:id/tweets": 1500,
    "GET /2/tweets": 450,
    "GET /2/tweets/search/all": 300,
    "GET /2/tweets/counts/all": 300,
    "GET /2/usage/tweets": 50,
}
MIN_INTERVAL_SECONDS: dict[str, float] = {"GET /2/tweets/search/all": 1.0}
"""Endpoints with a per-second rule: faster requests get a 429 even while the window has room."""


def normalize_template(template: str) -> str:
    """Accept '/2/tweets' or 'GET /2/tweets' as the same key."""
    template = template.strip()
    return template if " " in template else f"GET {template}"


class RateLimiter:
    """Fixed windows that open at an endpoint's first request and last 15 minutes."""

    def __init__(
        self,
        limits: dict[str, int] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.limits = dict(DEFAULT_LIMITS)
        for template, limit in (limits or {}).items():
            self.limits[normalize_template(template)] = int(limit)
        self._clock = clock or time.time
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}
        self._last: dict[str, float] = {}  # when the last request an endpoint with a per-second rule served

    def _current(self, template: str, now: float) -> tuple[float, int]:
        start, used = self._windows.get(template, (now, 0))
        if now >= start + WINDOW_SECONDS:
            start, used = now, 0
        return start, used

    def peek(self, template: str) -> dict[str, str]:
        """The headers for a response that does not consume quota (injected faults)."""
        with self._lock:
            now = self._clock()
            start, used = self._current(template, now)
            limit = self.limits.get(template, 0)
            return self._headers(limit, max(0, limit - used), start)

    def consume(self, template: str) -> tuple[bool, dict[str, str]]:
        """Count one request; (allowed, headers). A refused request consumes nothing.

        An endpoint with a per-second rule refuses a request that comes sooner than its interval
        after the last one it served, with the window's true (non-zero) remaining in the headers."""
        with self._lock:
            now = self._clock()
            start, used = self._current(template, now)
            limit = self.limits.get(template, 0)
            if used >= limit:
                self._windows[template] = (start, used)
                return False, self._headers(limit, 0, start)
            interval = MIN_INTERVAL_SECONDS.get(template)
            if interval is not None:
                last = self._last.get(template)
                if last is not None and now - last < interval:
                    self._windows[template] = (start, used)
                    return False, self._headers(limit, limit - used, start)
                self._last[template] = now
            used += 1
            self._windows[template] = (start, used)
            return True, self._headers(limit, limit - used, start)

    def exhaust(self, template: str) -> dict[str, str]:
        """Headers of an injected 429: the window's reset with nothing remaining."""
        with self._lock:
            now = self._clock()
            start, _ = self._current(template, now)
            return self._headers(self.limits.get(template, 0), 0, start)

    def now(self) -> float:
        """The limiter's clock (epoch seconds): what its resets are measured on."""
        return self._clock()

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
            self._last.clear()

    @staticmethod
    def _headers(limit: int, remaining: int, start: float) -> dict[str, str]:
        return {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(remaining),
            "x-rate-limit-reset": str(int(start) + WINDOW_SECONDS),
        }
