"""Fixtures for the simulator tests: running simulators and an authenticated requests session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from xsim import SimulatorServer

NOW = "2026-11-22T12:00:00Z"


@pytest.fixture(scope="module")
def shared_sim() -> Iterator[SimulatorServer]:
    """A read-only simulator shared by a module's tests (never advance its clock)."""
    with SimulatorServer(seed=42, accounts=20, now=NOW) as sim:
        yield sim


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    """A fresh simulator for tests that move the clock, inject faults or count requests."""
    with SimulatorServer(seed=42, accounts=20, now=NOW) as server:
        yield server


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    session = requests.Session()
    session.headers["Authorization"] = "Bearer test-token"
    yield session
    session.close()
