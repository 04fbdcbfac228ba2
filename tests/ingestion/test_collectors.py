"""The three collectors end to end: simulator → client → lake (a folder, and S3 on moto)."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from common.lake import Lake
from common.layout import parse_raw_key, raw_prefix
from common.rawio import iter_raw_records
from ingestion.client import XClient
from ingestion.cursors import CURSORS_KEY
from ingestion.errors import UnauthorizedError
from ingestion.registry import Account, Registry
from ingestion.run import run
from ingestion.state import RunLock, read_json
from tests.support import SIM_START, FakeClock, make_client
from xsim import SimulatorServer

T2022_ID = 1477067041797046272
TIMELINE = "GET /2/users/:id/tweets"


def records(lake: Lake, dataset: str) -> list[dict[str, Any]]:
    return [r for obj in lake.list(raw_prefix(dataset)) for r in iter_raw_records(lake, obj.key)]


def tweet_ids(lake: Lake) -> list[str]:
    return [r["data"]["id"] for r in records(lake, "tweets") if "data" in r]


def truth_since_2022(sim: SimulatorServer, user_id: str) -> list[str]:
    return [i for i in sim.world.timeline_ids(user_id) if int(i) >= T2022_ID]


def track_all(lake: Lake, sim: SimulatorServer) -> list[str]:
    registry = Registry(lake)
    for account in sim.world.accounts:
        registry.add(account.username)
    return [a.username for a in sim.world.accounts]


# -- users ----------------------------------------------------------------------------------------
def test_users_collects_profiles_and_names_unavailable_accounts(
    any_lake: Lake, sim: SimulatorServer, client: XClient
) -> None:
    track_all(any_lake, sim)
    Registry(any_lake).add("nobody_at_all_1")
    summary = run("users", any_lake, client)
    found = {r["data"]["id"] for r in records(any_lake, "users") if "data" in r}
    expected = {a.user_id for a in sim.world.accounts if a.status != "suspended"}
    assert found == expected
    errors = [r["error"] for r in records(any_lake, "users") if "error" in r]
    expected_errors = sorted(["nobody_at_all_1", sim.world.suspended.username.lower()])
    assert sorted(e["value"].lower() for e in errors) == expected_errors
    assert summary.unavailable == {
        sim.world.suspended.username: "suspended",
        "nobody_at_all_1": "not_found",
        sim.world.protected.username: "protected",
    }
    assert sim.stats.counts() == {"GET /2/users/by": math.ceil((len(sim.world.accounts) + 1) / 100)}
    # the registry learned the ids and the statuses
    accounts = {a.username: a for a in Registry(any_lake).list()}
    assert accounts[sim.world.accounts[5].username].user_id == sim.world.accounts[5].user_id
    assert accounts[sim.world.suspended.username].status == "suspended"
    assert accounts[sim.world.protected.username].status == "protected"
    # ... and the day of the profile file it published, for each account it holds (the REST API
    # reads this from state/; its Lambda role may not read raw/)
    snapshot_days = {name: a.last_snapshot_day for name, a in accounts.items()}
    holding = {r["data"]["username"] for r in records(any_lake, "users") if "data" in r}
    assert snapshot_days == {name: ("2026-11-22" if name in holding else None) for name in accounts}
    # the lake contract: one object a line with collected_at (simulated time), run_id, source
    line = records(any_lake, "users")[0]
    assert set(line) == {"collected_at", "run_id", "source", "data"}
    assert line["collected_at"] == "2026-11-22T12:00:00Z"
    assert all(parse_raw_key(o.key)["dt"] == "2026-11-22" for o in any_lake.list("raw/users/"))


def test_users_finds_a_renamed_account_by_id(local_lake: Lake, sim: SimulatorServer, client: XClient) -> None:
    renamed = sim.world.renamed
    old_name = renamed.username_at(sim.clock.now())
    Registry(local_lake).add(old_name)
    run("users", local_lake, client)  # resolves the id under the old name
    sim.clock.set(sim.world.rename_at)
    sim.clock.advance(seconds=3600)
    summary = run("users", local_lake, client)
    new_name = renamed.username_at(sim.clock.now())
    assert new_name != old_name
    assert [a.username for a in Registry(local_lake).list()] == [new_name]
    assert Registry(local_lake).list()[0].previous_usernames == [old_name]
    assert any(new_name in note for note in summary.notes)
    assert sim.stats.counts()["GET /2/users"] == 1


# -- tweets ---------------------------------------------------------------------------------------
def test_tweets_backfill_gets_every_reachable_tweet_with_minimal_requests(
    any_lake: Lake, sim: SimulatorServer, client: XClient
) -> None:
    track_all(any_lake, sim)
    run("users", any_lake, client)  # resolves ids once
    sim.stats.reset()
    summary = run("tweets", any_lake, client, backfill="off")  # the timeline alone (tests/ingestion/test_backfill.py)
    ids = tweet_ids(any_lake)
    assert len(ids) == len(set(ids)), "no tweet twice"
    pages_expected = 0
    for account in sim.world.accounts:
        if account.status != "active":
            continue
        truth = truth_since_2022(sim, account.user_id)
        got = [
            r["data"]["id"]
            for r in records(any_lake, "tweets")
            if "data" in r and r["data"]["author_id"] == account.user_id
        ]
        assert sorted(got, key=int) == sorted(truth, key=int), account.username
        pages_expected += max(1, math.ceil(len(truth) / 100))
    active = sum(1 for a in sim.world.accounts if a.status == "active")
    timeline_requests = sim.stats.counts()[TIMELINE]
    # at most one empty last page per account when the API sends a next_token before it,
    # plus one request each for the suspended and the protected account
    assert pages_expected + 2 <= timeline_requests <= pages_expected + 2 + active
    assert summary.unavailable == {sim.world.suspended.username: "suspended", sim.world.protected.username: "protected"}

    # accounts with more tweets since 2022 than the timeline's 3,200 reach are named, with how many
    # tweets are out of reach (the profile's tweet_count − 3,200)
    def since_2022(ids: list[str]) -> list[str]:
        return [i for i in ids if int(i) >= T2022_ID]

    capped_truth = {
        a.username
        for a in sim.world.accounts
        if a.status == "active"
        and len(since_2022(sim.world.visible_ids(a.user_id))) > len(truth_since_2022(sim, a.user_id))
    }
    capped = summary.extra["capped_accounts"]
    assert sim.world.heavy.username in capped_truth
    assert set(capped) == capped_truth
    for account in sim.world.accounts:
        if account.username in capped:
            assert capped[account.username] == sim.world.tweet_count(account.user_id) - 3200
    # tweet_count came with the timeline pages (includes.users): no profile lookup per capped account
    assert "GET /2/users/:id" not in sim.stats.counts()


@pytest.mark.parametrize(("exclude", "cap"), [("retweets", 3200), ("replies", 800), ("retweets,replies", 800)])
def test_cap_is_found_from_positions_also_with_exclude(
    local_lake: Lake, sim: SimulatorServer, client: XClient, exclude: str, cap: int
) -> None:
    """The API windows before it filters: an account whose filtered timeline holds fewer tweets than
    the cap has still met it, and is reported."""
    heavy = sim.world.heavy
    summary = run("tweets", local_lake, client, users=heavy.username, exclude=exclude, backfill="off")
    reachable = sim.world.timeline_ids(heavy.user_id, exclude=tuple(exclude.split(",")))
    assert len(tweet_ids(local_lake)) == len(reachable) < cap * 0.97, "fewer tweets than the cap came back"
    assert summary.extra["capped_accounts"] == {heavy.username: sim.world.tweet_count(heavy.user_id) - cap}
    assert "GET /2/users/:id" not in sim.stats.counts()


def test_an_incremental_pass_over_the_cap_reports_the_new_tweets_it_lost(
    local_lake: Lake, sim: SimulatorServer, client: XClient
) -> None:
    """More than 3,200 posts since the cursor: the API serves the newest 3,200, and what is lost is
    the new posts beyond them, not the profile's whole tweet_count beyond them."""
    heavy = sim.world.heavy
    then = "2024-01-01T00:00:00Z"
    sim.clock.set(then)
    run("tweets", local_lake, client, users=heavy.username, backfill="off")
    assert read_json(local_lake, CURSORS_KEY)["accounts"][heavy.user_id]["tweet_count"] == sim.world.tweet_count(
        heavy.user_id, then
    )
    sim.clock.set(SIM_START)
    summary = run("tweets", local_lake, client, users=heavy.username, backfill="off")
    new = sim.world.tweet_count(heavy.user_id) - sim.world.tweet_count(heavy.user_id, then)
    assert new > 3200
    assert summary.extra["capped_accounts"] == {heavy.username: new - 3200}
    assert any(f"{new:,} posts since the last run" in note for note in summary.notes)


