"""A misbehaving X API never costs data: the real collectors against a hostile proxy (tests/hostile.py)
in front of the simulator, into a real lake, and a clean run afterwards leaves every tweet present
exactly once."""

from __future__ import annotations

import logging
import random
import re
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from common.lake import Lake
from ingestion.client import XClient
from ingestion.cursors import CursorStore
from ingestion.errors import FatalAPIError, RateLimitError, RetriableAPIError
from ingestion.registry import Account, Registry
from ingestion.run import ExitCode, outcome, run
from tests.hostile import (
    Exchange,
    HostileProxy,
    Reply,
    Rule,
    cut_body,
    drip,
    drop_ids,
    empty_object,
    html_502,
    not_found,
    overlaid,
    redirect_to,
    repeat_token,
    spent_window,
    stray_posts,
    tampered_lookup,
)
from tests.ingestion.test_backfill import ten_thousand_at
from tests.ingestion.test_collectors import T2022_ID, records, truth_since_2022
from tests.support import TOKEN, FakeClock
from tweetlake.cli import main as tweetlake
from xsim import SimulatorServer
from xsim.timeutil import id_from_time

TIMELINE = r"^/2/users/\d+/tweets$"
SEARCH = r"^/2/tweets/search/all$"
LOOKUP = r"^/2/tweets$"


@pytest.fixture
def proxy(sim: SimulatorServer) -> Iterator[HostileProxy]:
    with HostileProxy(sim.base_url) as server:
        yield server


def hostile_client(proxy: HostileProxy, sim: SimulatorServer, clock: FakeClock, **kwargs: Any) -> XClient:
    options: dict[str, Any] = {
        "clock": clock,
        "sleep": clock.sleep,
        "now": sim.clock.now,
        "rng": random.Random(1),
        "backoff_base": 0.5,
        "timeout": (2.0, 5.0),
        "max_retries": 2,
    }
    options.update(kwargs)
    return XClient(TOKEN, proxy.base_url, **options)


@pytest.fixture
def paged(sim: SimulatorServer) -> Account:
    """An active account whose timeline since 2022 spans a few pages (so there is a middle)."""
    for account in sim.world.accounts:
        if account.status == "active" and 250 <= len(truth_since_2022(sim, account.user_id)) <= 2000:
            return Account(account.username, account.user_id)
    raise AssertionError("the seed-7 world has no account with 250-2000 tweets since 2022")


def tweets_in_lake(lake: Lake) -> Counter[str]:
    return Counter(r["data"]["id"] for r in records(lake, "tweets") if "data" in r)


def assert_exactly_once(lake: Lake, sim: SimulatorServer, account: Account) -> None:
    seen = tweets_in_lake(lake)
    assert set(seen) == set(truth_since_2022(sim, str(account.user_id))), "every tweet is in the lake"
    assert max(seen.values()) == 1, "and none twice"


@pytest.mark.parametrize(("nth", "where"), [(2, "mid-walk"), (1, "first page")])
def test_a_200_empty_object_that_persists_fails_the_account_and_a_clean_run_loses_nothing(
    local_lake: Lake,
    sim: SimulatorServer,
    fake_clock: FakeClock,
    proxy: HostileProxy,
    paged: Account,
    nth: int,
    where: str,
) -> None:
    proxy.rules.append(Rule(TIMELINE, empty_object, nth=nth, times=100))
    summary = run("tweets", local_lake, hostile_client(proxy, sim, fake_clock), users=paged.username)
    assert outcome(summary).code == ExitCode.ACCOUNTS_FAILED, where
    assert "neither data nor meta" in summary.failed[paged.username]
    cursor = CursorStore(local_lake).get(str(paged.user_id))
    if nth == 1:
        assert cursor is None or cursor.newest_id is None, "the cursor did not move"
    else:  # what was published is recorded as a backlog still to fetch, never as done
        assert cursor is not None and cursor.pending is not None and cursor.newest_id is None
    assert len(tweets_in_lake(local_lake)) == 100 * (nth - 1)
    proxy.rules.clear()
    clean = run("tweets", local_lake, hostile_client(proxy, sim, fake_clock), users=paged.username)
    assert outcome(clean).code == ExitCode.OK
    assert_exactly_once(local_lake, sim, paged)


