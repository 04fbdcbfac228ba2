"""The index of known tweets that the metrics collector refreshes: ``state/tweet_index/index.v3.bin``.

It is derived from the lake, not written beside it: each metrics run reads the ``raw/tweets`` files
it has not indexed yet (only in ``dt=`` partitions at or after ``complete_before``), so it can never
disagree with what the tweets collector published, whatever crashed where. It also keeps what the
metrics runs learn: when each tweet was last refreshed (the refresh policy asks it:
:mod:`ingestion.policy`), the latest version of an edited tweet, and tweets the API reports deleted
(never asked for again, once confirmed: see :meth:`TweetIndex.mark_not_found`).

**Compact, columnar.** 10,000,000 known tweets must fit a metrics run under 1 GB, so a tweet is not
a Python object: the index is five parallel ``array`` columns sorted by tweet id — id and author
(8 bytes each), created and last refresh (epoch seconds, 4 bytes each), deleted (1 byte): 25 bytes
a tweet — and two small maps for the rare cases (an edited tweet's newest version; the first
unconfirmed "Not Found"). A lookup by id is a binary search; tweets learned during a run wait in
a small dict and are merged into the columns (a C-speed append when they are newer than all, as new
tweets are) before a selection or a save.

**Stored form** (version 3): a line ``tweetlake-tweet-index 3``, a JSON header line
(``complete_before``, ``covered``, ``count``, the columns' byte lengths), then each column's bytes,
zlib-compressed. An index written before version 3 (``state/tweet_index/index.jsonl.gz``, one JSON
list a tweet) is read once and migrated: the next save writes version 3 and deletes it. Only this
module knows these shapes (other readers ask :meth:`TweetIndex.author_counts`).
"""

from __future__ import annotations

import bisect
import gzip
import io
import itertools
import json
import zlib
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from common.lake import Lake, ObjectNotFound
from common.layout import list_partitions, parse_raw_key, parse_time, raw_prefix
from common.rawio import iter_raw_records

if TYPE_CHECKING:
    from ingestion.policy import Policy

INDEX_KEY = "state/tweet_index/index.v3.bin"
LEGACY_INDEX_KEY = "state/tweet_index/index.jsonl.gz"
MAGIC = b"tweetlake-tweet-index 3\n"
# A tweets run that started on day D publishes into dt=D even if it ends later; three days of
# partitions are re-listed so that such late files are still found.
LATE_FILE_DAYS = 3

SNOWFLAKE_EPOCH_MS = 1288834974657
CONFIRM_DELETION_AFTER = 24 * 3600
"""A tweet is deleted when "Not Found" answers this many seconds apart (or more) say so."""

_COLUMNS = (
    ("ids", "q"),
    ("authors", "q"),
    ("created", "I"),
    ("refreshed", "I"),
    ("deleted", "B"),
    ("edited_ids", "q"),
    ("edited_latest", "q"),
    ("doubt_ids", "q"),
    ("doubt_since", "I"),
)


def snowflake_time(tweet_id: int) -> int:
    """Epoch seconds a tweet id encodes."""
    return ((tweet_id >> 22) + SNOWFLAKE_EPOCH_MS) // 1000


class IndexEntry(NamedTuple):
    """One known tweet, as the index knows it."""

    tweet_id: int
    author_id: int  # 0 when unknown (a deleted tweet the index never saw whole)
    created_epoch: int  # epoch seconds
    latest_id: int  # the newest version of its edit chain: what a refresh asks for
    deleted: bool
    not_found_since: int = 0  # epoch seconds of the first "Not Found" not yet confirmed (0: none)
    refreshed_epoch: int = 0  # epoch seconds of the last metrics refresh (0: never)


def _legacy_entries(data: bytes) -> tuple[dict[str, Any], Iterator[IndexEntry]]:
    """The header and entries of a version 1/2 index (one JSON list a line)."""
    gz = gzip.GzipFile(fileobj=io.BytesIO(data))
    header = json.loads(gz.readline())

    def entries() -> Iterator[IndexEntry]:
        with gz:
            for line in gz:
                tweet_id, author, created, latest, deleted, *rest = json.loads(line)
                yield IndexEntry(
                    tweet_id,
                    author,
                    created,
                    latest,
                    bool(deleted),
                    rest[0] if rest else 0,
                    rest[1] if len(rest) > 1 else 0,
                )

    return header, entries()


