"""When one account's timeline keeps failing, the others are still collected; when no account can
get past an error, the run stops at once with one clear line. Both keep what was fetched."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from common.lake import Lake
from ingestion.client import XClient
from ingestion.collectors.tweets import TweetsCollector
from ingestion.cursors import CURSORS_KEY
from ingestion.errors import (
    FatalAPIError,
    ForbiddenError,
    InvalidRequestError,
    RetriableAPIError,
    UnauthorizedError,
)
from ingestion.page import Page
from ingestion.registry import Account, Registry
from ingestion.state import read_json
from tests.ingestion.test_collectors import TIMELINE, records, truth_since_2022
from tests.support import FakeClock, make_client
from tweetlake.cli import main as tweetlake
from xsim import SimulatorServer


def active_accounts(sim: SimulatorServer) -> list[Account]:
    """Active accounts with their ids, fewest tweets first (so tests stay quick)."""
    chosen = [a for a in sim.world.accounts if a.status == "active" and a.role != "heavy"]
    return [Account(a.username, a.user_id) for a in chosen]


def authors_in_lake(lake: Lake) -> set[str]:
    return {r["data"]["author_id"] for r in records(lake, "tweets") if "data" in r}


def fail_on_account(client: XClient, sim: SimulatorServer, user_id: str, status: int, n: int = 1) -> None:
    """Inject ``n`` answers of ``status`` at the first timeline request of ``user_id``."""
    original = client.user_tweets

    def user_tweets(uid: str, **params: Any) -> Iterator[Page]:
        if uid == user_id:
            sim.faults.fail_next(n=n, status=status)
        return original(uid, **params)

    client.user_tweets = user_tweets  # type: ignore[method-assign]


def assert_collected(lake: Lake, sim: SimulatorServer, accounts: list[Account]) -> None:
    cursors = read_json(lake, CURSORS_KEY)["accounts"]
    for account in accounts:
        assert account.user_id is not None
        truth = truth_since_2022(sim, account.user_id)
        assert cursors[account.user_id]["pending"] is None, account.username
        assert cursors[account.user_id]["newest_id"] == (max(truth, key=int) if truth else None)


def test_5xx_past_the_retries_fails_one_account_only(
    local_lake: Lake, sim: SimulatorServer, fake_clock: FakeClock
) -> None:
    client = make_client(sim, fake_clock, max_retries=1)
    accounts = active_accounts(sim)
    failing = accounts[1]
    fail_on_account(client, sim, str(failing.user_id), 503, n=2)
    summary = TweetsCollector(local_lake, client).run(accounts)
    assert set(summary.failed) == {failing.username}
    assert "giving up after 1 retries" in summary.failed[failing.username]
    others = [a for a in accounts if a is not failing]
    assert authors_in_lake(local_lake) == {a.user_id for a in others if truth_since_2022(sim, str(a.user_id))}
    assert_collected(local_lake, sim, others)
    assert failing.user_id not in read_json(local_lake, CURSORS_KEY)["accounts"], "its cursor did not move"
    assert "failed (cursor kept" in summary.render()


def test_the_api_down_for_three_accounts_in_a_row_stops_the_run(
    local_lake: Lake, sim: SimulatorServer, fake_clock: FakeClock
) -> None:
    client = make_client(sim, fake_clock, max_retries=1)
    sim.faults.fail_next(n=1000, status=503)
    with pytest.raises(RetriableAPIError, match="giving up"):
        TweetsCollector(local_lake, client).run(active_accounts(sim))
    assert sim.stats.counts()[TIMELINE] == 3 * 2


def test_a_400_about_one_accounts_cursor_fails_that_account(
    local_lake: Lake, sim: SimulatorServer, client: XClient
) -> None:
    accounts = active_accounts(sim)
    broken = accounts[0]
    assert broken.user_id is not None
    doc = {"version": 1, "accounts": {broken.user_id: {"newest_id": "not-a-tweet-id", "pending": None}}}
    local_lake.put_bytes(CURSORS_KEY, json.dumps(doc).encode())
    summary = TweetsCollector(local_lake, client).run(accounts)
    assert set(summary.failed) == {broken.username}
    assert "since_id" in summary.failed[broken.username]
    assert read_json(local_lake, CURSORS_KEY)["accounts"][broken.user_id]["newest_id"] == "not-a-tweet-id"
    assert_collected(local_lake, sim, accounts[1:])


def test_a_400_about_a_shared_parameter_stops_the_run(local_lake: Lake, sim: SimulatorServer, client: XClient) -> None:
    collector = TweetsCollector(local_lake, client)
    collector.profile_params = {"user.fields": "no_such_field"}
    with pytest.raises(InvalidRequestError, match=r"user\.fields"):
        collector.run(active_accounts(sim))
    assert sim.stats.counts()[TIMELINE] == 1


@pytest.mark.parametrize(
    ("status", "error", "line"),
    [
        (401, UnauthorizedError, "Unauthorized"),
        (403, ForbiddenError, "client-not-enrolled"),
        (402, FatalAPIError, "no credits left"),
    ],
)
def test_fatal_for_all_stops_at_once_and_keeps_the_accounts_before(
    local_lake: Lake,
    sim: SimulatorServer,
    client: XClient,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    status: int,
    error: type[Exception],
    line: str,
) -> None:
    accounts = active_accounts(sim)
    for account in accounts:
        Registry(local_lake).add(account.username, account.user_id)
    ordered = Registry(local_lake).list()
    fail_on_account(client, sim, str(ordered[2].user_id), status)
    monkeypatch.setattr(XClient, "from_env", classmethod(lambda cls, **_: client))
    code = tweetlake(["ingest", "tweets", "--lake", local_lake.uri, "--no-progress"])
    assert code == 3
    err_lines = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert len(err_lines) == 1 and line in err_lines[0], err_lines
    assert_collected(local_lake, sim, ordered[:2])
    assert str(ordered[2].user_id) not in read_json(local_lake, CURSORS_KEY)["accounts"]
    assert (
        sim.stats.counts()[TIMELINE]
        == sum(len(truth_since_2022(sim, str(a.user_id))) // 100 + 1 for a in ordered[:2]) + 1
    )


def test_a_404_on_one_timeline_names_it_and_the_run_goes_on(
    local_lake: Lake, sim: SimulatorServer, client: XClient
) -> None:
    accounts = active_accounts(sim)
    fail_on_account(client, sim, str(accounts[0].user_id), 404)
    summary = TweetsCollector(local_lake, client).run(accounts)
    assert summary.unavailable[accounts[0].username].startswith("not_found")
    assert not summary.failed
    assert_collected(local_lake, sim, accounts[1:])


def test_exit_6_names_the_failed_accounts(
    local_lake: Lake,
    sim: SimulatorServer,
    client: XClient,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    accounts = active_accounts(sim)
    broken = accounts[0]
    assert broken.user_id is not None
    doc = {"version": 1, "accounts": {broken.user_id: {"newest_id": "not-a-tweet-id", "pending": None}}}
    local_lake.put_bytes(CURSORS_KEY, json.dumps(doc).encode())
    monkeypatch.setattr(XClient, "from_env", classmethod(lambda cls, **_: client))
    users = ",".join(a.username for a in accounts)
    args = ["ingest", "tweets", "--lake", local_lake.uri, "--users", users, "--no-progress", "--budget-usd", "1000"]
    assert tweetlake(args) == 6  # a budget above the default $150: these backfills cost more
    out = capsys.readouterr()
    assert "failed (cursor kept" in out.out
    assert broken.username in out.err and "kept failing" in out.err


def test_a_lake_failure_has_its_own_exit_code(
    tmp_path: Any,
    sim: SimulatorServer,
    client: XClient,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the lake should be")
    monkeypatch.setattr(XClient, "from_env", classmethod(lambda cls, **_: client))
    code = tweetlake(["ingest", "users", "--lake", blocked.as_uri(), "--users", sim.world.accounts[5].username])
    assert code == 7
    assert "the lake failed" in capsys.readouterr().err
