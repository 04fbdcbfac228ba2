"""The REST API answers from whatever state it can read: a corrupt tweet index or cursors document
gives nulls and a warning in the log, not a 500; a corrupt registry (nothing to answer from) a 503
that names the document and how to recover it."""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Callable

import pytest

from common.lake import Lake
from common.layout import REGISTRY_KEY
from ingestion.cursors import CURSORS_KEY
from ingestion.registry import Registry, shard_key
from ingestion.tweet_index import INDEX_KEY, TweetIndex
from ingestion.tweet_index.storage import MAGIC
from tests.api.conftest import Api

CORRUPT_INDEXES = {
    "truncated": lambda good: good[: len(good) // 2],
    "not-zlib": lambda good: MAGIC + b'{"complete_before": "2026-01-01"}\n' + b"\x00garbage" * 50,
    "header-not-json": lambda good: MAGIC + b"{not json\n",
    "empty": lambda good: b"",
}


@pytest.fixture
def tracked(local_lake: Lake) -> Lake:
    Registry(local_lake).add("alice", "1")
    cursor = {"newest_id": "500", "pending": None, "updated_at": "2026-11-20T04:00:00Z"}
    cursors = {"version": 1, "accounts": {"1": cursor}}
    local_lake.put_bytes(CURSORS_KEY, json.dumps(cursors).encode())
    index = TweetIndex()
    for tweet_id in (100, 500):
        index.add_tweet({"id": str(tweet_id), "author_id": "1", "created_at": "2026-11-01T00:00:00Z"})
    index.save(local_lake)
    return local_lake


def test_a_readable_index_counts_what_was_collected(start_api: Callable[..., Api], tracked: Lake) -> None:
    api = start_api(tracked)
    assert api.get("/accounts/alice").json()["tweets"]["collected"] == 2


@pytest.mark.parametrize("spoil", CORRUPT_INDEXES.values(), ids=CORRUPT_INDEXES.keys())
def test_a_corrupt_tweet_index_answers_collected_null_and_warns(
    start_api: Callable[..., Api], tracked: Lake, caplog: pytest.LogCaptureFixture, spoil: Callable[[bytes], bytes]
) -> None:
    tracked.put_bytes(INDEX_KEY, spoil(tracked.get_bytes(INDEX_KEY)))
    api = start_api(tracked)
    with caplog.at_level(logging.WARNING):
        listed = api.get("/accounts")
        one = api.get("/accounts/alice")
    assert listed.status_code == 200 and one.status_code == 200
    assert listed.json()["accounts"][0]["tweets"]["collected"] is None
    assert one.json()["tweets"] == {
        "newest_id": "500",
        "cursor_updated_at": "2026-11-20T04:00:00Z",
        "backfill_pending": False,
        "collected": None,
    }
    assert "the tweet index cannot be read" in caplog.text


def test_corrupt_cursors_answer_null_tweet_fields_and_warn(
    start_api: Callable[..., Api], tracked: Lake, caplog: pytest.LogCaptureFixture
) -> None:
    tracked.put_bytes(CURSORS_KEY, b'{"version": 1, "accounts": {"1": {"newest_')
    api = start_api(tracked)
    with caplog.at_level(logging.WARNING):
        one = api.get("/accounts/alice")
    assert one.status_code == 200
    assert one.json()["tweets"]["newest_id"] is None
    assert "state/tweets/cursors.json cannot be read" in caplog.text


@pytest.mark.parametrize("body", [b'{"version": 1, "accounts": {"alice": {"user', b"[]", b'{"accounts": 5}'])
@pytest.mark.parametrize("where", ["registry.json", "the account's shard"])
def test_a_corrupt_registry_document_is_a_503_that_names_it_and_says_how_to_recover(
    start_api: Callable[..., Api], tracked: Lake, body: bytes, where: str
) -> None:
    key = REGISTRY_KEY if where == "registry.json" else shard_key("alice")
    tracked.put_bytes(key, body)
    api = start_api(tracked)
    # every request that needs the document: the list, an add that lands there (a new name: it
    # reads registry.json first), a lookup of the account it holds
    added = "bob" if key == REGISTRY_KEY else "alice"
    answers = [api.get("/accounts"), api.post("/accounts", json={"username": added})]
    if key != REGISTRY_KEY:
        answers.append(api.get("/accounts/alice"))
    for answer in answers:
        assert answer.status_code == 503, answer.text
        problem = answer.json()
        assert f"{key} cannot be read" in problem["detail"] and "tweetlake users add" in problem["detail"]


def test_raw_users_files_with_a_line_that_is_no_object_or_a_cut_gzip_are_skipped(
    start_api: Callable[..., Api], tracked: Lake, caplog: pytest.LogCaptureFixture
) -> None:
    good = gzip.compress(b'{"data": {"id": "1", "username": "alice"}}\n')
    tracked.put_bytes("raw/users/dt=2026-11-19/a-00000.jsonl.gz", good)
    tracked.put_bytes("raw/users/dt=2026-11-20/b-00000.jsonl.gz", gzip.compress(b'[1, 2]\n"text"\n'))
    tracked.put_bytes("raw/users/dt=2026-11-21/c-00000.jsonl.gz", good[: len(good) // 2])
    api = start_api(tracked)
    with caplog.at_level(logging.WARNING):
        one = api.get("/accounts/alice")
    assert one.status_code == 200, one.text
    assert one.json()["last_profile_snapshot"] == "2026-11-19"
    assert "c-00000.jsonl.gz cannot be read" in caplog.text