@pytest.mark.parametrize("spoil", [empty_object, html_502, cut_body], ids=["empty-object", "html-502", "cut-body"])
def test_a_passing_bad_answer_is_retried_and_costs_nothing(
    local_lake: Lake, sim: SimulatorServer, fake_clock: FakeClock, proxy: HostileProxy, paged: Account, spoil: Any
) -> None:
    proxy.rules.append(Rule(TIMELINE, spoil, nth=2))
    summary = run("tweets", local_lake, hostile_client(proxy, sim, fake_clock), users=paged.username)
    assert outcome(summary).code == ExitCode.OK
    assert summary.retries == 1 and proxy.rules[0].fired == 1
    assert_exactly_once(local_lake, sim, paged)


def test_a_repeated_next_token_fails_the_account_and_a_clean_run_loses_nothing(
    local_lake: Lake, sim: SimulatorServer, fake_clock: FakeClock, proxy: HostileProxy, paged: Account
) -> None:
    proxy.rules.append(Rule(TIMELINE, repeat_token, nth=2, times=100))
    summary = run("tweets", local_lake, hostile_client(proxy, sim, fake_clock), users=paged.username)
    assert outcome(summary).code == ExitCode.ACCOUNTS_FAILED
    proxy.rules.clear()
    run("tweets", local_lake, hostile_client(proxy, sim, fake_clock), users=paged.username)
    assert_exactly_once(local_lake, sim, paged)


def test_a_dripped_body_meets_the_deadline_and_is_retried(
    local_lake: Lake,
    sim: SimulatorServer,
    fake_clock: FakeClock,
    proxy: HostileProxy,
    paged: Account,
    caplog: pytest.LogCaptureFixture,
) -> None:
    proxy.rules.append(Rule(TIMELINE, drip(0.05), nth=1))  # a 100-tweet page a byte every 50 ms: ~an hour
    client = hostile_client(proxy, sim, fake_clock, request_deadline=1.5)
    with caplog.at_level(logging.WARNING):
        summary = run("tweets", local_lake, client, users=paged.username)
    assert outcome(summary).code == ExitCode.OK
    assert any("no complete answer within 2 s" in r.getMessage() for r in caplog.records)
    assert summary.retries == 1
    assert_exactly_once(local_lake, sim, paged)


def test_the_lease_is_renewed_while_a_body_arrives(
    sim: SimulatorServer, fake_clock: FakeClock, proxy: HostileProxy, paged: Account
) -> None:
    proxy.rules.append(Rule(TIMELINE, drip(0.001), nth=1))
    client = hostile_client(proxy, sim, fake_clock)
    beats: list[float] = []
    client.heartbeat = lambda: beats.append(1.0)
    page = next(iter(client.user_tweets(str(paged.user_id), max_results=5)))  # a few KB, a byte a millisecond
    assert len(page.data) == 5
    assert len(beats) > 10, "one renewal chance for every chunk that arrived"


def test_a_partial_lookup_is_asked_again_and_the_summary_counts_what_was_written(
    local_lake: Lake, sim: SimulatorServer, fake_clock: FakeClock, proxy: HostileProxy, paged: Account
) -> None:
    client = hostile_client(proxy, sim, fake_clock)
    run("tweets", local_lake, client, users=paged.username)
    known = len(tweets_in_lake(local_lake))
    proxy.rules.append(Rule(LOOKUP, drop_ids(10), nth=1))  # the first batch answers for 10 of 100
    summary = run("metrics", local_lake, client, users=paged.username)
    assert summary.extra["refreshed"] == f"{known:,} of {known:,} asked"
    assert "unanswered (asked twice, asked again next run)" not in summary.extra
    answered = Counter(r["data"]["id"] for r in records(local_lake, "tweet_metrics") if "data" in r)
    assert len(answered) == known and max(answered.values()) == 1