def test_cap_report_looks_the_profile_up_when_pages_carry_no_includes(
    local_lake: Lake, sim: SimulatorServer, client: XClient
) -> None:
    from ingestion.collectors.tweets import TweetsCollector

    heavy = sim.world.heavy
    collector = TweetsCollector(local_lake, client, backfill="off")
    collector.profile_params = {}  # as a server that ignores expansions answers
    summary = collector.run([Account(heavy.username, heavy.user_id)])
    assert summary.extra["capped_accounts"] == {heavy.username: sim.world.tweet_count(heavy.user_id) - 3200}
    assert sim.stats.counts()["GET /2/users/:id"] == 1


def test_second_run_fetches_only_new_tweets(local_lake: Lake, sim: SimulatorServer, client: XClient) -> None:
    track_all(local_lake, sim)
    run("users", local_lake, client)
    run("tweets", local_lake, client)
    before = set(tweet_ids(local_lake))
    sim.clock.advance(seconds=4 * 3600)
    sim.stats.reset()
    run("tweets", local_lake, client)
    after = tweet_ids(local_lake)
    assert len(after) == len(set(after))
    new = set(after) - before
    expected_new: set[str] = set()
    for account in sim.world.accounts:
        if account.status == "active":
            expected_new |= set(truth_since_2022(sim, account.user_id)) - before
    assert new == expected_new
    assert new, "four simulated hours bring new tweets"
    active = [a for a in sim.world.accounts if a.status == "active"]
    # one page per account is enough for four hours of tweets (plus the two unavailable accounts)
    assert sim.stats.counts()[TIMELINE] <= len(active) + 2 + len(active)


