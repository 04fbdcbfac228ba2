"""What GET /accounts derives from the lake, on hand-built lakes (no scan of raw data per request)."""

from __future__ import annotations

import gzip
import json
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.authorization import enable_iam_authentication

from common.lake import Lake
from ingestion.cursors import CURSORS_KEY
from ingestion.registry import Account
from ingestion.tweet_index import TweetIndex
from tests.common.iam import limited_s3_client
from tweetlake.api import insights as insights_module
from tweetlake.api.insights import LakeInsights


def put_raw(lake: Lake, key: str, records: list[dict[str, Any]]) -> None:
    lines = "".join(json.dumps({"collected_at": "2026-11-20T01:00:00Z", "run_id": "r", **r}) + "\n" for r in records)
    lake.put_bytes(key, gzip.compress(lines.encode()))


def profile(user_id: str, username: str) -> dict[str, Any]:
    return {"data": {"id": user_id, "username": username}}


@pytest.fixture
def lake(any_lake: Lake) -> Lake:
    put_raw(any_lake, "raw/users/dt=2026-11-18/a-00000.jsonl.gz", [profile("1", "Alice"), profile("2", "bob")])
    put_raw(any_lake, "raw/users/dt=2026-11-20/b-00000.jsonl.gz", [profile("1", "alice_renamed")])
    put_raw(
        any_lake,
        "raw/users/dt=2026-11-20/b-00001.jsonl.gz",
        [{"error": {"value": "bob", "title": "Forbidden", "detail": "User has been suspended: [bob]."}}],
    )
    return any_lake


def test_last_snapshot_is_the_newest_partition_holding_a_profile(lake: Lake) -> None:
    accounts = [Account("alice_renamed", "1"), Account("bob", "2"), Account("carol"), Account("Bob_by_name")]
    put_raw(lake, "raw/users/dt=2026-11-19/c-00000.jsonl.gz", [profile("9", "bob_by_name")])
    found = LakeInsights(lake).last_snapshots(accounts)
    # bob's newest partition holds only an error record: his last profile is from the 18th
    assert found == {"alice_renamed": "2026-11-20", "bob": "2026-11-18", "carol": None, "bob_by_name": "2026-11-19"}
    assert LakeInsights(lake, snapshots=False).last_snapshots(accounts)["bob"] is None