def _read_v3(data: bytes) -> tuple[dict[str, Any], dict[str, array[int]]]:
    if not data.startswith(MAGIC):
        raise ValueError("not a version 3 tweet index")
    end = data.index(b"\n", len(MAGIC))
    header = json.loads(data[len(MAGIC) : end])
    offset = end + 1
    columns: dict[str, array[int]] = {}
    for name, code in _COLUMNS:
        size = header["column_bytes"][name]
        column = array(code)
        column.frombytes(zlib.decompress(data[offset : offset + size]))
        columns[name] = column
        offset += size
    return header, columns


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

    # -- persistence -----------------------------------------------------------------------------
    @classmethod
    def load(cls, lake: Lake) -> TweetIndex:
        index = cls()
        found = lake.read_versioned(INDEX_KEY)
        if found:
            header, columns = _read_v3(found[0])
            index.ids, index.authors = columns["ids"], columns["authors"]
            index.created, index.refreshed, index.deleted = columns["created"], columns["refreshed"], columns["deleted"]
            index.latest = dict(zip(columns["edited_ids"], columns["edited_latest"], strict=True))
            index.created_sorted = bool(header.get("created_sorted")) or index._check_sorted()
            index.doubt = dict(zip(columns["doubt_ids"], columns["doubt_since"], strict=True))
        else:
            legacy = lake.read_versioned(LEGACY_INDEX_KEY)
            if not legacy:
                return index
            header, entries = _legacy_entries(legacy[0])
            for e in entries:
                index._new[e.tweet_id] = [e.author_id, e.created_epoch, e.refreshed_epoch, int(e.deleted)]
                if e.latest_id != e.tweet_id:
                    index.latest[e.tweet_id] = e.latest_id
                if e.not_found_since:
                    index.doubt[e.tweet_id] = e.not_found_since
            index._merge()
            index._migrated = True
        index.complete_before = header["complete_before"]
        index.covered = set(header["covered"])
        return index

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
                _, columns = _read_v3(data)
                return Counter(str(a) for a, d in zip(columns["authors"], columns["deleted"], strict=True) if not d)
            return Counter(str(e.author_id) for e in _legacy_entries(data)[1] if not e.deleted)
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
        blobs = [zlib.compress(columns[name].tobytes(), 1) for name, _ in _COLUMNS]
        header = {
            "version": 3,
            "complete_before": self.complete_before,
            "covered": sorted(self.covered),
            "count": len(self.ids),
            "created_sorted": self.created_sorted or self._check_sorted(),
            "column_bytes": {name: len(b) for (name, _), b in zip(_COLUMNS, blobs, strict=True)},
        }
        lake.put_bytes(INDEX_KEY, b"".join([MAGIC, json.dumps(header).encode(), b"\n", *blobs]))
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
        created = tweet.get("created_at")
        created_epoch = int(parse_time(str(created)).timestamp()) if created else snowflake_time(tweet_id)
        author = int(str(tweet.get("author_id") or 0))
        self._set(tweet_id, author=author, created=created_epoch)
        self.note_versions([*history, tweet_id])

    def note_versions(self, history: Iterable[int]) -> None:
        """Every known version of an edit chain points at the newest."""
        versions = list(history)
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
        without deleted tweets. An old version counts by its newest version's age and refresh."""
        from ingestion.policy import GRACE_MIN_SECONDS, GRACE_SHARE

        self._merge()
        # A tier holds the tweets created in (now - end, now - start]; ``edges`` are the tiers'
        # ``now - start``, oldest tier first, so bisect finds a tweet's tier; ``thresholds`` are the
        # refresh times at or before which a tweet of that tier is due (a tweet from the future: the
        # youngest tier).
        ordered = list(reversed(policy.tiers))
        edges = [now - t.start for t in ordered]
        thresholds = [
            now - t.interval + max(GRACE_MIN_SECONDS, GRACE_SHARE * t.interval) if t.interval else 2**62
            for t in ordered
        ]
        thresholds.append(thresholds[-1])
        oldest = now - ordered[0].end if ordered[0].end is not None else -(2**62)
        if self.created_sorted:
            return self._due_by_slices(now, policy, author_ids)
        wanted: list[tuple[int, int]] = []  # (created, id)
        deleted_ids: set[int] = set()
        latest = self.latest
        find = bisect.bisect_left
        for tweet_id, created, refreshed, deleted, author in zip(
            self.ids, self.created, self.refreshed, self.deleted, self.authors, strict=True
        ):
            if created <= oldest or (refreshed and refreshed > thresholds[find(edges, created)]):
                continue  # too old for any tier, or refreshed recently enough
            if deleted:
                deleted_ids.add(tweet_id)
                continue
            if author_ids is not None and author not in author_ids:
                continue
            target = tweet_id
            if latest and tweet_id in latest:
                target = latest[tweet_id]
                if self._pos(target) is not None:
                    continue  # the newest version is an entry of its own: it decides
            wanted.append((created, target))
        wanted.sort(reverse=True)
        seen: set[int] = set()
        out = []
        for _, target in wanted:
            if target not in seen and target not in deleted_ids:
                seen.add(target)
                out.append(target)
        return out

    def _due_by_slices(self, now: int, policy: Policy, author_ids: set[int] | None) -> list[int]:
        """:meth:`due` when ``created`` follows the id order: each tier is one slice of the columns,
        and only its refresh times are looked at one by one."""
        from ingestion.policy import GRACE_MIN_SECONDS, GRACE_SHARE

        ids, created, latest = self.ids, self.created, self.latest
        deleted_ids: set[int] = set()
        if self.deleted.count(1):
            flags = self.deleted.tobytes()
            at = flags.find(1)
            while at >= 0:
                deleted_ids.add(ids[at])
                at = flags.find(1, at + 1)
        wanted: list[tuple[int, int]] = []  # (created, id)
        for number, tier in enumerate(policy.tiers):
            # the tier holds the tweets created in (now - end, now - start]; the youngest tier also
            # any tweet a little ahead of this clock
            lo = bisect.bisect_right(created, now - tier.end) if tier.end is not None else 0
            hi = len(ids) if number == 0 else bisect.bisect_right(created, now - tier.start)
            # due: never refreshed (0) or refreshed at or before this (an int: refresh times are)
            threshold = (
                int(now - tier.interval + max(GRACE_MIN_SECONDS, GRACE_SHARE * tier.interval))
                if tier.interval
                else 2**62
            )
            # the positions whose refresh time is at most the threshold, picked at C speed
            for pos in itertools.compress(range(lo, hi), map(threshold.__ge__, self.refreshed[lo:hi])):
                tweet_id = ids[pos]
                if tweet_id in deleted_ids or (author_ids is not None and self.authors[pos] not in author_ids):
                    continue
                target = tweet_id
                if latest and tweet_id in latest:
                    target = latest[tweet_id]
                    if self._pos(target) is not None:
                        continue  # the newest version is an entry of its own: it decides
                wanted.append((created[pos], target))
        wanted.sort(reverse=True)
        seen: set[int] = set()
        out = []
        for _, target in wanted:
            if target not in seen and target not in deleted_ids:
                seen.add(target)
                out.append(target)
        return out

    def targets(self, author_ids: set[int] | None = None, created_after: datetime | None = None) -> list[str]:
        """Every unique newest-version id to refresh (no policy), oldest first, without deleted tweets."""
        from ingestion.policy import EVERY_RUN

        now = 2**32 - 1
        policy = EVERY_RUN if created_after is None else EVERY_RUN.ending_at((now - created_after.timestamp()) / 86400)
        return [str(i) for i in sorted(self.due(now, policy, author_ids))]