def test_exclude_retweets_and_replies(local_lake: Lake, sim: SimulatorServer, client: XClient) -> None:
    account = sim.world.accounts[5]
    run("tweets", local_lake, client, users=account.username, exclude="retweets,replies")
    got = tweet_ids(local_lake)
    # the timeline's 800 positions, then full-archive search with -is:retweet -is:reply for the rest
    truth = [i for i in sim.world.archive_ids(account.user_id, exclude=("retweets", "replies")) if int(i) >= T2022_ID]
    assert len(truth) > len(sim.world.timeline_ids(account.user_id, exclude=("retweets", "replies")))
    assert sorted(got) == sorted(truth)
    kinds = Counter(
        ref["type"]
        for r in records(local_lake, "tweets")
        if "data" in r
        for ref in r["data"].get("referenced_tweets", [])
    )
    assert kinds["retweeted"] == 0
    assert kinds["replied_to"] == 0


def test_a_run_that_wants_what_earlier_runs_excluded_fetches_it(
    local_lake: Lake, sim: SimulatorServer, client: XClient
) -> None:
    account = sim.world.accounts[5]
    run("tweets", local_lake, client, users=account.username, exclude="replies")
    without_replies = set(tweet_ids(local_lake))
    run("tweets", local_lake, client, users=account.username, exclude="replies,retweets")  # narrower: continues
    assert set(tweet_ids(local_lake)) == without_replies
    summary = run("tweets", local_lake, client, users=account.username)  # wants replies and retweets again
    truth = {i for i in sim.world.archive_ids(account.user_id) if int(i) >= T2022_ID}  # timeline, then search
    assert without_replies < truth, "the account has replies"
    assert set(tweet_ids(local_lake)) == truth
    assert any(
        "excluded replies,retweets; fetching its timeline down to --since again" in note for note in summary.notes
    ), summary.notes
    summary = run("tweets", local_lake, client, users=account.username)  # the cursor now covers everything
    assert summary.records == 0 and not any("excluded" in note for note in summary.notes)