def test_a_lookup_that_keeps_leaving_ids_out_names_them_and_counts_only_what_it_wrote(
    local_lake: Lake, sim: SimulatorServer, fake_clock: FakeClock, proxy: HostileProxy, paged: Account
) -> None:
    client = hostile_client(proxy, sim, fake_clock)
    run("tweets", local_lake, client, users=paged.username)
    known = len(tweets_in_lake(local_lake))
    proxy.rules.append(Rule(LOOKUP, drop_ids(10), times=1000))
    summary = run("metrics", local_lake, client, users=paged.username)
    written = sum(1 for r in records(local_lake, "tweet_metrics") if "data" in r)
    assert summary.extra["refreshed"] == f"{written:,} of {known:,} asked"
    assert summary.extra["unanswered (asked twice, asked again next run)"] == known - written > 0
    assert summary.extra["newly deleted"] == 0, "a missing answer is not a deletion"


def test_an_empty_lookup_answer_is_retried(
    local_lake: Lake, sim: SimulatorServer, fake_clock: FakeClock, proxy: HostileProxy, paged: Account
) -> None:
    client = hostile_client(proxy, sim, fake_clock)
    run("tweets", local_lake, client, users=paged.username)
    known = len(tweets_in_lake(local_lake))
    proxy.rules.append(Rule(LOOKUP, empty_object, nth=1))
    summary = run("metrics", local_lake, client, users=paged.username)
    assert summary.retries == 1
    assert summary.extra["refreshed"] == f"{known:,} of {known:,} asked"


def test_a_redirect_to_another_origin_is_refused(
    local_lake: Lake, sim: SimulatorServer, fake_clock: FakeClock, proxy: HostileProxy, paged: Account
) -> None:
    proxy.rules.append(Rule(r"^/2/users/by$", redirect_to("http://198.51.100.7/2/users/by?usernames=x"), times=10))
    with pytest.raises(FatalAPIError) as raised:
        run("users", local_lake, hostile_client(proxy, sim, fake_clock), users=paged.username)
    result = outcome(raised.value)
    assert result is not None and result.code == ExitCode.FATAL_API
    assert "redirect to another origin (http://198.51.100.7)" in result.message
    assert records(local_lake, "users") == []


def test_a_redirect_within_the_api_is_followed(
    local_lake: Lake, sim: SimulatorServer, fake_clock: FakeClock, proxy: HostileProxy, paged: Account
) -> None:
    target = f"{proxy.base_url}/users/by?usernames={paged.username}&user.fields=public_metrics"
    proxy.rules.append(Rule(r"^/2/users/by$", redirect_to(target), nth=1))
    summary = run("users", local_lake, hostile_client(proxy, sim, fake_clock), users=paged.username)
    assert outcome(summary).code == ExitCode.OK
    assert [r["data"]["username"] for r in records(local_lake, "users")] == [paged.username]


def test_a_tweet_is_deleted_only_after_not_found_answers_a_day_apart(
    local_lake: Lake, sim: SimulatorServer, fake_clock: FakeClock, proxy: HostileProxy, paged: Account
) -> None:
    client = hostile_client(proxy, sim, fake_clock)
    run("tweets", local_lake, client, users=paged.username)
    victim = sorted(tweets_in_lake(local_lake))[0]
    flaky = Rule(LOOKUP, not_found(victim), times=1000)

    def metrics_at(hours: float, spoiled: bool) -> dict[str, Any]:
        sim.clock.set(start + timedelta(hours=hours))
        proxy.rules[:] = [flaky] if spoiled else []
        before = len(proxy.asked_ids)
        summary = run("metrics", local_lake, client, users=paged.username)
        asked = victim in {i for ids in proxy.asked_ids[before:] for i in ids}
        return {
            "asked": asked,
            "deleted": summary.extra["newly deleted"],
            "doubted": summary.extra.get("not found (asked again after a day before counting as deleted)", 0),
        }

    start = sim.clock.now()
    assert metrics_at(2, spoiled=True) == {"asked": True, "deleted": 0, "doubted": 1}  # recorded, not acted on
    assert metrics_at(4, spoiled=True) == {"asked": True, "deleted": 0, "doubted": 1}  # the same day: not yet
    assert metrics_at(27, spoiled=False) == {"asked": True, "deleted": 0, "doubted": 0}  # it answers: no doubt left
    assert metrics_at(29, spoiled=True) == {"asked": True, "deleted": 0, "doubted": 1}  # a new first answer
    assert metrics_at(53, spoiled=True) == {"asked": True, "deleted": 1, "doubted": 0}  # a day after it: deleted
    assert metrics_at(55, spoiled=True)["asked"] is False  # and never asked for again
    errors = [r for r in records(local_lake, "tweet_metrics") if "error" in r]
    assert sum(r["error"]["resource_id"] == victim for r in errors) == 4, "every Not Found answer is in the lake"


