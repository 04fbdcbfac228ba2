"""What the lake can cheaply say about a tracked account, for ``GET /accounts``.

Nothing here scans the raw data per request:

* **last profile snapshot** — the day the users collector recorded in the registry when it
  published the account's profile (``state/``: what the Lambda role may read). For an account
  without one (a registry from before that), the newest ``raw/users/dt=…`` partition that holds a
  profile record (``data``, not an error) of the account, when reading ``raw/`` is allowed.
  Partitions are walked newest first and the walk stops as soon as every asked-for account is
  found, or after :data:`SNAPSHOT_LOOKBACK` partitions. A raw file never changes once published (a
  new run writes new files), so what a file holds is cached by its key: a warm process reads only
  users files it has not seen yet — one small file a day.
* **tweets** — ``state/tweets/cursors.json`` (one small document: the newest tweet id collected
  per account, when the cursor moved, whether a backfill is still pending) and, for a count, the
  metrics collector's tweet index ``state/tweet_index/index.jsonl.gz`` (as of the last metrics run).
  The index is re-read at most every :data:`INDEX_TTL_SECONDS` per process, and not at all when it
  is larger than :data:`INDEX_MAX_BYTES` (the count is then ``null``).

When the lake refuses a read (the Lambda role may be limited to ``state/``), or the cursors or the
tweet index cannot be decoded (a warning in the log), the fields they feed are ``null``: the API
answers from whatever state it can read.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass

from common.lake import Lake, LakeAccessDenied, LakeError
from common.layout import list_partitions, raw_prefix
from common.rawio import iter_raw_records
from ingestion.cursors import AccountCursor, CursorStore
from ingestion.errors import StateCorrupt
from ingestion.registry import Account
from ingestion.tweet_index import TweetIndex

log = logging.getLogger(__name__)

SNAPSHOT_LOOKBACK = 35  # partitions (days with a users run) looked at before saying "none recent"
INDEX_TTL_SECONDS = 60.0
INDEX_MAX_BYTES = 64 * 1024 * 1024
_FILE_CACHE_SIZE = 512


@dataclass(frozen=True)
class TweetsInfo:
    newest_id: str | None
    cursor_updated_at: str | None
    backfill_pending: bool
    collected: int | None


class LakeInsights:
    """Per-process caches over one lake; safe to share between request threads."""

    def __init__(self, lake: Lake, *, snapshots: bool = True) -> None:
        self.lake = lake
        self.snapshots_enabled = snapshots
        self._lock = threading.Lock()
        self._files: OrderedDict[str, frozenset[str]] = OrderedDict()  # users file -> ids and "@name"s
        self._index_counts: Counter[str] | None = None
        self._index_read_at = float("-inf")

    # -- profile snapshots -------------------------------------------------------------------
    def _profiles_in(self, key: str) -> frozenset[str]:
        with self._lock:
            if key in self._files:
                self._files.move_to_end(key)
                return self._files[key]
        found: set[str] = set()
        try:
            for record in iter_raw_records(self.lake, key):
                data = record.get("data") if isinstance(record, dict) else None
                if isinstance(data, dict):
                    if data.get("id"):
                        found.add(str(data["id"]))
                    if data.get("username"):
                        found.add("@" + str(data["username"]).lower())
        except (ValueError, EOFError, OSError) as err:  # a damaged raw file: what it holds is unknown
            log.warning("%s cannot be read (%s: %s); skipped for profile snapshots", key, type(err).__name__, err)
            return frozenset()
        names = frozenset(found)
        with self._lock:
            self._files[key] = names
            while len(self._files) > _FILE_CACHE_SIZE:
                self._files.popitem(last=False)
        return names

    def last_snapshots(self, accounts: list[Account]) -> dict[str, str | None]:
        """``lower username -> "YYYY-MM-DD"`` (or ``None``) for each account."""
        # The users collector records the day in the registry (state/); raw/users/ is read only
        # for accounts it has not recorded yet (registries from older versions), when allowed.
        result: dict[str, str | None] = {a.username.lower(): a.last_snapshot_day for a in accounts}
        wanted = {a.username.lower(): a for a in accounts if not a.last_snapshot_day}
        if not wanted or not self.snapshots_enabled:
            return result
        try:
            days = list_partitions(self.lake, "users")[::-1]  # newest first
            for day in days[:SNAPSHOT_LOOKBACK]:
                if not wanted:
                    break
                held: set[str] = set()
                for obj in self.lake.list(raw_prefix("users", day)):
                    held |= self._profiles_in(obj.key)
                for name, account in list(wanted.items()):
                    if (account.user_id and account.user_id in held) or "@" + name in held:
                        result[name] = day.isoformat()
                        del wanted[name]
        except LakeAccessDenied:  # the role may not read raw/users/
            log.warning("profile snapshot lookup not allowed on this lake (access denied); reporting null")
        except (LakeError, OSError) as err:
            log.warning("profile snapshot lookup failed: %s", type(err).__name__)
        return result

    # -- tweets --------------------------------------------------------------------------------
    def _cursors(self) -> dict[str, AccountCursor]:
        try:
            return CursorStore(self.lake).read()
        except LakeAccessDenied:  # a missing key without s3:ListBucket is a 403
            return {}
        except StateCorrupt as err:  # answer from what can be read: the cursors' fields are null
            log.warning("tweets cursors unreadable, their fields answer null: %s", err)
            return {}

    def _index_author_counts(self) -> Counter[str] | None:
        with self._lock:
            if time.monotonic() - self._index_read_at < INDEX_TTL_SECONDS:
                return self._index_counts
        try:
            counts = TweetIndex.author_counts(self.lake, max_bytes=INDEX_MAX_BYTES)
        except LakeAccessDenied:
            counts = None
        except LakeError:
            raise
        except Exception as err:  # a corrupt index (any shape of it): the counts are unknown, not a 500
            log.warning(
                "the tweet index cannot be read (%s: %s): `collected` answers null until the next metrics run "
                "rebuilds it (or delete state/tweet_index/)",
                type(err).__name__,
                err,
            )
            counts = None
        with self._lock:
            self._index_counts, self._index_read_at = counts, time.monotonic()
        return counts

    def tweets(self, accounts: list[Account]) -> dict[str, TweetsInfo]:
        cursors = self._cursors()
        counts = self._index_author_counts() if any(a.user_id for a in accounts) else None
        out: dict[str, TweetsInfo] = {}
        for account in accounts:
            cursor = cursors.get(account.user_id) if account.user_id else None
            collected: int | None = None
            if counts is not None and account.user_id and account.user_id in counts:
                collected = counts[account.user_id]
            elif counts is not None and cursor is not None and not cursor.newest_id and cursor.pending is None:
                collected = 0  # a pass ran and found nothing since --since (a quiet account)
            # else: not collected yet, or collected after the last metrics run built the index: unknown
            if cursor is None:
                out[account.username.lower()] = TweetsInfo(None, None, False, collected)
                continue
            out[account.username.lower()] = TweetsInfo(
                newest_id=cursor.newest_id or (cursor.pending.top_id if cursor.pending else None),
                cursor_updated_at=cursor.updated_at,
                backfill_pending=cursor.pending is not None or bool(cursor.gaps),  # a gap waits for search
                collected=collected,
            )
        return out