def test_an_exclusion_begun_later_is_made_up_from_where_it_began(
    local_lake: Lake, sim: SimulatorServer, client: XClient
) -> None:
    account = next(
        a
        for a in sim.world.accounts  # a busy one whose timeline stays under the 3,200 cap
        if a.status == "active" and 200 < len(truth_since_2022(sim, a.user_id)) < 2000
    )
    run("tweets", local_lake, client, users=account.username)  # the backfill: everything
    began = read_json(local_lake, CURSORS_KEY)["accounts"][account.user_id]["newest_id"]
    sim.clock.advance(seconds=60 * 86400)
    run("tweets", local_lake, client, users=account.username, exclude="replies")
    assert set(truth_since_2022(sim, account.user_id)) - set(tweet_ids(local_lake)), "replies were left out"
    sim.clock.advance(seconds=60 * 86400)
    sim.stats.reset()
    summary = run("tweets", local_lake, client, users=account.username)
    truth = {i for i in sim.world.timeline_ids(account.user_id) if int(i) >= T2022_ID}
    assert set(tweet_ids(local_lake)) == truth
    assert any(f"down to tweet {began} again" in note for note in summary.notes), summary.notes
    since_began = [i for i in truth if int(i) > int(began)]
    assert 0 < summary.records == len(since_began) < len(truth)  # not the whole timeline again
    assert sim.stats.counts()[TIMELINE] <= len(since_began) // 100 + 2


class FailingLake:
    """Wraps a lake so that its n-th file upload fails: a crash while writing a part."""

    def __init__(self, lake: Lake, fail_on_put: int) -> None:
        self._lake = lake
        self._puts = 0
        self._fail_on = fail_on_put

    def put_file(self, key: str, path: Any) -> None:
        self._puts += 1
        if self._puts == self._fail_on:
            raise OSError("disk full (injected)")
        self._lake.put_file(key, path)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._lake, name)


def test_crash_between_pages_leaves_no_gap_and_no_duplicate(
    local_lake: Lake, sim: SimulatorServer, client: XClient
) -> None:
    from ingestion.collectors.tweets import TweetsCollector

    heavy = sim.world.heavy
    accounts = Registry(local_lake)
    accounts.add(heavy.username)
    run("users", local_lake, client)
    # parts of 200 records (two pages): the third part (pages 5-6) fails to upload mid-backfill
    crashing = TweetsCollector(
        FailingLake(local_lake, 3),
        client,
        max_records_per_file=200,  # type: ignore[arg-type]
        backfill="off",
    )
    with pytest.raises(OSError, match="injected"):
        crashing.run(accounts.list())
    written = tweet_ids(local_lake)
    assert len(written) == 400
    state = read_json(local_lake, CURSORS_KEY)
    assert state["accounts"][heavy.user_id]["pending"]["until_id"] == min(written, key=int)
    assert not local_lake.exists(state["intent"]["part"]), "the intent names the part that failed"
    sim.stats.reset()
    summary = run("tweets", local_lake, client, backfill="off")
    assert any("dropped the cursors of the unpublished part" in note for note in summary.notes)
    ids = tweet_ids(local_lake)
    assert len(ids) == len(set(ids)), "the rerun fetched nothing that was already in the lake"
    assert sorted(ids, key=int) == sorted(truth_since_2022(sim, heavy.user_id), key=int), "no gap"
    state = read_json(local_lake, CURSORS_KEY)
    assert "intent" not in state
    cursor = state["accounts"][heavy.user_id]
    assert cursor["pending"] is None
    assert cursor["newest_id"] == max(ids, key=int)


