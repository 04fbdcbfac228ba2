"""Fencing: a run whose lease lapsed while another run held the lock stops before it writes again."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from common.lake import Lake
from ingestion.collectors.base import RunSummary
from ingestion.registry import Registry
from ingestion.run import ExitCode, outcome, run
from ingestion.state import LockLost, RunLock, RunLockedError, read_json, update_json
from tests.ingestion.test_collectors import T2022_ID, records
from tests.support import FakeClock, make_client
from xsim import SimulatorServer

TTL = timedelta(minutes=10)


@pytest.fixture
def clock() -> FakeClock:
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


def test_a_run_that_stalled_past_its_lease_publishes_nothing_after_another_run_collected(
    local_lake: Lake, sim: SimulatorServer, fake_clock: FakeClock
) -> None:
    """The campaign's interleaving: run A stalls past its lease; run B takes the lock, collects and
    releases it; A resumes. A must stop (exit 4) without publishing or moving a cursor."""
    registry = Registry(local_lake)
    chosen = [a for a in sim.world.accounts if a.status == "active" and a.role != "heavy"][:3]
    for account in chosen:
        registry.add(account.username)
    other: list[RunSummary] = []

    def stall_then_let_another_run_collect(done: int, total: int, **_: int) -> None:
        if done == 1 and not other:
            update_json(
                local_lake, "state/locks/tweets.json", lambda doc: ({**doc, "expires_at": "2000-01-01T00:00:00Z"}, None)
            )  # A's lease lapses
            other.append(run("tweets", local_lake, make_client(sim, fake_clock)))

    with pytest.raises(LockLost) as raised:
        run("tweets", local_lake, make_client(sim, fake_clock), on_progress=stall_then_let_another_run_collect)
    result = outcome(raised.value)
    assert result is not None and result.code == ExitCode.LOCKED and "generation 2" in result.message
    assert other and outcome(other[0]).code == ExitCode.OK
    seen = Counter(r["data"]["id"] for r in records(local_lake, "tweets") if "data" in r)
    truth = {i for a in chosen for i in sim.world.archive_ids(a.user_id) if int(i) >= T2022_ID}  # timeline + search
    assert set(seen) == truth and max(seen.values()) == 1, "every tweet once: run B's, none of run A's"
    assert {k.split("/")[-1].split("-")[0] for k in other[0].files} == {other[0].run_id.split("-")[0]}
    assert len({obj.key.split("/")[-1].rsplit("-", 1)[0] for obj in local_lake.list("raw/tweets/")}) == 1
