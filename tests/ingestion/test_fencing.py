"""Fencing: a run whose lease lapsed while another run held the lock stops before it writes again."""

from __future__ import annotations

from datetime import timedelta

import pytest

from common.lake import Lake
from ingestion.state import LockLost, RunLock, RunLockedError, read_json
from tests.support import FakeClock

TTL = timedelta(minutes=10)


@pytest.fixture
def clock() -> FakeClock:
    from datetime import UTC, datetime

    return FakeClock(datetime(2026, 11, 22, 12, tzinfo=UTC))


def test_every_acquisition_is_a_new_generation(any_lake: Lake, clock: FakeClock) -> None:
    first = RunLock(any_lake, "tweets", "run-a", ttl=TTL, clock=clock)
    with first:
        assert first.generation == 1
        clock.sleep(TTL.total_seconds() / 2)
        first.heartbeat()  # a renewal keeps the generation
        assert read_json(any_lake, first.key)["generation"] == 1
    second = RunLock(any_lake, "tweets", "run-b", ttl=TTL, clock=clock)
    with second:
        assert second.generation == 2


def test_a_stalled_run_stops_after_another_run_took_and_released_the_lock(any_lake: Lake, clock: FakeClock) -> None:
    stalled = RunLock(any_lake, "tweets", "run-a", ttl=TTL, clock=clock)
    stalled.acquire()
    clock.sleep(TTL.total_seconds() + 1)  # run A stalls past its lease
    with RunLock(any_lake, "tweets", "run-b", ttl=TTL, clock=clock) as other:
        assert other.generation == 2
    # run B finished and released; A resumes: neither a renewal nor a check may take the lock again
    with pytest.raises(LockLost, match="generation 2"):
        stalled.check()
    with pytest.raises(LockLost):
        stalled.heartbeat()
    assert read_json(any_lake, stalled.key)["run_id"] == "run-b"
    assert isinstance(LockLost("x"), RunLockedError)  # the same exit code as a held lock: 4


def test_a_lapsed_lease_nobody_took_is_renewed(any_lake: Lake, clock: FakeClock) -> None:
    lock = RunLock(any_lake, "tweets", "run-a", ttl=TTL, clock=clock)
    lock.acquire()
    clock.sleep(TTL.total_seconds() * 2)
    lock.check()  # nobody collected meanwhile: this run's work is still the only one
    assert read_json(any_lake, lock.key)["generation"] == 1
    assert read_json(any_lake, lock.key)["expires_at"] > "2026-11-22T12:20"


def test_a_check_renews_a_lease_close_to_its_end(local_lake: Lake, clock: FakeClock) -> None:
    lock = RunLock(local_lake, "tweets", "run-a", ttl=TTL, clock=clock)
    lock.acquire()
    clock.sleep(TTL.total_seconds() * 0.8)  # less than a third of the lease left
    lock.check()
    expires = read_json(local_lake, lock.key)["expires_at"]
    assert expires == "2026-11-22T12:18:00Z"  # renewed at 12:08 for ten minutes
    with pytest.raises(RunLockedError):
        RunLock(local_lake, "tweets", "run-b", ttl=TTL, clock=clock).acquire()