def test_the_day_the_registry_recorded_needs_no_raw_read(local_lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    """The users collector records the day in state/; raw/ is read only for accounts without one."""
    put_raw(local_lake, "raw/users/dt=2026-11-20/b-00000.jsonl.gz", [profile("2", "bob")])
    read: list[str] = []
    monkeypatch.setattr(LakeInsights, "_profiles_in", lambda self, key: read.append(key) or frozenset({"2"}))
    accounts = [Account("alice", "1", last_snapshot_day="2026-11-21"), Account("bob", "2")]
    assert LakeInsights(local_lake).last_snapshots(accounts) == {"alice": "2026-11-21", "bob": "2026-11-20"}
    assert read == ["raw/users/dt=2026-11-20/b-00000.jsonl.gz"]
    read.clear()
    assert LakeInsights(local_lake, snapshots=False).last_snapshots(accounts) == {"alice": "2026-11-21", "bob": None}
    assert LakeInsights(local_lake).last_snapshots(accounts[:1]) == {"alice": "2026-11-21"}
    assert read == []


def test_snapshot_walk_stops_when_everyone_is_found_and_caches_files(
    lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[str] = []
    real = insights_module.iter_raw_records
    monkeypatch.setattr(insights_module, "iter_raw_records", lambda lk, key: (reads.append(key), real(lk, key))[1])
    insights = LakeInsights(lake)
    assert insights.last_snapshots([Account("x", "1")]) == {"x": "2026-11-20"}
    assert all("dt=2026-11-20" in key for key in reads)  # the 18th was never opened
    reads.clear()
    assert insights.last_snapshots([Account("x", "1")]) == {"x": "2026-11-20"}
    assert reads == []  # raw files never change once published: cached by key


def test_snapshot_lookback_is_bounded(local_lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(insights_module, "SNAPSHOT_LOOKBACK", 2)
    for day in ("2026-11-01", "2026-11-10", "2026-11-11"):
        put_raw(local_lake, f"raw/users/dt={day}/r-00000.jsonl.gz", [profile("1" if day == "2026-11-01" else "5", "u")])
    assert LakeInsights(local_lake).last_snapshots([Account("old", "1")]) == {"old": None}


def test_tweets_come_from_the_cursors_and_the_index(any_lake: Lake) -> None:
    cursors = {
        "version": 1,
        "accounts": {
            "1": {"newest_id": "500", "pending": None, "updated_at": "2026-11-20T04:00:00Z"},
            "2": {
                "newest_id": None,
                "pending": {"lower": {}, "until_id": "90", "top_id": "300", "fetched": 7},
                "updated_at": "2026-11-20T05:00:00Z",
            },
            "3": {"newest_id": None, "pending": None, "updated_at": "2026-11-20T04:00:00Z"},
            "4": {"newest_id": "800", "pending": None, "updated_at": "2026-11-21T04:00:00Z"},
        },
    }
    any_lake.put_bytes(CURSORS_KEY, json.dumps(cursors).encode())
    accounts = [Account(n, i) for n, i in (("one", "1"), ("two", "2"), ("quiet", "3"), ("late", "4"))]
    accounts.append(Account("unresolved"))
    before_index = LakeInsights(any_lake).tweets(accounts)
    assert before_index["one"] == insights_module.TweetsInfo("500", "2026-11-20T04:00:00Z", False, None)
    assert before_index["two"].newest_id == "300" and before_index["two"].backfill_pending
    assert all(info.collected is None for info in before_index.values())

    index = TweetIndex()
    for tweet_id in (100, 200, 500):
        index.add_tweet({"id": str(tweet_id), "author_id": "1", "created_at": "2026-11-01T00:00:00Z"})
    index.add_tweet({"id": "300", "author_id": "2", "created_at": "2026-11-01T00:00:00Z"})
    index.mark_deleted(200)
    index.save(any_lake)
    after = LakeInsights(any_lake).tweets(accounts)
    assert after["one"].collected == 2  # the deleted tweet does not count
    assert after["two"].collected == 1
    assert after["quiet"].collected == 0  # a pass ran and found nothing
    assert after["late"].collected is None  # collected after the index was built: unknown, not 0
    assert after["unresolved"] == insights_module.TweetsInfo(None, None, False, None)


def test_a_big_index_is_not_read(local_lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    index = TweetIndex()
    index.add_tweet({"id": "100", "author_id": "1", "created_at": "2026-11-01T00:00:00Z"})
    index.save(local_lake)
    monkeypatch.setattr(insights_module, "INDEX_MAX_BYTES", 10)
    assert LakeInsights(local_lake).tweets([Account("one", "1")])["one"].collected is None


def test_a_role_limited_to_state_gets_nulls_not_errors() -> None:
    """On AWS with ProfileSnapshotDates=false the role cannot read raw/users/ (nor, before the first
    runs, tell a missing state object from a forbidden one): moto enforcing IAM for a user that may
    read the registry only, on a lake that holds a profile, cursors and an index."""
    with mock_aws():
        admin = boto3.client("s3", region_name="us-east-1")
        admin.create_bucket(Bucket="insights-lake")
        full = Lake.from_uri("s3://insights-lake/lake", s3_client=admin)
        put_raw(full, "raw/users/dt=2026-11-20/b-00000.jsonl.gz", [profile("1", "a")])
        full.put_bytes(
            CURSORS_KEY,
            json.dumps(
                {
                    "version": 1,
                    "accounts": {"1": {"newest_id": "500", "pending": None, "updated_at": "2026-11-20T04:00:00Z"}},
                }
            ).encode(),
        )
        index = TweetIndex()
        index.add_tweet({"id": "500", "author_id": "1", "created_at": "2026-11-01T00:00:00Z"})
        index.save(full)
        limited = limited_s3_client(
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::insights-lake/lake/state/registry.json",
            }
        )
        account = Account("a", "1")
        with enable_iam_authentication():
            insights = LakeInsights(Lake.from_uri(full.uri, s3_client=limited))
            assert insights.last_snapshots([account]) == {"a": None}
            assert insights.tweets([account])["a"] == insights_module.TweetsInfo(None, None, False, None)
        # the same lake, read by a role that may: everything is there to report
        assert LakeInsights(full).last_snapshots([account]) == {"a": "2026-11-20"}
        assert LakeInsights(full).tweets([account])["a"] == insights_module.TweetsInfo(
            "500", "2026-11-20T04:00:00Z", False, 1
        )
