"""``tweetlake lake``'s summary, on a hand-built lake: what a Glue job would find, per dataset and day."""

from __future__ import annotations

import gzip
import json
from typing import Any

from common.lake import Lake
from common.lake_summary import render, summarise


def put_raw(lake: Lake, key: str, records: list[dict[str, Any]]) -> None:
    lines = "".join(json.dumps({"collected_at": "2026-11-20T01:00:00Z", "run_id": "r", **r}) + "\n" for r in records)
    lake.put_bytes(key, gzip.compress(lines.encode()))


def test_records_and_errors_per_dataset_and_day(any_lake: Lake) -> None:
    put_raw(any_lake, "raw/tweets/dt=2026-11-20/a-00000.jsonl.gz", [{"data": {"id": "1"}}, {"data": {"id": "2"}}])
    put_raw(any_lake, "raw/tweets/dt=2026-11-21/b-00000.jsonl.gz", [{"data": {"id": "3"}}, {"error": {"value": "x"}}])
    put_raw(any_lake, "raw/users/dt=2026-11-21/c-00000.jsonl.gz", [{"error": {"value": "gone"}}])
    put_raw(any_lake, "raw/tweets/not-a-partition/d-00000.jsonl.gz", [{"data": {"id": "9"}}])  # no job reads it
    summaries = summarise(any_lake)
    assert list(summaries) == ["users", "tweets", "tweet_metrics"]
    tweets = summaries["tweets"]
    assert (tweets.files, tweets.records, tweets.errors) == (2, 3, 1)
    assert dict(tweets.days) == {"2026-11-20": 2, "2026-11-21": 1}
    assert (summaries["users"].records, summaries["users"].errors, dict(summaries["users"].days)) == (0, 1, {})
    assert summaries["tweet_metrics"].files == 0
    text = render(any_lake, summaries)
    assert text.splitlines()[0] == f"lake {any_lake.uri}"
    assert "2026-11-20: 2, 2026-11-21: 1" in text
