"""The tweet index and money: a collected post is not bought twice, a rebuilt index keeps the refresh
times the lake proves, an unreadable index names itself. Checked against the simulator's bill."""

from __future__ import annotations

from typing import Any

import pytest

from common.lake import Lake
from ingestion.client import XClient
from ingestion.errors import StateCorrupt
from ingestion.policy import DEFAULT_POLICY
from ingestion.run import run
from ingestion.tweet_index import INDEX_KEY, TweetIndex
from tests.ingestion.test_usage import small_accounts
from xsim import SimulatorServer

YEARS_AGO = "2022-01-01T00:00:00Z"


def post_reads(sim: SimulatorServer) -> int:
    return int(sim.billing.report(sim.clock.now_ms())["totals"]["post_reads"])


def test_a_metrics_run_right_after_a_backfill_of_old_posts_reads_none_of_them(
    local_lake: Lake, sim: SimulatorServer, client: XClient
) -> None:
    names = ",".join(small_accounts(sim))
    backfill = run("tweets", local_lake, client, users=names, since=YEARS_AGO)
    assert backfill.records > 500
    sim.clock.advance(hours=1)
    before = post_reads(sim)
    metrics = run("metrics", local_lake, client, users=names, policy=DEFAULT_POLICY)
    assert metrics.records == 0 and metrics.extra["due"] == "0"
    assert post_reads(sim) == before  # not one post bought twice


def test_a_rebuilt_index_takes_the_last_refresh_from_the_lake_and_says_so(
    local_lake: Lake, sim: SimulatorServer, client: XClient
) -> None:
    names = ",".join(small_accounts(sim))
    run("tweets", local_lake, client, users=names, since=YEARS_AGO)
    sim.clock.advance(days=1)
    refreshed = run("metrics", local_lake, client, users=names, policy="all")  # every post, a day later
    assert refreshed.records > 500
    kept = {e.tweet_id: e.refreshed_epoch for e in TweetIndex.load(local_lake).entries()}
    local_lake.delete(INDEX_KEY)  # lost
    sim.clock.advance(hours=1)
    before = post_reads(sim)
    again = run("metrics", local_lake, client, users=names, policy=DEFAULT_POLICY)
    assert any("rebuilt from the lake" in note for note in again.notes)
    rebuilt = {e.tweet_id: e.refreshed_epoch for e in TweetIndex.load(local_lake).entries()}
    assert rebuilt.keys() == kept.keys()
    assert sum(1 for i, t in kept.items() if rebuilt[i] >= t) == len(kept)  # no refresh time forgotten
    # the rebuilt index asks only what the policy asks of posts refreshed an hour ago: nothing
    assert again.records == 0 and post_reads(sim) == before


@pytest.mark.parametrize("garbage", [b"not an index", b"tweetlake-tweet-index 3\n{}\n", b"\x00" * 40])
def test_an_unreadable_index_names_itself_and_how_to_recover(local_lake: Lake, garbage: bytes, capsys: Any) -> None:
    from tweetlake.cli import main as tweetlake

    local_lake.put_bytes(INDEX_KEY, garbage)
    with pytest.raises(StateCorrupt, match=r"tweet_index/index\.v3\.bin.*delete it; the next metrics run rebuilds"):
        TweetIndex.load(local_lake)
    code = tweetlake(["plan", "--lake", local_lake.uri, "--users", "someone"])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code != 0 and len(err) == 1 and "index.v3.bin" in err[0]


def test_a_metrics_run_that_rereads_far_more_than_yesterday_says_so(
    local_lake: Lake, sim: SimulatorServer, client: XClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ingestion.collectors.metrics as metrics_module

    monkeypatch.setattr(metrics_module, "SURGE_MIN", 100)
    names = ",".join(small_accounts(sim))
    run("tweets", local_lake, client, users=names, since=YEARS_AGO)
    sim.clock.advance(days=1)
    quiet = run("metrics", local_lake, client, users=names, policy=DEFAULT_POLICY)
    assert 0 < quiet.records < 100 and not any("more than 10x" in n for n in quiet.notes)
    sim.clock.advance(days=1)
    surge = run("metrics", local_lake, client, users=names, policy="all")  # a new policy: everything again
    assert surge.records > 10 * quiet.records
    assert any(f"re-reads {surge.records:,} posts, more than 10x the {quiet.records:,}" in n for n in surge.notes)
