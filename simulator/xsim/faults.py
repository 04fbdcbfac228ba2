"""Fault injection: seeded random faults plus a deterministic queue for tests.

Clients must survive 5xx, dropped connections, slow answers and both kinds of 429; tests need
each of them on demand (`fail_next`, `drop_next`, ...), benchmarks need them at a steady rate.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass
class FaultConfig:
    """Random faults, drawn from a seeded generator so a run can be replayed."""

    error_rate: float = 0.0
    """Fraction of API requests answered 500 or 503."""
    slow_rate: float = 0.0
    """Fraction of API requests delayed by `slow_seconds` before being answered."""
    slow_seconds: float = 0.0
    drop_rate: float = 0.0
    """Fraction of API requests whose connection is closed without any response."""
    usage_cap: bool = False
    """When true every API request gets the monthly UsageCapExceeded 429."""
    seed: int = 0


RATE_LIMIT_HEADERS = ("window", "none", "past")


@dataclass(frozen=True)
class Fault:
    """What to do to one request: kind is drop, error, usage_cap or rate_limit.

    A rate_limit fault's ``headers`` say what its 429 carries: ``window`` (the endpoint's
    ``x-rate-limit-*``, as the API sends them), ``none`` (no rate-limit headers, as a proxy in front
    of the API may answer) or ``past`` (a reset already gone, as a skewed clock sees it);
    ``retry_after`` adds a ``Retry-After`` header (seconds).
    """

    kind: str
    status: int = 0
    headers: str = "window"
    retry_after: int | None = None


class Faults:
    """The server's fault state: a `FaultConfig` plus a FIFO of one-shot faults."""

    def __init__(self, config: FaultConfig | None = None, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self.config = config or FaultConfig()
        self._rng = random.Random(f"faults:{seed}:{self.config.seed}")
        self._queue: deque[Fault] = deque()

    def fail_next(self, n: int = 1, status: int = 503) -> None:
        """The next `n` API requests are answered with `status`, in the real API's body for it
        (5xx problem, 401 Unauthorized, 403 client-not-enrolled, 404 Not Found)."""
        self._push(Fault("error", status), n)

    def drop_next(self, n: int = 1) -> None:
        """The next `n` API requests get their connection closed without a response."""
        self._push(Fault("drop"), n)

    def usage_cap_next(self, n: int = 1) -> None:
        """The next `n` API requests get the UsageCapExceeded 429."""
        self._push(Fault("usage_cap", 429), n)

    def rate_limit_next(self, n: int = 1, *, headers: str = "window", retry_after: int | None = None) -> None:
        """The next `n` API requests get an ordinary 429 (see :class:`Fault` for `headers`)."""
        if headers not in RATE_LIMIT_HEADERS:
            raise ValueError(f"headers must be one of {RATE_LIMIT_HEADERS}, not {headers!r}")
        self._push(Fault("rate_limit", 429, headers, retry_after), n)

    def _push(self, fault: Fault, n: int) -> None:
        with self._lock:
            self._queue.extend([fault] * n)

    def update(self, **changes: Any) -> FaultConfig:
        """Change some FaultConfig fields (unknown names raise TypeError)."""
        known = {f.name for f in fields(FaultConfig)}
        unknown = set(changes) - known
        if unknown:
            raise TypeError(f"unknown fault settings: {sorted(unknown)}")
        with self._lock:
            merged = asdict(self.config)
            merged.update(changes)
            self.config = FaultConfig(**merged)
            return self.config

    def clear(self) -> None:
        """Drop pending one-shot faults and switch random faults off."""
        with self._lock:
            self._queue.clear()
            self.config = FaultConfig(seed=self.config.seed)

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def draw(self) -> tuple[Fault | None, float]:
        """The fault for the next API request (queued first, then random) and its delay."""
        with self._lock:
            if self._queue:
                return self._queue.popleft(), 0.0
            cfg = self.config
            if cfg.usage_cap:
                return Fault("usage_cap", 429), 0.0
            fault: Fault | None = None
            if cfg.drop_rate > 0 or cfg.error_rate > 0:
                roll = self._rng.random()
                if roll < cfg.drop_rate:
                    fault = Fault("drop")
                elif roll < cfg.drop_rate + cfg.error_rate:
                    fault = Fault("error", 503 if self._rng.random() < 0.5 else 500)
            delay = 0.0
            if fault is None and cfg.slow_rate > 0 and self._rng.random() < cfg.slow_rate:
                delay = cfg.slow_seconds
            return fault, delay
