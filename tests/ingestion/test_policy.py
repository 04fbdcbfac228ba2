"""The refresh policy and the budget: which known tweets a metrics run asks for, and the tweet index
that remembers each tweet's last refresh (compact, and migrated from the old format on read)."""

from __future__ import annotations

import gzip
import json
import math
import random
import tracemalloc
from datetime import date, timedelta

import pytest

from common.lake import Lake
from ingestion.client import XClient
from ingestion.policy import DEFAULT_POLICY, EVERY_RUN, Policy, PolicyError, choose
from ingestion.registry import Registry
from ingestion.run import run
from ingestion.tweet_index import INDEX_KEY, LEGACY_INDEX_KEY, TweetIndex
from ingestion.usage import month_to_date
from tests.ingestion.test_collectors import records
from tests.ingestion.test_usage import SINCE, ids_in, small_accounts
from tweetlake.cli import main as tweetlake
from xsim import SimulatorServer

H, D = 3600, 86400


# -- parsing -----------------------------------------------------------------------------------------
def test_the_default_policy_reads_back_as_written() -> None:
    policy = Policy.parse(DEFAULT_POLICY)
    assert str(policy) == DEFAULT_POLICY
    assert [policy.interval(a) for a in (0, 2 * D - 1, 2 * D, 7 * D, 30 * D - 1, 30 * D, 900 * D)] == [
        2 * H,
        2 * H,
        D,
        7 * D,
        7 * D,
        None,
        None,
    ]
    assert policy.max_age == 30 * D  # an old post is never bought again by default
    assert Policy.parse("all") == EVERY_RUN and str(EVERY_RUN) == "all"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("0-2d", "AGE_RANGE:INTERVAL"),
        ("0-2d:2x", "not a duration"),
        ("1d-2d:2h", "starts at 1d, but the tiers before it end at 0"),
        ("0-2d:2h,3d-7d:1d", "starts at 3d, but the tiers before it end at 2d"),
        ("0-2d:2h,1d-7d:1d", "starts at 1d"),
        ("0-2d:2h,2d+:1d,7d-9d:1d", "open tier"),
        ("0-2d:2h,7d-2d:1d", "ends before it starts"),
        ("0:2h", "FROM-TO"),
        ("0-" + "9" * 400 + "d:2h", "longer than 36,500 days"),
        ("0-2d:" + "9" * 400 + "w", "longer than 36,500 days"),
    ],
)
def test_a_bad_policy_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        Policy.parse(text)


def test_a_bad_policy_on_the_command_line_is_one_line_and_exit_2(
    local_lake: Lake, capsys: pytest.CaptureFixture[str]
) -> None:
    Registry(local_lake).add("someone")
    code = tweetlake(["ingest", "metrics", "--lake", local_lake.uri, "--policy", "0-2d:2h,3d+:1d", "--no-progress"])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2 and len(err) == 1 and "starts at 3d" in err[0]


def test_max_age_days_is_a_tier_that_ends() -> None:
    policy = Policy.parse("0-2d:2h,2d-7d:12h,7d-30d:1d,30d+:7d").ending_at(10)
    assert str(policy) == "0-2d:2h,2d-7d:12h,7d-10d:1d"
    assert policy.interval(10 * D) is None and not policy.due(11 * D, None)
    assert str(EVERY_RUN.ending_at(30)) == "0-30d:0"


def test_due_when_the_last_refresh_is_older_than_the_tier_allows_with_a_little_grace() -> None:
    policy = Policy.parse("0-2d:2h,2d-7d:12h,7d-30d:1d,30d+:7d")
    assert policy.due(H, None)  # never refreshed
    assert not policy.due(H, H)  # refreshed an hour ago, 2 h tier
    assert policy.due(3 * H, 2 * H - 5)  # a 2-hourly run that starts 5 s early still finds it due
    assert not policy.due(3 * D, 6 * H)  # 12 h tier
    assert policy.due(3 * D, 12 * H)
    assert not policy.due(400 * D, 6 * D)  # weekly
    assert policy.due(400 * D, 7 * D)


def test_the_budget_takes_the_youngest_and_counts_todays_reads_as_free() -> None:
    due = [50, 40, 30, 20, 10]  # youngest first
    read_today = {40, 10}.__contains__
    choice = choose(due, 2, read_today)
    assert choice.ids == [50, 40, 30, 10] and choice.waited == 1 and choice.post_reads == 2
    assert choose(due, None, read_today).ids == due


# -- the index -----------------------------------------------------------------------------------------
def tweet(i: int, author: int = 1, created: str = "2026-11-01T00:00:00Z") -> dict[str, str]:
    return {"id": str(i), "author_id": str(author), "created_at": created}


