"""Backfill beyond the timeline's 3,200 cap with full-archive search (``--backfill auto|search|off``).

The issue's figure: an account with 10,000 tweets since 2022-01-01 lands all 10,000 exactly once
with 32 timeline requests (+ at most one empty page) and 14 search requests, 0 HTTP 429; a run
killed mid-backfill and rerun leaves no gap and no duplicate; a 403 for search lets the run complete,
names the gap and exits 0 with one line.
"""

from __future__ import annotations

import functools
import json
import logging
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from common.lake import Lake
from ingestion.client import SEARCH_ALL, XClient
from ingestion.cursors import CURSORS_KEY
from ingestion.run import ExitCode, outcome, run
from ingestion.state import read_json
from tests.ingestion.test_cli import ROOT, cli_env, tweetlake
from tests.ingestion.test_cli import TOKEN as CLI_TOKEN
from tests.ingestion.test_collectors import T2022_ID, TIMELINE, records, tweet_ids
from tests.support import SIM_START, FakeClock, logged_waits, make_client
from xsim import BillingConfig, SimulatorServer, World
from xsim.timeutil import from_ms, ms_from_id, to_ms

SEARCH = "GET /2/tweets/search/all"


def since_2022(ids: list[str]) -> list[str]:
    return [i for i in ids if int(i) >= T2022_ID]