def test_fatal_error_mid_run_keeps_what_was_fetched(
    local_lake: Lake, sim: SimulatorServer, fake_clock: FakeClock
) -> None:
    client = make_client(sim, fake_clock)
    track_all(local_lake, sim)
    run("users", local_lake, client)
    sim.faults.fail_next(n=1, status=401)  # the token is revoked half-way
    accounts = Registry(local_lake).list()
    from ingestion.collectors.tweets import TweetsCollector

    collector = TweetsCollector(local_lake, client)
    with pytest.raises(UnauthorizedError):
        collector.run(accounts)
    assert tweet_ids(local_lake) == [], "the first request failed: nothing to keep"
    sim.faults.fail_next(n=0, status=401)
    run("tweets", local_lake, client)
    assert tweet_ids(local_lake)


# -- metrics --------------------------------------------------------------------------------------
def test_metrics_refreshes_every_known_tweet_in_batches_of_100(
    any_lake: Lake, sim: SimulatorServer, client: XClient
) -> None:
    track_all(any_lake, sim)
    run("users", any_lake, client)
    run("tweets", any_lake, client)
    known = set(tweet_ids(any_lake))
    sim.clock.advance(seconds=2 * 3600)
    sim.stats.reset()
    summary = run("metrics", any_lake, client)
    asked = records(any_lake, "tweet_metrics")
    answered = {r["data"]["id"] for r in asked if "data" in r}
    deleted = {r["error"]["resource_id"] for r in asked if "error" in r}
    assert answered | deleted == known, "every known tweet asked for exactly once"
    assert sim.stats.counts() == {"GET /2/tweets": math.ceil(len(known) / 100)}
    for tweet_id in deleted:
        assert sim.world.tweet_status(tweet_id) == "not_found"
    assert summary.records == len(answered)
    # metrics grow with time and match the world's
    sample = next(r["data"] for r in asked if "data" in r)
    assert sample["public_metrics"]["like_count"] == sim.world.metrics(sample["id"])["like_count"]
    # a second run asks for them all again: one "Not Found" is recorded, not acted on
    # (tests/ingestion/test_hostile_server.py follows a deletion to its confirmation a day later)
    assert summary.extra["newly deleted"] == 0
    sim.stats.reset()
    run("metrics", any_lake, client)
    assert sim.stats.counts()["GET /2/tweets"] == math.ceil(len(known) / 100)


def test_metrics_skip_accounts_the_users_run_saw_protected(
    local_lake: Lake, sim: SimulatorServer, client: XClient
) -> None:
    public, turned = sim.world.accounts[5], sim.world.accounts[6]
    for account in (public, turned):
        Registry(local_lake).add(account.username)
    run("users", local_lake, client)
    run("tweets", local_lake, client)
    by_author = Counter(r["data"]["author_id"] for r in records(local_lake, "tweets") if "data" in r)
    assert by_author[public.user_id] and by_author[turned.user_id]
    Registry(local_lake).record_lookups({}, {turned.username: "protected"}, {})  # as a users run would
    sim.stats.reset()
    summary = run("metrics", local_lake, client)
    asked = {r["data"]["author_id"] for r in records(local_lake, "tweet_metrics") if "data" in r}
    assert asked == {public.user_id}
    assert sim.stats.counts() == {"GET /2/tweets": math.ceil(by_author[public.user_id] / 100)}
    assert any(f"@{turned.username}" in note for note in summary.notes)


def test_metrics_max_age_limits_the_refresh(local_lake: Lake, sim: SimulatorServer, client: XClient) -> None:
    account = sim.world.accounts[5]
    run("tweets", local_lake, client, users=account.username)
    sim.stats.reset()
    summary = run("metrics", local_lake, client, users=account.username, max_age_days=30)
    cutoff = sim.clock.now().timestamp() - 30 * 86400
    recent = [r for r in records(local_lake, "tweets") if "data" in r]
    from common.layout import parse_time

    expected = {r["data"]["id"] for r in recent if parse_time(r["data"]["created_at"]).timestamp() >= cutoff}
    assert summary.extra["refreshed"] == f"{len(expected):,} of {len(expected):,} asked"
    assert 0 < len(expected) < len(recent)