def test_the_index_keeps_last_refresh_and_the_rare_fields_through_a_save(any_lake: Lake) -> None:
    index = TweetIndex()
    for i in (300, 100, 200):
        index.add_tweet(tweet(i))
    index.add_tweet({**tweet(400), "edit_history_tweet_ids": ["150", "400"]})
    index.add_tweet(tweet(150))
    index.note_versions([150, 400])
    index.note_refreshed(100, 1_700_000_000)
    index.mark_not_found(200, 1_700_000_100)
    index.mark_deleted(300)
    index.save(any_lake)
    loaded = TweetIndex.load(any_lake)
    assert [e.tweet_id for e in loaded.entries()] == [100, 150, 200, 300, 400]
    assert loaded.get(100).refreshed_epoch == 1_700_000_000  # type: ignore[union-attr]
    assert loaded.get(200).not_found_since == 1_700_000_100  # type: ignore[union-attr]
    assert loaded.get(300).deleted and loaded.latest_of(150) == 400  # type: ignore[union-attr]
    # a tweet learned after loading that is older than the newest: merged in id order
    loaded.add_tweet(tweet(250))
    now = int(1_762_000_000 + 30 * D)
    assert loaded.due(now, EVERY_RUN) == [400, 250, 200, 100]  # youngest first: same age, higher id
    assert TweetIndex.author_counts(any_lake) == {"1": 4}


def test_an_old_index_is_migrated_on_read(local_lake: Lake) -> None:
    buffer = gzip.compress(
        b"\n".join(
            [
                json.dumps({"version": 2, "complete_before": "2026-11-01", "covered": []}).encode(),
                b"[100,1,1762000000,100,0]",  # five fields (before not_found_since)
                b"[200,2,1762000100,300,0,1762000200]",
                b"[300,2,1762000200,300,1,0]",
            ]
        )
        + b"\n"
    )
    local_lake.put_bytes(LEGACY_INDEX_KEY, buffer)
    assert TweetIndex.author_counts(local_lake) == {"1": 1, "2": 1}
    index = TweetIndex.load(local_lake)
    assert index.get(200).not_found_since == 1762000200 and index.latest_of(200) == 300  # type: ignore[union-attr]
    index.save(local_lake)
    assert local_lake.exists(INDEX_KEY) and not local_lake.exists(LEGACY_INDEX_KEY)
    again = TweetIndex.load(local_lake)
    assert list(again.entries()) == list(index.entries()) and again.complete_before == "2026-11-01"


def test_an_entry_takes_about_25_bytes_not_550() -> None:
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    index = TweetIndex()
    base = 1_800_000_000_000_000_000
    for n in range(100_000):
        index._new[base + n * 4096] = [7, 1_750_000_000 + n, 0, 0]  # as refresh_from_lake learns them
    index._merge()
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert len(index) == 100_000
    assert used / 100_000 < 40, f"{used / 100_000:.0f} bytes a tweet"


# -- the metrics run with a policy and a budget, against the simulator -----------------------------------
def test_metrics_refresh_young_tweets_often_and_old_ones_rarely(
    local_lake: Lake, sim: SimulatorServer, client: XClient
) -> None:
    names = small_accounts(sim)
    run("tweets", local_lake, client, users=",".join(names), since=SINCE)
    known = ids_in(local_lake, "tweets")
    now = sim.clock.now()
    created = {int(r["data"]["id"]): r["data"]["created_at"] for r in records(local_lake, "tweets") if "data" in r}
    young = {i for i, c in created.items() if c >= (now - timedelta(days=2)).isoformat()[:19]}
    assert young and len(young) < len(known)

    def asked(hours: float) -> set[int]:
        sim.clock.advance(hours=hours)
        before = len(records(local_lake, "tweet_metrics"))
        summary = run("metrics", local_lake, client, users=",".join(names), policy=DEFAULT_POLICY)
        assert summary.extra["policy"] == DEFAULT_POLICY
        new = records(local_lake, "tweet_metrics")[before:]
        return {int(r["data"]["id"]) for r in new if "data" in r} | {
            int(r["error"]["resource_id"]) for r in new if "error" in r
        }

    assert asked(0) == set()  # collected with their metrics just now: nothing is due, nothing bought twice
    assert asked(2) == young  # two hours later: only the 0-2d tier
    assert asked(1) == set()  # an hour after that: nothing
    still_young = {i for i, c in created.items() if c >= (now + timedelta(hours=14, days=-2)).isoformat()[:19]}
    assert asked(11) == still_young  # 14 h after the collection: 0-2d again; the 2d-7d tier (1 d) waits
    day_later = asked(10)  # 24 h after it: 0-2d again, plus the 2d-7d tweets
    young_then = {i for i, c in created.items() if c >= (now + timedelta(hours=24, days=-2)).isoformat()[:19]}
    assert young_then <= day_later and day_later - young
    assert known > day_later
    assert not day_later & {i for i, c in created.items() if c < (now - timedelta(days=7)).isoformat()[:19]}


