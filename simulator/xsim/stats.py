"""Request counters, so tests and benchmarks can assert how many calls a client made."""

from __future__ import annotations

import threading
from collections import Counter

DROPPED = 0
"""The status recorded for a request whose connection was dropped without a response."""


class Stats:
    """Every API request received, by endpoint template and by (template, status)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._by_status: Counter[tuple[str, int]] = Counter()

    def record(self, template: str, status: int) -> None:
        with self._lock:
            self._counts[template] += 1
            self._by_status[(template, status)] += 1

    def counts(self) -> dict[str, int]:
        """{"GET /2/users/:id/tweets": 41, ...}"""
        with self._lock:
            return dict(self._counts)

    def by_status(self) -> dict[tuple[str, int], int]:
        """{("GET /2/tweets", 429): 1, ...}; status 0 means the connection was dropped."""
        with self._lock:
            return dict(self._by_status)

    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._by_status.clear()