@functools.cache
def ten_thousand_at() -> datetime:
    """The world time at which the heavy account (seed 7, 8 accounts) has exactly 10,000 posts
    since 2022-01-01: found by bisection on the simulator's ground truth, never hard-coded."""
    world = World(seed=7, accounts=8, start=SIM_START)
    heavy = world.heavy.user_id

    def count(t_ms: int) -> int:
        return len(since_2022(world.archive_ids(heavy, at=t_ms)))

    lo, hi = to_ms(datetime.fromisoformat("2024-06-01T00:00:00+00:00")), to_ms(world.start)
    assert count(lo) < 10_000 <= count(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if count(mid) >= 10_000 else (mid, hi)
    at = hi + 1000  # a second after the 10,000th post (no post comes that soon after it)
    assert count(at) == 10_000
    return from_ms(at)


@pytest.fixture
def ten_k(sim: SimulatorServer) -> str:
    """The session simulator (seed 7) moved to when its heavy account has 10,000 posts since 2022."""
    sim.clock.set(ten_thousand_at())
    return sim.world.heavy.user_id


def statuses(sim: SimulatorServer) -> Counter[int]:
    out: Counter[int] = Counter()
    for (_, status), n in sim.stats.by_status().items():
        out[status] += n
    return out


def test_ten_thousand_tweets_with_32_timeline_and_14_search_requests(
    local_lake: Lake, sim: SimulatorServer, client: XClient, fake_clock: FakeClock, ten_k: str
) -> None:
    heavy = sim.world.heavy
    truth = since_2022(sim.world.archive_ids(ten_k))
    assert len(truth) == 10_000
    started = fake_clock.t
    summary = run("tweets", local_lake, client, users=heavy.username)
    seen = Counter(tweet_ids(local_lake))
    assert set(seen) == set(truth), "all 10,000"
    assert max(seen.values()) == 1, "each exactly once"
    counts = sim.stats.counts()
    assert counts[TIMELINE] in (32, 33), "32 pages of 100 (+ at most one empty page)"
    assert counts[SEARCH] == 14, "⌈6,800 / 500⌉"
    assert statuses(sim)[429] == 0
    assert fake_clock.t - started >= 13, "14 search requests a second apart on the shared clock"
    assert summary.extra["backfilled_by_search"] == {heavy.username: 6_800}
    assert "capped_accounts" not in summary.extra
    assert any("full-archive search fetched the 6,800 tweets" in note for note in summary.notes)
    # search pages land in raw/tweets like timeline pages; their source says search
    sources = Counter(r["source"] for r in records(local_lake, "tweets") if "data" in r)
    assert sources == {TIMELINE: 3_200, SEARCH: 6_800}
    cursor = read_json(local_lake, CURSORS_KEY)["accounts"][ten_k]
    assert cursor["gaps"] == [] and cursor["pending"] is None and cursor["newest_id"] == truth[0]
    # what the simulator billed: every post once, the author once (includes.users) on this UTC day
    billed = sim.billing.report(sim.clock.now_ms())["totals"]
    assert billed == {"post_reads": 10_000, "user_reads": 1, "counts_requests": 0, "usd": 50.01}
    # the next run asks only for what is new: one timeline request, no search
    sim.stats.reset()
    again = run("tweets", local_lake, client, users=heavy.username)
    assert again.records == 0 and sim.stats.counts() == {TIMELINE: 1}


def test_search_mode_backfills_a_new_account_by_search_alone(
    local_lake: Lake, sim: SimulatorServer, client: XClient, ten_k: str
) -> None:
    summary = run("tweets", local_lake, client, users=sim.world.heavy.username, backfill="search")
    seen = Counter(tweet_ids(local_lake))
    truth = since_2022(sim.world.archive_ids(ten_k))
    assert set(seen) == set(truth) and max(seen.values()) == 1
    # 20 pages of 500, then the timeline asked once for anything newer than the newest found: search
    # ends 30 s before the request, and the 10,000th post is a second old
    assert sim.stats.counts() == {"GET /2/users/by": 1, SEARCH: 20, TIMELINE: 1}
    recent = [i for i in truth if ms_from_id(int(i)) >= sim.clock.now_ms() - 30_000]
    assert len(recent) >= 1
    assert summary.extra["backfilled_by_search"] == {sim.world.heavy.username: 10_000 - len(recent)}
    assert Counter(r["source"] for r in records(local_lake, "tweets") if "data" in r)[TIMELINE] == len(recent)
    assert statuses(sim)[429] == 0


def test_off_names_the_gap_and_keeps_it_for_a_later_run(
    local_lake: Lake, sim: SimulatorServer, client: XClient, ten_k: str
) -> None:
    heavy = sim.world.heavy
    summary = run("tweets", local_lake, client, users=heavy.username, backfill="off")
    assert len(tweet_ids(local_lake)) == 3_200 and SEARCH not in sim.stats.counts()
    assert summary.extra["capped_accounts"] == {heavy.username: sim.world.tweet_count(ten_k) - 3_200}
    gaps = read_json(local_lake, CURSORS_KEY)["accounts"][ten_k]["gaps"]
    oldest = min(tweet_ids(local_lake), key=int)
    assert gaps == [
        {
            "lower": {"start_time": "2022-01-01T00:00:00Z"},
            "until_id": oldest,
            "fetched": 0,
            "unreached": sim.world.tweet_count(ten_k) - 3_200,
        }
    ]
    assert any("wait for full-archive search (--backfill off)" in note for note in summary.notes)
    sim.stats.reset()
    later = run("tweets", local_lake, client, users=heavy.username)  # auto: the gap, and nothing more
    seen = Counter(tweet_ids(local_lake))
    assert set(seen) == set(since_2022(sim.world.archive_ids(ten_k))) and max(seen.values()) == 1
    assert sim.stats.counts() == {TIMELINE: 1, SEARCH: 14}
    assert later.extra["backfilled_by_search"] == {heavy.username: 6_800}


def test_a_gap_outlives_a_narrower_run_and_the_walk_back_after_it(
    local_lake: Lake, sim: SimulatorServer, client: XClient, ten_k: str
) -> None:
    """off (a gap), then --exclude replies (continues above), then a broader run: the timeline is
    walked back down to where the exclusion began, and the gap below it is still searched."""
    heavy = sim.world.heavy.username
    run("tweets", local_lake, client, users=heavy, backfill="off")
    run("tweets", local_lake, client, users=heavy, exclude="replies", backfill="off")
    assert len(read_json(local_lake, CURSORS_KEY)["accounts"][ten_k]["gaps"]) == 1
    summary = run("tweets", local_lake, client, users=heavy)
    assert any("earlier runs excluded replies" in note for note in summary.notes)
    seen = Counter(tweet_ids(local_lake))
    assert set(seen) == set(since_2022(sim.world.archive_ids(ten_k))) and max(seen.values()) == 1
    assert read_json(local_lake, CURSORS_KEY)["accounts"][ten_k]["gaps"] == []


def test_more_than_the_cap_since_the_last_run_is_searched_between_the_two(
    local_lake: Lake, sim: SimulatorServer, client: XClient
) -> None:
    """An incremental pass that meets the cap leaves a gap bounded by ``since_id`` (the last run's
    newest tweet) and the oldest tweet the timeline reached this time."""
    heavy = sim.world.heavy
    sim.clock.set("2023-06-01T00:00:00Z")
    run("tweets", local_lake, client, users=heavy.username)
    first = set(tweet_ids(local_lake))
    assert first == set(since_2022(sim.world.archive_ids(heavy.user_id)))
    newest_then = max(first, key=int)
    sim.clock.set(SIM_START)
    sim.stats.reset()
    summary = run("tweets", local_lake, client, users=heavy.username)
    seen = Counter(tweet_ids(local_lake))
    truth = set(since_2022(sim.world.archive_ids(heavy.user_id)))
    new = [i for i in truth if int(i) > int(newest_then)]
    assert truth <= set(seen), "no gap between the two runs"
    assert set(seen) == first | set(new), "(and what was deleted since is still in the lake)"
    assert max(seen.values()) == 1, "no duplicate"
    assert sim.stats.counts()[SEARCH] == -(-(len(new) - 3_200) // 500)
    assert summary.extra["backfilled_by_search"] == {heavy.username: len(new) - 3_200}


def test_a_403_turns_search_off_for_the_run_names_the_gap_and_exits_0(tmp_path: Path) -> None:
    with SimulatorServer(
        seed=7, accounts=8, now=SIM_START, token=CLI_TOKEN, billing=BillingConfig(full_archive=False)
    ) as sim:
        sim.clock.set(ten_thousand_at())
        heavy, other = sim.world.heavy, sim.world.accounts[6]
        lake_uri = (tmp_path / "lake").as_uri()
        lake = Lake.from_uri(lake_uri)
        users = f"{heavy.username},{other.username}"
        result = tweetlake("ingest", "tweets", "--lake", lake_uri, "--users", users, env=cli_env(sim.base_url))
        assert result.returncode == ExitCode.OK == 0, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("tweetlake ingest: full-archive search is not available to this app (")
        assert "client-not-enrolled" in lines[0] and "backfill off for the rest of this run" in lines[0]
        # asked once, for the first capped account only; the run went on and collected every timeline
        assert sim.stats.by_status()[(SEARCH, 403)] == 1
        by_author = Counter(r["data"]["author_id"] for r in records(lake, "tweets") if "data" in r)
        assert by_author[heavy.user_id] == 3_200
        assert by_author[other.user_id] == len(since_2022(sim.world.timeline_ids(other.user_id)))
        # the summary names the gap as without search
        lost = sim.world.tweet_count(heavy.user_id) - 3_200
        assert f"about {lost:,} older tweets are beyond what the endpoint serves" in result.stdout
        assert "wait for full-archive search (search refused (403))" in result.stdout
        # access granted later: the next run fills the gap it kept
        sim.billing.update(full_archive=True)
        again = tweetlake("ingest", "tweets", "--lake", lake_uri, "--users", users, env=cli_env(sim.base_url))
        assert again.returncode == 0 and again.stderr == "", again.stderr
        seen = Counter(
            r["data"]["id"] for r in records(lake, "tweets") if "data" in r and r["data"]["author_id"] == heavy.user_id
        )
        assert set(seen) == set(since_2022(sim.world.archive_ids(heavy.user_id))) and max(seen.values()) == 1


def test_outcome_of_a_summary_with_a_warning_is_ok_with_its_line(
    local_lake: Lake, sim: SimulatorServer, client: XClient, ten_k: str
) -> None:
    sim.billing.update(full_archive=False)
    summary = run("tweets", local_lake, client, users=sim.world.heavy.username, backfill="search")
    result = outcome(summary)
    assert result.code == ExitCode.OK and "full-archive search is not available" in result.message
    # search refused before a tweet came: the timeline backfilled instead, and the gap is kept
    assert len(tweet_ids(local_lake)) == 3_200
    gaps = read_json(local_lake, CURSORS_KEY)["accounts"][ten_k]["gaps"]
    assert [g["until_id"] for g in gaps] == [min(tweet_ids(local_lake), key=int)]


def test_a_per_second_429_waits_seconds_not_the_window(
    sim: SimulatorServer, fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Two clients of one app: the second's search comes within the second of the first's. The 429
    says the window still has room, so the client waits a couple of seconds, not 15 minutes."""
    first, second = make_client(sim, fake_clock), make_client(sim, fake_clock)
    query = f"from:{sim.world.heavy.user_id}"
    next(iter(first.search_all(query, max_results=10)))
    caplog.set_level(logging.WARNING)
    page = next(iter(second.search_all(query, max_results=10)))
    assert len(page.data) == 10
    waits = logged_waits(caplog.records)
    assert len(waits) == 1 and 2 <= waits[0] <= 3
    assert sim.stats.by_status()[(SEARCH_ALL, 429)] == 1


def test_search_is_paced_to_its_window_without_a_429(sim: SimulatorServer, fake_clock: FakeClock) -> None:
    """300 a window: the 301st request waits for the window's reset instead of collecting a 429."""
    client = make_client(sim, fake_clock)
    quiet = sim.world.quiet.user_id  # nothing found: a quick page
    started = fake_clock.t
    for _ in range(301):
        assert list(client.search_all(f"from:{quiet}", max_results=10))
    assert sim.stats.by_status() == {(SEARCH_ALL, 200): 301}
    assert fake_clock.t - started >= 900, "the 301st came after the window reset"


# -- kill -9 mid-backfill, then run again -------------------------------------------------------------
def _rerun(lake_uri: str, username: str, sim: SimulatorServer) -> subprocess.CompletedProcess[str]:
    return tweetlake(
        "ingest",
        "tweets",
        "--lake",
        lake_uri,
        "--users",
        username,
        "--part-records",
        "200",
        env=cli_env(sim.base_url),
        timeout=300,
    )


def test_killed_between_publishing_a_search_part_and_committing_it(tmp_path: Path) -> None:
    with SimulatorServer(seed=7, accounts=8, now=SIM_START, token=CLI_TOKEN) as sim:
        sim.clock.set(ten_thousand_at())
        heavy = sim.world.heavy
        lake_uri = (tmp_path / "lake").as_uri()
        lake = Lake.from_uri(lake_uri)
        # parts of 200: the timeline's 3,200 make 16; each search page of 500 is one part: 19 = the 3rd
        killed = subprocess.run(
            [sys.executable, "-m", "tests.ingestion.kill_after_publish", lake_uri, heavy.username, "19"],
            env=cli_env(sim.base_url),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        assert len(tweet_ids(lake)) == 3_200 + 3 * 500
        state = json.loads(lake.get_bytes(CURSORS_KEY))
        assert state["intent"]["part"] == sorted(o.key for o in lake.list("raw/tweets/"))[-1]
        committed_gap = state["accounts"][heavy.user_id]["gaps"][0]
        assert committed_gap["fetched"] == 2 * 500, "the third search part's position is only an intent"
        sim.stats.reset()
        # the killed process's last search may be under a second old: a new process cannot know it
        # (a real rerun comes hours later), and the API's per-second rule would answer it with a 429
        time.sleep(1.2)
        result = _rerun(lake_uri, heavy.username, sim)
        assert result.returncode == 0, result.stderr
        assert "applied the cursors of part" in result.stdout
        seen = Counter(tweet_ids(lake))
        assert set(seen) == set(since_2022(sim.world.archive_ids(heavy.user_id))), "no gap"
        assert max(seen.values()) == 1, "no duplicate: the published part was not fetched again"
        assert sim.stats.counts() == {TIMELINE: 1, SEARCH: 14 - 3}, (statuses(sim), result.stdout[-3000:])
        assert statuses(sim)[429] == 0


def test_killed_anywhere_mid_search_and_rerun(tmp_path: Path) -> None:
    """kill -9 at an arbitrary moment of the search phase (a page may be half written, a part half
    uploaded): the rerun resumes at the last published part's position."""
    with SimulatorServer(seed=7, accounts=8, now=SIM_START, token=CLI_TOKEN) as sim:
        sim.clock.set(ten_thousand_at())
        heavy = sim.world.heavy
        lake_uri = (tmp_path / "lake").as_uri()
        lake = Lake.from_uri(lake_uri)
        args = [
            sys.executable,
            "-m",
            "tweetlake.cli",
            "ingest",
            "tweets",
            "--lake",
            lake_uri,
            "--users",
            heavy.username,
            "--part-records",
            "200",
        ]
        proc = subprocess.Popen(args, env=cli_env(sim.base_url), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while sim.stats.counts().get(SEARCH, 0) < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.4)  # somewhere inside the 6th search page's second
        proc.kill()
        proc.wait()
        before = Counter(tweet_ids(lake))
        assert 3_200 < len(before) < 10_000, "killed mid-search"
        assert max(before.values()) == 1
        result = _rerun(lake_uri, heavy.username, sim)
        assert result.returncode == 0, result.stderr
        seen = Counter(tweet_ids(lake))
        assert set(seen) == set(since_2022(sim.world.archive_ids(heavy.user_id))), "no gap"
        assert max(seen.values()) == 1, "no duplicate"
        state = json.loads(lake.get_bytes(CURSORS_KEY))
        assert state["accounts"][heavy.user_id]["gaps"] == [] and "intent" not in state


def test_a_cursor_from_before_gaps_continues_without_searching(
    local_lake: Lake, sim: SimulatorServer, client: XClient, ten_k: str
) -> None:
    """Cursors written before gaps were recorded hold none: the run goes on above ``newest_id``,
    and asks search for nothing (README: such accounts are backfilled by deleting their entry)."""
    heavy = sim.world.heavy.username
    run("tweets", local_lake, client, users=heavy, backfill="off")
    doc = read_json(local_lake, CURSORS_KEY)
    del doc["accounts"][ten_k]["gaps"]
    local_lake.put_bytes(CURSORS_KEY, json.dumps(doc).encode())
    sim.stats.reset()
    summary = run("tweets", local_lake, client, users=heavy)
    assert summary.records == 0 and SEARCH not in sim.stats.counts()
    assert read_json(local_lake, CURSORS_KEY)["accounts"][ten_k]["gaps"] == []