def test_an_edit_history_no_edit_could_have_made_never_redirects_a_refresh_nor_a_deletion(
    local_lake: Lake, sim: SimulatorServer, fake_clock: FakeClock, proxy: HostileProxy, paged: Account
) -> None:
    """An answer for the oldest post A claims the newest post F (years later) as its edit: A is
    still asked for itself, and F answering "Not Found" a day apart deletes F, never A."""
    client = hostile_client(proxy, sim, fake_clock)
    run("tweets", local_lake, client, users=paged.username)
    a, f = sorted(tweets_in_lake(local_lake), key=int)[:: len(tweets_in_lake(local_lake)) - 1]
    start = sim.clock.now()

    def asked_at(hours: float, spoil: Any) -> set[str]:
        sim.clock.set(start + timedelta(hours=hours))
        proxy.rules[:] = [Rule(LOOKUP, spoil, times=1000)]
        before = len(proxy.asked_ids)
        run("metrics", local_lake, client, users=paged.username)
        return {i for ids in proxy.asked_ids[before:] for i in ids}

    assert {a, f} <= asked_at(2, tampered_lookup(history={a: [a, f]}, not_found=(f,)))
    assert {a, f} <= asked_at(27, tampered_lookup(history={a: [a, f]}, not_found=(f,)))  # F: a day apart
    asked = asked_at(29, tampered_lookup())
    assert a in asked, "A is asked for itself, not deleted with F"
    assert f not in asked, "F answered Not Found when asked, a day apart: deleted"


def test_a_lookup_answer_about_ids_not_asked_changes_nothing(
    local_lake: Lake, sim: SimulatorServer, fake_clock: FakeClock, proxy: HostileProxy, paged: Account
) -> None:
    """Answers for the account's posts carry "Not Found" for another account's post and data for a
    post never asked about: both are kept in the lake, but neither is asked for nor deleted."""
    other = next(
        a
        for a in sim.world.accounts
        if a.status == "active" and str(a.user_id) != str(paged.user_id) and truth_since_2022(sim, str(a.user_id))
    )
    client = hostile_client(proxy, sim, fake_clock)
    run("tweets", local_lake, client, users=f"{paged.username},{other.username}")
    theirs = sorted(truth_since_2022(sim, str(other.user_id)), key=int)[-1]
    invented = str(id_from_time(sim.clock.now() - timedelta(hours=1)) + 7)
    start = sim.clock.now()
    proxy.rules.append(Rule(LOOKUP, tampered_lookup(not_found=(theirs,), unasked=(invented,)), times=1000))
    asked: set[str] = set()
    summaries = []
    for hours in (2, 27):
        sim.clock.set(start + timedelta(hours=hours))
        before = len(proxy.asked_ids)
        summaries.append(run("metrics", local_lake, client, users=paged.username))
        asked |= {i for ids in proxy.asked_ids[before:] for i in ids}
    assert [s.extra["newly deleted"] for s in summaries] == [0, 0]
    assert invented not in asked and theirs not in asked
    assert all(s.extra["answers about ids not asked (kept in the lake, ignored)"] >= 2 for s in summaries)
    proxy.rules.clear()
    sim.clock.set(start + timedelta(hours=29))
    before = len(proxy.asked_ids)
    run("metrics", local_lake, client, users=other.username)
    assert theirs in {i for ids in proxy.asked_ids[before:] for i in ids}, "their post was never deleted"
    assert any(r.get("data", {}).get("id") == invented for r in records(local_lake, "tweet_metrics"))