def test_metrics_follow_an_edit_to_the_newest_version(local_lake: Lake, sim: SimulatorServer, client: XClient) -> None:
    """A tweet collected before its edit: metrics ask for the old id once, learn the newer version
    from its edit history, and from then on ask for the newest version only."""
    now_ms = sim.clock.now().timestamp() * 1000
    found = None
    for account in sim.world.accounts:
        if account.status != "active":
            continue
        for chain in sim.world.edited_tweets(account.user_id):
            if ((int(chain[0]) >> 22) + 1288834974657) > now_ms:
                found = (account, chain)
                break
        if found:
            break
    assert found, "the seeded world must hold an edit after its start"
    account, chain = found
    created_ms = (int(chain[0]) >> 22) + 1288834974657
    edited_ms = (int(chain[-1]) >> 22) + 1288834974657
    sim.clock.set(datetime.fromtimestamp(created_ms / 1000 + 1, UTC))
    assert edited_ms > created_ms + 1000
    run("tweets", local_lake, client, users=account.username)
    assert chain[0] in tweet_ids(local_lake) and chain[-1] not in tweet_ids(local_lake)
    sim.clock.set(datetime.fromtimestamp(edited_ms / 1000 + 1, UTC))
    run("metrics", local_lake, client, users=account.username)
    first = [r["data"] for r in records(local_lake, "tweet_metrics") if "data" in r]
    assert chain[0] in {t["id"] for t in first}
    assert chain[-1] not in {t["id"] for t in first}
    sim.clock.advance(seconds=7200)
    run("metrics", local_lake, client, users=account.username)
    later = [r["data"]["id"] for r in records(local_lake, "tweet_metrics") if "data" in r]
    asked_second = later[len(first) :]
    assert chain[-1] in asked_second
    assert chain[0] not in asked_second


def test_users_batches_of_100(local_lake: Lake, sim: SimulatorServer, client: XClient) -> None:
    names = [a.username for a in sim.world.accounts] + [f"ghost_{i:03d}" for i in range(150)]
    summary = run("users", local_lake, client, users=",".join(names))
    assert sim.stats.counts() == {"GET /2/users/by": math.ceil(len(names) / 100)}
    assert summary.partial_errors == 150 + 1  # the ghosts and the suspended account
    assert len([n for n, why in summary.unavailable.items() if why == "not_found"]) == 150


# -- --users runs: the minimum of requests, ids learned once ------------------------------------
def test_shell_flow_with_users_costs_exactly_the_minimum(
    local_lake: Lake, sim: SimulatorServer, client: XClient
) -> None:
    """`ingest users` → `ingest tweets` → `ingest metrics`, all with --users: users ⌈N/100⌉;
    tweets Σ max(1, ⌈tᵢ/100⌉) plus the one empty page a full last page's next_token leads to, and
    ⌈unreachedᵢ/500⌉ search pages for an account over the timeline's cap; metrics ⌈T/100⌉. The ids
    the users run saw are cached: no other run looks a name up again."""
    active = [a for a in sim.world.accounts if a.status == "active"]
    chosen = [sim.world.heavy, sim.world.quiet, *[a for a in active if a.role is None][:2]]
    users = ",".join(a.username for a in chosen)
    sim.stats.reset()
    run("users", local_lake, client, users=users)
    assert sim.stats.counts() == {"GET /2/users/by": math.ceil(len(chosen) / 100)}

    sim.stats.reset()
    run("tweets", local_lake, client, users=users)
    reachable = [len(truth_since_2022(sim, a.user_id)) for a in chosen]
    pages = sum(max(1, math.ceil(t / 100)) + (1 if t and t % 100 == 0 else 0) for t in reachable)
    # what the timeline's 3,200 cannot reach comes from full-archive search, 500 a page
    everything = [[i for i in sim.world.archive_ids(a.user_id) if int(i) >= T2022_ID] for a in chosen]
    searches = sum(
        max(1, math.ceil((len(e) - t) / 500)) for e, t in zip(everything, reachable, strict=True) if t == 3200
    )
    assert searches >= 15, "the heavy account alone needs that many"
    assert sim.stats.counts() == {TIMELINE: pages, "GET /2/tweets/search/all": searches}
    assert sorted(tweet_ids(local_lake), key=int) == sorted((i for e in everything for i in e), key=int)

    sim.stats.reset()
    run("metrics", local_lake, client, users=users)
    assert sim.stats.counts() == {"GET /2/tweets": math.ceil(sum(len(e) for e in everything) / 100)}


