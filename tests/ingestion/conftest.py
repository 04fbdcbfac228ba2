"""Ingestion fixtures: the project's X API simulator in-process, and a client on a fake clock."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime

import pytest

from common.layout import parse_time
from ingestion.client import XClient
from ingestion.simulator import SimulatorServer

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


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock(parse_time(SIM_START))


@pytest.fixture
def sim(fake_clock: FakeClock) -> Iterator[SimulatorServer]:
    with SimulatorServer(seed=7, accounts=8, now=SIM_START, token=TOKEN, rate_clock=fake_clock) as server:
        yield server


def make_client(sim: SimulatorServer, clock: FakeClock, **kwargs) -> XClient:
    """A client whose clock is the simulator's world clock (collected_at, run dates) and whose
    sleeps advance the fake rate clock."""
    options = {"clock": clock, "sleep": clock.sleep, "now": sim.clock.now, "rng": random.Random(1),
               "backoff_base": 0.5, "timeout": (2.0, 5.0)}
    options.update(kwargs)
    return XClient(TOKEN, sim.base_url, **options)


@pytest.fixture
def client(sim: SimulatorServer, fake_clock: FakeClock) -> Iterator[XClient]:
    c = make_client(sim, fake_clock)
    yield c
    c.close()