def test_an_account_suspended_for_a_while_has_its_tweets_refreshed_when_it_returns(
    local_lake: Lake, sim: SimulatorServer, fake_clock: FakeClock, proxy: HostileProxy, paged: Account
) -> None:
    """Suspended between the users run and the metrics run, its tweets answer Not Found: recorded, not
    acted on. The next users run sees the suspension and metrics runs skip the account; when it
    returns, its tweets are refreshed again and none was ever counted deleted."""
    client = hostile_client(proxy, sim, fake_clock)
    Registry(local_lake).add(paged.username)
    run("users", local_lake, client)
    run("tweets", local_lake, client)
    its_tweets = set(tweets_in_lake(local_lake))
    account = next(a for a in sim.world.accounts if str(a.user_id) == str(paged.user_id))
    start = sim.clock.now()

    def metrics_at(hours: float) -> tuple[set[str], Any]:
        sim.clock.set(start + timedelta(hours=hours))
        before = len(proxy.asked_ids)
        summary = run("metrics", local_lake, client)
        return {i for ids in proxy.asked_ids[before:] for i in ids} & its_tweets, summary

    account.status = "suspended"
    asked, summary = metrics_at(2)
    assert asked == its_tweets and summary.extra["newly deleted"] == 0
    assert summary.extra["not found (asked again after a day before counting as deleted)"] == len(its_tweets)

    sim.clock.set(start + timedelta(hours=5))
    run("users", local_lake, client)  # the daily users run sees the suspension
    asked, summary = metrics_at(30)
    assert asked == set() and summary.extra["newly deleted"] == 0
    assert any("@" + paged.username in note for note in summary.notes)

    account.status = "active"
    sim.clock.set(start + timedelta(hours=50))
    run("users", local_lake, client)
    asked, summary = metrics_at(52)
    assert asked == its_tweets and summary.extra["newly deleted"] == 0
    assert summary.extra["refreshed"] == f"{len(its_tweets):,} of {len(its_tweets):,} asked"


@pytest.mark.parametrize(
    ("status", "prefix"),
    [(200, "x-rate-limit"), (200, "x-app-limit-24hour"), (429, "x-rate-limit")],
    ids=["200-remaining-0", "200-daily-app-limit-spent", "429"],
)
def test_a_rate_limit_that_outlasts_the_longest_wait_stops_at_once_whichever_answer_says_it(
    local_lake: Lake,
    sim: SimulatorServer,
    fake_clock: FakeClock,
    proxy: HostileProxy,
    paged: Account,
    status: int,
    prefix: str,
) -> None:
    """One waiting rule: a 200 whose headers say the window is spent for ten hours stops the run
    like a 429 saying the same (exit 5, no wait), instead of waiting 15 minutes before every request."""
    proxy.rules.append(Rule(TIMELINE, spent_window(status, lambda: fake_clock() + 10 * 3600, prefix), times=100))
    with pytest.raises(RateLimitError) as caught:
        run("tweets", local_lake, hostile_client(proxy, sim, fake_clock), users=paged.username)
    assert fake_clock.sleeps == [], "no wait at all: the limit outlasts the longest wait"
    assert proxy.requests.count(f"/2/users/{paged.user_id}/tweets") == 1
    stopped = outcome(caught.value)
    assert stopped is not None and stopped.code == ExitCode.API_KEPT_FAILING
    assert re.search(r"rate limit spent until \S+Z .*longer than the longest wait", stopped.message)
    proxy.rules.clear()
    fake_clock.t += 10 * 3600
    assert outcome(run("tweets", local_lake, hostile_client(proxy, sim, fake_clock), users=paged.username)).code == 0
    assert_exactly_once(local_lake, sim, paged)


# -- answers outside the window asked ----------------------------------------------------------------
def everything_since_2022_once(lake: Lake, sim: SimulatorServer, user_id: str, strays: set[str]) -> None:
    """Every post of the account since 2022 is in the lake exactly once; nothing else but the strays."""
    seen = tweets_in_lake(lake)
    truth = {i for i in sim.world.archive_ids(user_id) if int(i) >= T2022_ID}
    assert not truth - set(seen), f"{len(truth - set(seen))} posts never collected"
    assert set(seen) - truth == strays
    assert max(seen[i] for i in truth) == 1


