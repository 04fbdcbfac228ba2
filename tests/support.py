"""Helpers for tests that talk to the project's X API simulator: a fake clock and a client on it."""

from __future__ import annotations

import logging
import random
import re
from datetime import datetime
from typing import Any

from ingestion.client import XClient
from xsim import SimulatorServer

SIM_START = "2026-11-22T12:00:00Z"
TOKEN = "test-bearer-token-0123456789abcdef"


class FakeClock:
    """Epoch seconds that move only when someone sleeps: shared by the client and the simulator's
    rate-limit windows, so a 15-minute wait takes no real time and is still measured exactly."""

    def __init__(self, start: datetime) -> None:
        self.t = start.timestamp()
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


def make_client(sim: SimulatorServer, clock: FakeClock, **kwargs: Any) -> XClient:
    """A client whose data clock is the simulator's world clock (collected_at, run dates) and whose
    sleeps advance the fake rate clock."""
    options: dict[str, Any] = {
        "clock": clock,
        "sleep": clock.sleep,
        "now": sim.clock.now,
        "rng": random.Random(1),
        "backoff_base": 0.5,
        "timeout": (2.0, 5.0),
    }
    options.update(kwargs)
    return XClient(TOKEN, sim.base_url, **options)


def logged_waits(records: list[logging.LogRecord]) -> list[float]:
    """The waits the client announced (``… waiting 901s …``): one per wait, however it was sliced."""
    return [float(m.group(1)) for r in records if (m := re.search(r"; waiting (\d+)s", r.getMessage()))]