def test_a_budget_leaves_the_oldest_waiting_and_is_never_exceeded(
    local_lake: Lake, sim: SimulatorServer, client: XClient
) -> None:
    names = small_accounts(sim)
    run("tweets", local_lake, client, users=",".join(names), since=SINCE)
    spent_by_tweets = month_to_date(local_lake, date(2026, 11, 22)).total
    sim.clock.advance(days=1)  # 2026-11-23, a new UTC day: the tweets run's reads are not free any more
    share = 23 / 30  # paced: by the end of the 23rd of 30 days, at most 23/30 of the budget
    budget_reads = math.ceil((spent_by_tweets.post_reads + 30) / share)
    room = int(budget_reads * share + 1e-9) - spent_by_tweets.post_reads
    assert 30 <= room < 32
    summary = run(
        "metrics", local_lake, client, users=",".join(names), policy=DEFAULT_POLICY, budget_reads=budget_reads
    )
    asked = [r["data"] for r in records(local_lake, "tweet_metrics") if "data" in r]
    known = [r["data"] for r in records(local_lake, "tweets") if "data" in r]
    assert len(asked) == room
    youngest = sorted(known, key=lambda t: (t["created_at"], int(t["id"])), reverse=True)[:room]
    assert {t["id"] for t in asked} == {t["id"] for t in youngest}
    # collected a day ago with their metrics: due are the tweets of the 0-2d and 2d-7d tiers only
    week_ago = (sim.clock.now() - timedelta(days=7)).isoformat()[:19]
    due = [t for t in known if t["created_at"] > week_ago]
    assert room < len(due) < len(known)
    assert summary.extra["waited (over the budget; the youngest went first)"] == f"{len(due) - room:,}"
    assert any("waited" in note and "paced: 77%" in note for note in summary.notes)
    spent = month_to_date(local_lake, date(2026, 11, 23)).total.post_reads
    assert spent == spent_by_tweets.post_reads + room <= budget_reads
    # the next run that day finds no room: only tweets already billed today (free) are asked again
    sim.clock.advance(hours=2)
    later = run("metrics", local_lake, client, users=",".join(names), policy=DEFAULT_POLICY, budget_reads=budget_reads)
    again = [r["data"]["id"] for r in records(local_lake, "tweet_metrics") if "data" in r][len(asked) :]
    assert 0 < later.records == len(again) and set(again) <= {t["id"] for t in asked}
    assert month_to_date(local_lake, date(2026, 11, 23)).total.post_reads == spent
    # the month's last day: the whole budget is there to spend, never more
    sim.clock.set("2026-11-30T12:00:00Z")
    run("metrics", local_lake, client, users=",".join(names), policy="all", budget_reads=budget_reads)
    assert month_to_date(local_lake, date(2026, 11, 30)).total.post_reads == budget_reads


@pytest.mark.parametrize("sorted_by_time", [True, False])
def test_the_selection_is_the_policys_rule_for_every_tweet(sorted_by_time: bool) -> None:
    """Whichever way the index selects (a tier per slice when creation times follow the ids, one by
    one when they do not), it picks exactly the tweets Policy.due says are due, youngest first."""
    rng = random.Random(5)
    now = 1_765_000_000
    policy = Policy.parse(DEFAULT_POLICY)
    index = TweetIndex()
    truth: list[tuple[int, int]] = []
    for n in range(5000):
        created = now - 400 * D + n * 400 * D // 5000 + rng.randrange(0, 60)
        if not sorted_by_time and n % 7 == 0:
            created = now - rng.randrange(0, 400 * D)  # an id whose time says otherwise
        tweet_id = 1_900_000_000_000_000_000 + n * 1000
        refreshed = 0 if rng.random() < 0.1 else created + rng.randrange(0, max(1, now - created))
        author = 1 + n % 3
        index._new[tweet_id] = [author, created, refreshed, int(rng.random() < 0.02)]
        if (
            not index._new[tweet_id][3]
            and author != 3
            and policy.due(now - created, now - refreshed if refreshed else None)
        ):
            truth.append((created, tweet_id))
    index._merge()
    assert index.created_sorted is sorted_by_time
    got = index.due(now, policy, {1, 2})
    assert set(got) == {i for _, i in truth}
    created_of = {e.tweet_id: e.created_epoch for e in index.entries()}
    assert [created_of[i] for i in got] == sorted((created_of[i] for i in got), reverse=True)
    assert 0 < len(got) < 5000