def test_a_search_answer_with_a_post_newer_than_until_id_never_moves_the_cursor(
    local_lake: Lake, sim: SimulatorServer, fake_clock: FakeClock, proxy: HostileProxy
) -> None:
    """The gap below the timeline's cap is searched with until_id; a post of tomorrow on the first
    search page is kept (real data, counted) but the cursor's newest post stays the real one, so
    the posts published before it are still collected by the next runs."""
    sim.clock.set(ten_thousand_at())
    heavy = sim.world.heavy
    stray = id_from_time(sim.clock.now() + timedelta(days=1))
    proxy.rules.append(Rule(SEARCH, stray_posts(stray)))
    summary = run("tweets", local_lake, hostile_client(proxy, sim, fake_clock), users=heavy.username)
    assert outcome(summary).code == ExitCode.OK and proxy.rules[0].fired == 1
    cursor = CursorStore(local_lake).get(heavy.user_id)
    assert cursor is not None and not cursor.gaps
    assert cursor.newest_id == max(sim.world.archive_ids(heavy.user_id), key=int), "the real newest, not the stray"
    proxy.rules.clear()
    sim.clock.set(sim.clock.now() + timedelta(days=2))  # new posts appear, before and after the stray's time
    assert outcome(run("tweets", local_lake, hostile_client(proxy, sim, fake_clock), users=heavy.username)).code == 0
    everything_since_2022_once(local_lake, sim, heavy.user_id, {str(stray)})
    assert summary.extra["outside_the_window_asked"] == {heavy.username: 1}  # counted, never steering


def test_a_timeline_answer_with_a_post_from_the_future_never_moves_the_cursor(
    local_lake: Lake, sim: SimulatorServer, fake_clock: FakeClock, proxy: HostileProxy, paged: Account
) -> None:
    assert outcome(run("tweets", local_lake, hostile_client(proxy, sim, fake_clock), users=paged.username)).code == 0
    newest = CursorStore(local_lake).get(str(paged.user_id))
    stray = id_from_time(sim.clock.now() + timedelta(days=3))
    older = min(truth_since_2022(sim, str(paged.user_id)), key=int)  # at or older than since_id
    proxy.rules.append(Rule(TIMELINE, stray_posts(stray, int(older))))
    sim.clock.set(sim.clock.now() + timedelta(days=1))
    summary = run("tweets", local_lake, hostile_client(proxy, sim, fake_clock), users=paged.username)
    assert outcome(summary).code == ExitCode.OK and proxy.rules[0].fired == 1
    cursor = CursorStore(local_lake).get(str(paged.user_id))
    assert newest is not None and cursor is not None and cursor.pending is None
    assert cursor.newest_id == max(sim.world.archive_ids(str(paged.user_id)), key=int)
    assert int(cursor.newest_id or 0) >= int(newest.newest_id or 0)
    proxy.rules.clear()
    sim.clock.set(sim.clock.now() + timedelta(days=4))
    assert outcome(run("tweets", local_lake, hostile_client(proxy, sim, fake_clock), users=paged.username)).code == 0
    seen = tweets_in_lake(local_lake)
    truth = set(truth_since_2022(sim, str(paged.user_id)))
    assert not truth - set(seen) and set(seen) - truth == {str(stray)}
    assert summary.extra["outside_the_window_asked"] == {paged.username: 2}  # counted, never steering


@pytest.mark.parametrize("dated", [None, "2023-06-01T12:00:00.000Z"], ids=["dated-by-its-id", "created-at-lies"])
def test_a_search_answer_with_a_post_older_than_the_start_then_failures_loses_nothing(
    local_lake: Lake, sim: SimulatorServer, fake_clock: FakeClock, proxy: HostileProxy, dated: str | None
) -> None:
    """A post from before --since on the first search page, then a search that keeps failing: the
    gap's until_id stays at the oldest post inside the window, and the next runs fill the rest. The
    id is the authority: a 2021 id whose ``created_at`` claims 2023 is still from before --since."""
    sim.clock.set(ten_thousand_at())
    heavy = sim.world.heavy
    before = max((i for i in sim.world.archive_ids(heavy.user_id) if int(i) < T2022_ID), key=int)
    proxy.rules.append(Rule(SEARCH, stray_posts(int(before), dated=dated)))
    proxy.rules.append(Rule(SEARCH, html_502, nth=1, times=100))  # the 2nd search request on: 502s
    summary = run("tweets", local_lake, hostile_client(proxy, sim, fake_clock), users=heavy.username)
    assert outcome(summary).code == ExitCode.ACCOUNTS_FAILED
    cursor = CursorStore(local_lake).get(heavy.user_id)
    assert cursor is not None and len(cursor.gaps) == 1
    assert int(cursor.gaps[0].until_id or 0) > T2022_ID, "the gap still reaches down to --since"
    proxy.rules.clear()
    sim.clock.set(sim.clock.now() + timedelta(days=2))
    assert outcome(run("tweets", local_lake, hostile_client(proxy, sim, fake_clock), users=heavy.username)).code == 0
    everything_since_2022_once(local_lake, sim, heavy.user_id, {before})  # the stray is real: kept
    assert summary.extra["outside_the_window_asked"] == {heavy.username: 1}  # counted, never steering


