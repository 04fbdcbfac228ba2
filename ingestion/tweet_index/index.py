"""The tweet index in memory: five parallel columns sorted by tweet id (see :mod:`ingestion.tweet_index`)."""

from __future__ import annotations

import bisect
import contextlib
import itertools
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

from common.lake import Lake, ObjectNotFound
from common.layout import list_partitions, parse_raw_key, parse_time, raw_prefix
from common.rawio import iter_raw_records
from ingestion.policy import Policy
from ingestion.tweet_index.selection import due
from ingestion.tweet_index.storage import (
    CONFIRM_DELETION_AFTER,
    INDEX_KEY,
    LATE_FILE_DAYS,
    LEGACY_INDEX_KEY,
    IndexEntry,
    corrupt_as_state,
    edit_chain,
    encode,
    legacy_entries,
    read_v3,
    snowflake_time,
)


class TweetIndex:
    def __init__(self) -> None:
        self.ids: array[int] = array("q")
        self.authors: array[int] = array("q")
        self.created: array[int] = array("I")
        self.refreshed: array[int] = array("I")
        self.deleted = array("B")
        self.latest: dict[int, int] = {}  # id -> newer version, only for edited tweets
        self.doubt: dict[int, int] = {}  # id -> first unconfirmed "Not Found" (epoch s)
        # tweets learned since the columns were built: id -> [author, created, refreshed, deleted]
        self._new: dict[int, list[int]] = {}
        self.complete_before: str = "0000-00-00"  # every raw/tweets file in a dt= before this is indexed
        self.covered: set[str] = set()  # indexed files in partitions >= complete_before
        self._migrated = False
        # whether ``created`` is non-decreasing along the id order (as snowflake ids make it): then a
        # tier's tweets are one slice of the columns, found by bisection (see :meth:`due`)
        self.created_sorted = True
        # False until a stored index is read: then the first refresh_from_lake rebuilds the refresh
        # times from the lake too (raw/tweet_metrics), and ``rebuilt`` says whether it found any
        self.stored = False
        self.rebuilt = False

    # -- persistence -----------------------------------------------------------------------------
    @classmethod
    def load(cls, lake: Lake) -> TweetIndex:
        index = cls()
        found = lake.read_versioned(INDEX_KEY)
        if found:
            index.stored = True
            header, columns = corrupt_as_state(lake, INDEX_KEY, read_v3, found[0])
            index.ids, index.authors = columns["ids"], columns["authors"]
            index.created, index.refreshed, index.deleted = columns["created"], columns["refreshed"], columns["deleted"]
            index.latest = dict(zip(columns["edited_ids"], columns["edited_latest"], strict=True))
            index.created_sorted = bool(header.get("created_sorted")) or index._check_sorted()
            index.doubt = dict(zip(columns["doubt_ids"], columns["doubt_since"], strict=True))
        else:
            legacy = lake.read_versioned(LEGACY_INDEX_KEY)
            if not legacy:
                return index
            index.stored = True
            header, entries = corrupt_as_state(lake, LEGACY_INDEX_KEY, legacy_entries, legacy[0])
            corrupt_as_state(lake, LEGACY_INDEX_KEY, index._learn_legacy, entries)
            index._merge()
            index._migrated = True
        index.complete_before = header["complete_before"]
        index.covered = set(header["covered"])
        return index

    def _learn_legacy(self, entries: Iterable[IndexEntry]) -> None:
        for e in entries:
            self._new[e.tweet_id] = [e.author_id, e.created_epoch, e.refreshed_epoch, int(e.deleted)]
            if e.latest_id != e.tweet_id:
                self.latest[e.tweet_id] = e.latest_id
            if e.not_found_since:
                self.doubt[e.tweet_id] = e.not_found_since

    @staticmethod
    def author_counts(lake: Lake, *, max_bytes: int | None = None) -> Counter[str] | None:
        """Known tweets per author id, deleted ones left out, as of the last metrics run; ``None``
        before the first one, or when the stored index is larger than ``max_bytes``."""
        for key in (INDEX_KEY, LEGACY_INDEX_KEY):
            try:
                if max_bytes is not None and lake.size(key) > max_bytes:
                    return None
                data = lake.get_bytes(key)
            except ObjectNotFound:
                continue
            if key == INDEX_KEY:
                _, columns = corrupt_as_state(lake, key, read_v3, data)
                return Counter(str(a) for a, d in zip(columns["authors"], columns["deleted"], strict=True) if not d)
            return Counter(str(e.author_id) for e in legacy_entries(data)[1] if not e.deleted)
        return None

    def save(self, lake: Lake) -> None:
        self._merge()
        self._compact_coverage()
        edited = sorted(self.latest.items())
        doubt = sorted(self.doubt.items())
        columns: dict[str, array[int]] = {
            "ids": self.ids,
            "authors": self.authors,
            "created": self.created,
            "refreshed": self.refreshed,
            "deleted": self.deleted,
            "edited_ids": array("q", (k for k, _ in edited)),
            "edited_latest": array("q", (v for _, v in edited)),
            "doubt_ids": array("q", (k for k, _ in doubt)),
            "doubt_since": array("I", (v for _, v in doubt)),
        }
        header = {
            "version": 3,
            "complete_before": self.complete_before,
            "covered": sorted(self.covered),
            "count": len(self.ids),
            "created_sorted": self.created_sorted or self._check_sorted(),
        }
        lake.put_bytes(INDEX_KEY, encode(header, columns))
        if self._migrated and lake.exists(LEGACY_INDEX_KEY):
            lake.delete(LEGACY_INDEX_KEY)  # migrated: one index only
            self._migrated = False

    def _compact_coverage(self) -> None:
        days = sorted({parse_raw_key(k)["dt"] for k in self.covered if parse_raw_key(k)})  # type: ignore[index]
        if not days:
            return
        watermark = (date.fromisoformat(days[-1]) - timedelta(days=LATE_FILE_DAYS)).isoformat()
        if watermark > self.complete_before:
            self.complete_before = watermark
            self.covered = {k for k in self.covered if (parse_raw_key(k) or {}).get("dt", "") >= watermark}

    def _merge(self) -> None:
        """Lay the tweets learned since the columns were built into them, in id order."""
        if not self._new:
            return
        new = sorted(self._new.items())
        self._new = {}
        if not self.ids or new[0][0] > self.ids[-1]:  # the usual case: newer than every known tweet
            created = [e[1] for _, e in new]
            self.created_sorted = (
                self.created_sorted
                and (not self.created or created[0] >= self.created[-1])
                and all(a <= b for a, b in itertools.pairwise(created))
            )
            self.ids.extend(i for i, _ in new)
            self.authors.extend(e[0] for _, e in new)
            self.created.extend(e[1] for _, e in new)
            self.refreshed.extend(e[2] for _, e in new)
            self.deleted.extend(e[3] for _, e in new)
            return
        old = (self.ids, self.authors, self.created, self.refreshed, self.deleted)
        out = tuple(array(col.typecode) for col in old)
        start = 0
        for tweet_id, entry in new:
            pos = bisect.bisect_left(old[0], tweet_id, lo=start)
            for column, target in zip(old, out, strict=True):
                target.extend(column[start:pos])
            for value, target in zip((tweet_id, *entry), out, strict=True):
                target.append(value)
            start = pos
        for column, target in zip(old, out, strict=True):
            target.extend(column[start:])
        self.ids, self.authors, self.created, self.refreshed, self.deleted = out
        self.created_sorted = self._check_sorted()

    def _check_sorted(self) -> bool:
        created = self.created
        self.created_sorted = all(a <= b for a, b in itertools.pairwise(created))
        return self.created_sorted

    # -- one tweet -------------------------------------------------------------------------------
    def _pos(self, tweet_id: int) -> int | None:
        pos = bisect.bisect_left(self.ids, tweet_id)
        return pos if pos < len(self.ids) and self.ids[pos] == tweet_id else None

    def __len__(self) -> int:
        return len(self.ids) + len(self._new)

    def __contains__(self, tweet_id: object) -> bool:
        return isinstance(tweet_id, int) and (tweet_id in self._new or self._pos(tweet_id) is not None)

    def get(self, tweet_id: int) -> IndexEntry | None:
        if (entry := self._new.get(tweet_id)) is not None:
            author, created, refreshed, deleted = entry
        elif (pos := self._pos(tweet_id)) is not None:
            author, created = self.authors[pos], self.created[pos]
            refreshed, deleted = self.refreshed[pos], self.deleted[pos]
        else:
            return None
        return IndexEntry(
            tweet_id,
            author,
            created,
            self.latest.get(tweet_id, tweet_id),
            bool(deleted),
            self.doubt.get(tweet_id, 0),
            refreshed,
        )

    def _set(
        self,
        tweet_id: int,
        *,
        author: int | None = None,
        created: int | None = None,
        refreshed: int | None = None,
        deleted: int | None = None,
    ) -> None:
        """Change a known tweet's fields, or learn it (with what is not given as 0 / its id's time)."""
        entry = self._new.get(tweet_id)
        pos = None if entry is not None else self._pos(tweet_id)
        if entry is None and pos is None:
            entry = self._new[tweet_id] = [0, snowflake_time(tweet_id), 0, 0]
        values = (author, created, refreshed, deleted)
        if entry is not None:
            for field, value in enumerate(values):
                if value is not None:
                    entry[field] = value
            return
        assert pos is not None
        if created is not None and created != self.created[pos]:
            self.created_sorted = False  # checked again at the next save
        for column, value in zip((self.authors, self.created, self.refreshed, self.deleted), values, strict=True):
            if value is not None:
                column[pos] = value

    def entries(self) -> Iterator[IndexEntry]:
        """Every known tweet (for tests and tools; the selection works on the columns)."""
        self._merge()
        for pos, tweet_id in enumerate(self.ids):
            yield IndexEntry(
                tweet_id,
                self.authors[pos],
                self.created[pos],
                self.latest.get(tweet_id, tweet_id),
                bool(self.deleted[pos]),
                self.doubt.get(tweet_id, 0),
                self.refreshed[pos],
            )

    # -- learning ----------------------------------------------------------------------------------
    def refresh_from_lake(self, lake: Lake) -> int:
        """Index the raw tweets files not seen yet; returns how many files were read.

        A tweet collected with its ``public_metrics`` counts as refreshed when it was collected: its
        metrics are in the lake, so no metrics run reads it again before its tier asks. An index
        rebuilt from the lake (none was stored) takes each tweet's last refresh from its newest
        collection in ``raw/tweets`` or ``raw/tweet_metrics`` (``rebuilt`` then says so)."""
        read = 0
        for day in list_partitions(lake, "tweets"):
            if day.isoformat() < self.complete_before:
                continue
            for obj in lake.list(raw_prefix("tweets", day)):
                if obj.key in self.covered or not parse_raw_key(obj.key):
                    continue
                for record in iter_raw_records(lake, obj.key):
                    if isinstance(record.get("data"), dict):
                        self.add_tweet(record["data"], collected_at=record.get("collected_at"))
                self.covered.add(obj.key)
                read += 1
        if not self.stored:
            self.stored = True  # once per index
            for day in list_partitions(lake, "tweet_metrics"):
                self.rebuilt = True
                for obj in lake.list(raw_prefix("tweet_metrics", day)):
                    for record in iter_raw_records(lake, obj.key):
                        data = record.get("data")
                        if isinstance(data, dict) and str(data.get("id", "")).isdigit() and int(data["id"]) in self:
                            self._note_collected(int(data["id"]), record.get("collected_at"))
        return read

    def add_tweet(self, tweet: dict[str, Any], *, collected_at: Any = None) -> None:
        """Learn a tweet; ``collected_at`` (when the answer carrying it was received): with its
        ``public_metrics``, it counts as refreshed then."""
        tweet_id = _number(tweet.get("id"))
        if not tweet_id:  # no post id: the glue jobs quarantine it; nothing to refresh
            return
        raw_history: Any = tweet.get("edit_history_tweet_ids")
        history = [h for h in map(_number, raw_history if isinstance(raw_history, list) else []) if h]
        created_epoch = snowflake_time(tweet_id)
        with contextlib.suppress(ValueError, OverflowError):  # a created_at that is no time: the id's
            if tweet.get("created_at"):
                created_epoch = int(parse_time(str(tweet["created_at"])).timestamp())
        author = _number(tweet.get("author_id")) or 0
        self._set(tweet_id, author=author, created=created_epoch)
        if collected_at and isinstance(tweet.get("public_metrics"), dict):
            self._note_collected(tweet_id, collected_at)
        self.note_versions([*history, tweet_id])

    def _note_collected(self, tweet_id: int, collected_at: Any) -> None:
        try:
            when = int(parse_time(str(collected_at)).timestamp())
        except ValueError:
            return
        entry = self.get(tweet_id)
        if entry is not None and entry.refreshed_epoch < when:
            self._set(tweet_id, refreshed=when)

    def note_versions(self, history: Iterable[int]) -> None:
        """Every known version of an edit chain points at the newest (only versions an edit could
        have made: :func:`~ingestion.tweet_index.storage.edit_chain`)."""
        versions = edit_chain(list(history))
        if not versions:
            return
        latest = max(versions)
        for version in versions:
            if version != latest and version in self and self.latest.get(version, version) < latest:
                self.latest[version] = latest

    def latest_of(self, tweet_id: int) -> int:
        return self.latest.get(tweet_id, tweet_id)

    def note_refreshed(self, tweet_id: int, when: int) -> None:
        """The API answered for ``tweet_id`` at ``when`` (epoch s): its metrics are fresh."""
        if tweet_id in self:
            self._set(tweet_id, refreshed=when)

    def mark_deleted(self, tweet_id: int) -> None:
        """Older versions pointing at a deleted newest version drop out of :meth:`due` with it."""
        self._set(tweet_id, deleted=1)

    def mark_not_found(self, tweet_id: int, now: int) -> bool:
        """Record a "Not Found" answer at ``now`` (epoch s); True when it confirms the deletion: an
        earlier "Not Found" at least :data:`CONFIRM_DELETION_AFTER` before, with no answer between."""
        entry = self.get(tweet_id)
        if entry is None:
            self._set(tweet_id)
        elif entry.deleted:
            return False  # already deleted: nothing new
        since = self.doubt.get(tweet_id)
        if not since:
            self.doubt[tweet_id] = now
            return False
        if now - since >= CONFIRM_DELETION_AFTER:
            self.doubt.pop(tweet_id, None)
            self._set(tweet_id, deleted=1)
            return True
        return False

    def note_found(self, tweet_id: int) -> None:
        """The API answered for the tweet: an earlier "Not Found" was not the last word."""
        self.doubt.pop(tweet_id, None)

    # -- asking ------------------------------------------------------------------------------------
    def due(self, now: int, policy: Policy, author_ids: set[int] | None = None) -> list[int]:
        """Unique newest-version ids whose refresh the policy asks for at ``now``, youngest first,
        without deleted tweets (:func:`ingestion.tweet_index.selection.due`)."""
        return due(self, now, policy, author_ids)

    def targets(self, author_ids: set[int] | None = None, created_after: datetime | None = None) -> list[str]:
        """Every unique newest-version id to refresh (no policy), oldest first, without deleted tweets."""
        from ingestion.policy import EVERY_RUN

        now = 2**32 - 1
        policy = EVERY_RUN if created_after is None else EVERY_RUN.ending_at((now - created_after.timestamp()) / 86400)
        return [str(i) for i in sorted(self.due(now, policy, author_ids))]


def _number(value: Any) -> int | None:
    """An id of an answer as a number (``None``: not one: a malformed answer never stops a run)."""
    text = str(value)
    return int(text) if text.isdigit() and len(text) <= 19 and int(text) < 2**63 else None
