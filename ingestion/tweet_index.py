"""The index of known tweets that the metrics collector refreshes: ``state/tweet_index/index.jsonl.gz``.

It is derived from the lake, not written beside it: each metrics run reads the ``raw/tweets`` files
it has not indexed yet (only in ``dt=`` partitions at or after ``complete_before``), so it can never
disagree with what the tweets collector published, whatever crashed where. It also keeps what the
metrics runs learn: the latest version of an edited tweet, and tweets the API reports deleted
(never asked for again).

One entry per tweet id: ``[author_id, created_at (epoch s), latest_id, deleted]``, ints, so 200,000
tweets take tens of MB, not hundreds.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from common.lake import Lake
from common.layout import parse_raw_key, parse_time, raw_prefix
from common.rawio import iter_raw_records

INDEX_KEY = "state/tweet_index/index.jsonl.gz"
# A tweets run that started on day D publishes into dt=D even if it ends later; three days of
# partitions are re-listed so that such late files are still found.
LATE_FILE_DAYS = 3

SNOWFLAKE_EPOCH_MS = 1288834974657


def snowflake_time(tweet_id: int) -> int:
    """Epoch seconds a tweet id encodes."""
    return ((tweet_id >> 22) + SNOWFLAKE_EPOCH_MS) // 1000


class TweetIndex:
    def __init__(self) -> None:
        self.entries: dict[int, list[int]] = {}  # id -> [author_id, created_epoch, latest_id, deleted]
        self.complete_before: str = "0000-00-00"  # every raw/tweets file in a dt= before this is indexed
        self.covered: set[str] = set()  # indexed files in partitions >= complete_before

    # -- persistence -----------------------------------------------------------------------------
    @classmethod
    def load(cls, lake: Lake) -> TweetIndex:
        index = cls()
        found = lake.read_versioned(INDEX_KEY)
        if not found:
            return index
        with gzip.GzipFile(fileobj=io.BytesIO(found[0])) as gz:
            header = json.loads(gz.readline())
            index.complete_before = header["complete_before"]
            index.covered = set(header["covered"])
            for line in gz:
                tweet_id, *rest = json.loads(line)
                index.entries[tweet_id] = rest
        return index

    def save(self, lake: Lake) -> None:
        self._compact_coverage()
        buffer = io.BytesIO()
        with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gz:
            header = {"version": 1, "complete_before": self.complete_before, "covered": sorted(self.covered)}
            gz.write(json.dumps(header).encode() + b"\n")
            for tweet_id, rest in self.entries.items():
                gz.write(json.dumps([tweet_id, *rest], separators=(",", ":")).encode() + b"\n")
        lake.put_bytes(INDEX_KEY, buffer.getvalue())

    def _compact_coverage(self) -> None:
        days = sorted({parse_raw_key(k)["dt"] for k in self.covered if parse_raw_key(k)})  # type: ignore[index]
        if not days:
            return
        watermark = (date.fromisoformat(days[-1]) - timedelta(days=LATE_FILE_DAYS)).isoformat()
        if watermark > self.complete_before:
            self.complete_before = watermark
            self.covered = {k for k in self.covered if (parse_raw_key(k) or {}).get("dt", "") >= watermark}

    # -- learning ----------------------------------------------------------------------------------
    def refresh_from_lake(self, lake: Lake) -> int:
        """Index the raw tweets files not seen yet; returns how many files were read."""
        read = 0
        for folder in lake.list_dirs(raw_prefix("tweets")):
            if not folder.startswith("dt=") or folder[3:] < self.complete_before:
                continue
            for obj in lake.list(raw_prefix("tweets", folder[3:])):
                if obj.key in self.covered or not parse_raw_key(obj.key):
                    continue
                for record in iter_raw_records(lake, obj.key):
                    if isinstance(record.get("data"), dict):
                        self.add_tweet(record["data"])
                self.covered.add(obj.key)
                read += 1
        return read

    def add_tweet(self, tweet: dict[str, Any]) -> None:
        tweet_id = int(str(tweet["id"]))
        raw_history: Any = tweet.get("edit_history_tweet_ids") or [tweet_id]
        history = [int(str(h)) for h in raw_history]
        latest = max(history)
        created = tweet.get("created_at")
        created_epoch = int(parse_time(str(created)).timestamp()) if created else snowflake_time(tweet_id)
        author = int(str(tweet.get("author_id") or 0))
        old = self.entries.get(tweet_id)
        self.entries[tweet_id] = [author, created_epoch, max(latest, old[2]) if old else latest, old[3] if old else 0]
        self.note_versions(history)

    def note_versions(self, history: Iterable[int]) -> None:
        """Every known version of an edit chain points at the newest version."""
        versions = list(history)
        latest = max(versions)
        for version in versions:
            entry = self.entries.get(version)
            if entry is not None and entry[2] < latest:
                entry[2] = latest

    def mark_deleted(self, tweet_id: int) -> None:
        """Older versions pointing at a deleted newest version drop out of :meth:`targets` with it."""
        entry = self.entries.get(tweet_id)
        if entry is None:
            self.entries[tweet_id] = [0, snowflake_time(tweet_id), tweet_id, 1]
        else:
            entry[3] = 1

    # -- asking ------------------------------------------------------------------------------------
    def targets(self, author_ids: set[int] | None = None, created_after: datetime | None = None) -> list[str]:
        """Unique newest-version ids to refresh, oldest first, without deleted tweets."""
        after = int(created_after.timestamp()) if created_after else None
        wanted: set[int] = set()
        for author, created, latest, deleted in self.entries.values():
            if deleted or (author_ids is not None and author not in author_ids):
                continue
            if after is not None and created < after:
                continue
            wanted.add(latest)
        deleted_ids = {i for i, e in self.entries.items() if e[3]}
        return [str(i) for i in sorted(wanted - deleted_ids)]