def test_a_search_answer_with_a_real_post_newer_than_until_id_never_moves_the_cursor(
    local_lake: Lake, sim: SimulatorServer, fake_clock: FakeClock, proxy: HostileProxy
) -> None:
    """The issue's own case, which the clock check cannot catch: while the gap below the cap is
    searched, a day of new posts appears, and the search answer carries the newest of them (newer
    than until_id, older than now). The cursor stays at the newest post the timeline walked, so the
    next run collects every post of that day."""
    sim.clock.set(ten_thousand_at())
    heavy = sim.world.heavy
    walked_newest = max(sim.world.archive_ids(heavy.user_id), key=int)
    newer: list[str] = []

    def a_day_later(exchange: Exchange) -> Reply | None:
        sim.clock.set(sim.clock.now() + timedelta(days=1))
        newer.extend(i for i in sim.world.archive_ids(heavy.user_id) if int(i) > int(walked_newest))
        return stray_posts(int(max(newer, key=int)))(exchange)

    proxy.rules.append(Rule(SEARCH, a_day_later))
    summary = run("tweets", local_lake, hostile_client(proxy, sim, fake_clock), users=heavy.username)
    assert outcome(summary).code == ExitCode.OK and proxy.rules[0].fired == 1
    assert len(newer) >= 2, "posts older than the stray appeared with it"
    cursor = CursorStore(local_lake).get(heavy.user_id)
    assert cursor is not None and cursor.newest_id == walked_newest, "the newest the timeline walked"
    assert summary.extra["outside_the_window_asked"] == {heavy.username: 1}
    proxy.rules.clear()
    sim.clock.set(sim.clock.now() + timedelta(days=2))  # and more new posts
    assert outcome(run("tweets", local_lake, hostile_client(proxy, sim, fake_clock), users=heavy.username)).code == 0
    seen = tweets_in_lake(local_lake)
    truth = {i for i in sim.world.archive_ids(heavy.user_id) if int(i) >= T2022_ID}
    assert not truth - set(seen), f"{len(truth - set(seen))} posts never collected"
    stray = max(newer, key=int)
    assert set(seen) == truth and seen[stray] == 2, "the stray is real: kept, and collected again in its turn"
    assert max(n for i, n in seen.items() if i != stray) == 1


# -- hostile numbers: one line, never a traceback -----------------------------------------------------
ENDLESS = "9" * 400


@pytest.mark.parametrize(
    "spoil",
    [
        overlaid(headers={"x-rate-limit-limit": "900", "x-rate-limit-remaining": "0", "x-rate-limit-reset": ENDLESS}),
        overlaid(headers={"x-rate-limit-reset": ENDLESS}, status=429),
        overlaid(headers={"retry-after": ENDLESS}, status=429),
    ],
    ids=["200-reset-of-400-digits", "429-reset-of-400-digits", "429-retry-after-of-400-digits"],
)
def test_a_rate_limit_of_400_digits_stops_the_run_with_one_line(
    local_lake: Lake, sim: SimulatorServer, fake_clock: FakeClock, proxy: HostileProxy, paged: Account, spoil: Any
) -> None:
    proxy.rules.append(Rule(TIMELINE, spoil, times=100))
    with pytest.raises(RateLimitError) as caught:
        run("tweets", local_lake, hostile_client(proxy, sim, fake_clock), users=paged.username)
    stopped = outcome(caught.value)
    assert stopped is not None and stopped.code == ExitCode.API_KEPT_FAILING
    assert "longer than the longest wait" in stopped.message and fake_clock.sleeps == []


