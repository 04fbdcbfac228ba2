"""The index of known tweets that the metrics collector refreshes: ``state/tweet_index/index.jsonl.gz``.

It is derived from the lake, not written beside it: each metrics run reads the ``raw/tweets`` files
it has not indexed yet (only in ``dt=`` partitions at or after ``complete_before``), so it can never
disagree with what the tweets collector published, whatever crashed where. It also keeps what the
metrics runs learn: the latest version of an edited tweet, and tweets the API reports deleted
(never asked for again, once confirmed: see :meth:`TweetIndex.mark_not_found`).

One entry per tweet id: ``[author_id, created_at (epoch s), latest_id, deleted, not_found_since]``,
ints, so 200,000 tweets take tens of MB, not hundreds. The stored file is a header line, then one
``[tweet_id, author_id, created, latest_id, deleted, not_found_since]`` line a tweet (indexes written
before ``not_found_since`` existed have five fields); only this module knows that shape
(:class:`IndexEntry` names its fields; other readers ask :meth:`TweetIndex.author_counts`).
"""

from __future__ import annotations

import gzip
import io
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from common.lake import Lake, ObjectNotFound
from common.layout import list_partitions, parse_raw_key, parse_time, raw_prefix
from common.rawio import iter_raw_records

INDEX_KEY = "state/tweet_index/index.jsonl.gz"
# A tweets run that started on day D publishes into dt=D even if it ends later; three days of
# partitions are re-listed so that such late files are still found.
LATE_FILE_DAYS = 3

SNOWFLAKE_EPOCH_MS = 1288834974657
CONFIRM_DELETION_AFTER = 24 * 3600
"""A tweet is deleted when "Not Found" answers this many seconds apart (or more) say so."""


def snowflake_time(tweet_id: int) -> int:
    """Epoch seconds a tweet id encodes."""
    return ((tweet_id >> 22) + SNOWFLAKE_EPOCH_MS) // 1000


class IndexEntry(NamedTuple):
    """One known tweet, as the index stores it."""

    tweet_id: int
    author_id: int  # 0 when unknown (a deleted tweet the index never saw whole)
    created_epoch: int  # epoch seconds
    latest_id: int  # the newest version of its edit chain: what a refresh asks for
    deleted: bool
    not_found_since: int = 0  # epoch seconds of the first "Not Found" not yet confirmed (0: none)


def _entries(data: bytes) -> tuple[dict[str, Any], Iterator[IndexEntry]]:
    """The header and the entries of a stored index."""
    gz = gzip.GzipFile(fileobj=io.BytesIO(data))
    header = json.loads(gz.readline())

    def entries() -> Iterator[IndexEntry]:
        with gz:
            for line in gz:
                tweet_id, author, created, latest, deleted, *doubt = json.loads(line)
                yield IndexEntry(tweet_id, author, created, latest, bool(deleted), doubt[0] if doubt else 0)

    return header, entries()


class TweetIndex:
    def __init__(self) -> None:
        # id -> [author_id, created_epoch, latest_id, deleted, not_found_since]
        self.entries: dict[int, list[int]] = {}
        self.complete_before: str = "0000-00-00"  # every raw/tweets file in a dt= before this is indexed
        self.covered: set[str] = set()  # indexed files in partitions >= complete_before

    # -- persistence -----------------------------------------------------------------------------
    @classmethod
    def load(cls, lake: Lake) -> TweetIndex:
        index = cls()
        found = lake.read_versioned(INDEX_KEY)
        if not found:
            return index
        header, entries = _entries(found[0])
        index.complete_before = header["complete_before"]
        index.covered = set(header["covered"])
        for e in entries:
            index.entries[e.tweet_id] = [e.author_id, e.created_epoch, e.latest_id, int(e.deleted), e.not_found_since]
        return index

    @staticmethod
    def author_counts(lake: Lake, *, max_bytes: int | None = None) -> Counter[str] | None:
        """Known tweets per author id, deleted ones left out, as of the last metrics run; ``None``
        before the first one, or when the stored index is larger than ``max_bytes``."""
        try:
            if max_bytes is not None and lake.size(INDEX_KEY) > max_bytes:
                return None
            data = lake.get_bytes(INDEX_KEY)
        except ObjectNotFound:
            return None
        return Counter(str(e.author_id) for e in _entries(data)[1] if not e.deleted)

    def save(self, lake: Lake) -> None:
        self._compact_coverage()
        buffer = io.BytesIO()
        with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gz:
            header = {"version": 2, "complete_before": self.complete_before, "covered": sorted(self.covered)}
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
        for day in list_partitions(lake, "tweets"):
            if day.isoformat() < self.complete_before:
                continue
            for obj in lake.list(raw_prefix("tweets", day)):
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
        self.entries[tweet_id] = [author, created_epoch, max(latest, old[2]) if old else latest,
                                  old[3] if old else 0, old[4] if old else 0]
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
            self.entries[tweet_id] = [0, snowflake_time(tweet_id), tweet_id, 1, 0]
        else:
            entry[3] = 1

    def mark_not_found(self, tweet_id: int, now: int) -> bool:
        """Record a "Not Found" answer at ``now`` (epoch s); True when it confirms the deletion: an
        earlier "Not Found" at least :data:`CONFIRM_DELETION_AFTER` before, with no answer between."""
        entry = self.entries.get(tweet_id)
        if entry is None:
            entry = self.entries[tweet_id] = [0, snowflake_time(tweet_id), tweet_id, 0, 0]
        if entry[3]:
            return False  # already deleted: nothing new
        if not entry[4]:
            entry[4] = now
            return False
        if now - entry[4] >= CONFIRM_DELETION_AFTER:
            entry[3] = 1
            return True
        return False

    def note_found(self, tweet_id: int) -> None:
        """The API answered for the tweet: an earlier "Not Found" was not the last word."""
        entry = self.entries.get(tweet_id)
        if entry is not None:
            entry[4] = 0

    # -- asking ------------------------------------------------------------------------------------
    def targets(self, author_ids: set[int] | None = None, created_after: datetime | None = None) -> list[str]:
        """Unique newest-version ids to refresh, oldest first, without deleted tweets."""
        after = int(created_after.timestamp()) if created_after else None
        wanted: set[int] = set()
        for author, created, latest, deleted, _ in self.entries.values():
            if deleted or (author_ids is not None and author not in author_ids):
                continue
            if after is not None and created < after:
                continue
            wanted.add(latest)
        deleted_ids = {i for i, e in self.entries.items() if e[3]}
        return [str(i) for i in sorted(wanted - deleted_ids)]