def test_users_names_are_deduplicated_case_insensitively(
    local_lake: Lake, sim: SimulatorServer, client: XClient
) -> None:
    name = sim.world.accounts[5].username
    summary = run("users", local_lake, client, users=f"{name.upper()},{name.lower()},{name}")
    assert summary.records == 1
    assert summary.extra["accounts"] == "1 found of 1"


def test_tweets_run_resolves_only_unknown_names_and_keeps_lookup_errors(
    local_lake: Lake, sim: SimulatorServer, client: XClient
) -> None:
    known, ghost = sim.world.accounts[5], "nobody_here_x1"
    run("tweets", local_lake, client, users=f"{known.username},{ghost}")
    assert sim.stats.counts()["GET /2/users/by"] == 1
    sim.stats.reset()
    summary = run("tweets", local_lake, client, users=f"{known.username},{ghost}")
    # the known name's id is cached; only the name never found is asked for again
    assert sim.stats.counts()["GET /2/users/by"] == 1
    assert summary.unavailable == {ghost: "not_found"}
    assert summary.partial_errors == 1
    errors = [r for r in records(local_lake, "tweets") if "error" in r]
    assert [(r["source"], r["error"]["value"]) for r in errors] == [("GET /2/users/by", ghost)] * 2
    assert {r["data"]["author_id"] for r in records(local_lake, "tweets") if "data" in r} == {known.user_id}


def test_a_rate_limit_wait_inside_a_run_renews_its_lock(
    local_lake: Lake, sim: SimulatorServer, client: XClient, fake_clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command hands its lock's heartbeat to the client for the run, and takes it back after."""
    beats: list[float] = []
    monkeypatch.setattr(RunLock, "heartbeat", lambda self: beats.append(fake_clock()))
    before = client.heartbeat
    sim.faults.rate_limit_next(1)  # the window resets 15 minutes on
    run("users", local_lake, client, users=sim.world.accounts[5].username)
    assert len(beats) >= 900 // 60, "renewed through the whole wait, slice by slice"
    assert client.heartbeat is before


@pytest.mark.parametrize(
    "body",
    [b'{"version": 1, "accounts": {"1": {"newest_', b"[]", b'{"accounts": {"1": {"pending": {"lower": 5}}}}'],
    ids=["truncated", "a-list", "a-pending-of-another-shape"],
)
def test_a_cursors_document_that_cannot_be_read_stops_the_run_naming_it_and_how_to_recover(
    local_lake: Lake, sim: SimulatorServer, client: XClient, body: bytes
) -> None:
    from ingestion.cursors import CURSORS_KEY
    from ingestion.errors import StateCorrupt
    from ingestion.run import ExitCode, outcome, run

    local_lake.put_bytes(CURSORS_KEY, body)
    with pytest.raises(StateCorrupt) as caught:
        run("tweets", local_lake, client, users=sim.world.accounts[5].username)
    stopped = outcome(caught.value)
    assert stopped is not None and stopped.code == ExitCode.USAGE
    assert f"{CURSORS_KEY} cannot be read" in stopped.message and "restore it, or delete it" in stopped.message
    assert "\n" not in stopped.message
    assert local_lake.get_bytes(CURSORS_KEY) == body, "left as it was, for the operator"