def test_a_tweet_count_of_infinity_is_taken_as_no_count(
    local_lake: Lake, sim: SimulatorServer, fake_clock: FakeClock, proxy: HostileProxy, paged: Account
) -> None:
    def infinite(doc: dict[str, Any]) -> None:
        for user in doc.get("includes", {}).get("users", []):
            user.setdefault("public_metrics", {})["tweet_count"] = float("inf")  # "Infinity" on the wire

    proxy.rules.append(Rule(TIMELINE, overlaid(infinite), times=100))
    summary = run("tweets", local_lake, hostile_client(proxy, sim, fake_clock), users=paged.username)
    assert outcome(summary).code == ExitCode.OK and proxy.rules[0].fired >= 1
    assert_exactly_once(local_lake, sim, paged)


def test_a_usage_answer_of_infinity_cannot_be_compared_and_says_so(
    local_lake: Lake,
    sim: SimulatorServer,
    fake_clock: FakeClock,
    proxy: HostileProxy,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    def infinite(doc: dict[str, Any]) -> None:
        doc.setdefault("data", {})["project_usage"] = float("inf")
        for day in doc["data"].get("daily_project_usage", {}).get("usage", []):
            day["usage"] = float("inf")

    proxy.rules.append(Rule(r"^/2/usage/tweets$", overlaid(infinite), times=10))
    monkeypatch.setattr(XClient, "from_env", classmethod(lambda cls, **_: hostile_client(proxy, sim, fake_clock)))
    assert tweetlake(["usage", "--api", "--lake", local_lake.uri]) == 0
    assert proxy.rules[0].fired == 1
    out = capsys.readouterr().out
    assert "cannot compare with the ledger" in out and "'usage': inf" in out


@pytest.mark.parametrize("times", [1, 100], ids=["once", "persistently"])
def test_a_users_lookup_item_without_a_username_is_a_malformed_answer(
    local_lake: Lake, sim: SimulatorServer, fake_clock: FakeClock, proxy: HostileProxy, paged: Account, times: int
) -> None:
    def nameless(doc: dict[str, Any]) -> None:
        for user in doc.get("data", []):
            user.pop("username", None)

    proxy.rules.append(Rule(r"^/2/users/by$", overlaid(nameless), times=times))
    client = hostile_client(proxy, sim, fake_clock)
    if times == 1:
        summary = run("users", local_lake, client, users=paged.username)
        assert outcome(summary).code == ExitCode.OK and summary.retries == 1
        assert [r["data"]["username"] for r in records(local_lake, "users")] == [paged.username]
        return
    with pytest.raises(RetriableAPIError) as caught:
        run("users", local_lake, client, users=paged.username)
    stopped = outcome(caught.value)
    assert stopped is not None and stopped.code == ExitCode.API_KEPT_FAILING
    assert "a user in its data has no id or no username" in stopped.message


def test_a_post_with_a_malformed_id_is_kept_and_stops_neither_the_tweets_nor_the_metrics_run(
    local_lake: Lake, sim: SimulatorServer, fake_clock: FakeClock, proxy: HostileProxy, paged: Account
) -> None:
    """A malformed id in an API answer is no usage error (exit 2): the post is outside the window
    asked, stays in the lake, and the tweet index built from the lake passes it by."""

    def malformed(doc: dict[str, Any]) -> None:
        bad = {"id": "12x", "edit_history_tweet_ids": ["y"], "created_at": "soon", "author_id": "me"}
        doc["data"] = [{**doc["data"][0], **bad}, *doc["data"]]

    proxy.rules.append(Rule(TIMELINE, overlaid(malformed)))
    client = hostile_client(proxy, sim, fake_clock)
    summary = run("tweets", local_lake, client, users=paged.username)
    assert outcome(summary).code == ExitCode.OK and proxy.rules[0].fired == 1
    assert summary.extra["outside_the_window_asked"] == {paged.username: 1}
    known = len(tweets_in_lake(local_lake)) - 1
    metrics = run("metrics", local_lake, client, users=paged.username)
    assert outcome(metrics).code == ExitCode.OK
    assert metrics.extra["refreshed"] == f"{known:,} of {known:,} asked"
