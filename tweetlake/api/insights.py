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

When the lake refuses a read (the Lambda role may be limited to ``state/``), the field is ``null``.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import threading
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass
from typing import Any

from common.lake import Lake, LakeError, ObjectNotFound
from common.layout import raw_prefix
from common.rawio import iter_raw_records
from ingestion.collectors.tweets import CURSORS_KEY
from ingestion.registry import Account
from ingestion.state import read_json
from ingestion.tweet_index import INDEX_KEY

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


def _is_access_denied(err: Exception) -> bool:
    code = getattr(err, "response", {}).get("Error", {}).get("Code")
    return code in ("AccessDenied", "403", "Forbidden")


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
        for record in iter_raw_records(self.lake, key):
            data = record.get("data")
            if isinstance(data, dict):
                if data.get("id"):
                    found.add(str(data["id"]))
                if data.get("username"):
                    found.add("@" + str(data["username"]).lower())
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
            days = sorted((d[3:] for d in self.lake.list_dirs(raw_prefix("users")) if d.startswith("dt=")),
                          reverse=True)
            for day in days[:SNAPSHOT_LOOKBACK]:
                if not wanted:
                    break
                held: set[str] = set()
                for obj in self.lake.list(raw_prefix("users", day)):
                    held |= self._profiles_in(obj.key)
                for name, account in list(wanted.items()):
                    if (account.user_id and account.user_id in held) or "@" + name in held:
                        result[name] = day
                        del wanted[name]
        except (LakeError, OSError) as err:
            log.warning("profile snapshot lookup failed: %s", type(err).__name__)
        except Exception as err:  # botocore's ClientError: the role may not read raw/users/
            if not _is_access_denied(err):
                raise
            log.warning("profile snapshot lookup not allowed on this lake (access denied); reporting null")
        return result

    # -- tweets --------------------------------------------------------------------------------
    def _read_state(self, key: str) -> Any:
        try:
            return read_json(self.lake, key)
        except Exception as err:
            if _is_access_denied(err):  # a missing key without s3:ListBucket is a 403
                return None
            raise

    def _index_author_counts(self) -> Counter[str] | None:
        with self._lock:
            if time.monotonic() - self._index_read_at < INDEX_TTL_SECONDS:
                return self._index_counts
        counts: Counter[str] | None = None
        try:
            if self.lake.size(INDEX_KEY) <= INDEX_MAX_BYTES:
                counts = Counter()
                with gzip.GzipFile(fileobj=io.BytesIO(self.lake.get_bytes(INDEX_KEY))) as gz:
                    gz.readline()  # header
                    for line in gz:
                        _tweet_id, author, _created, _latest, deleted = json.loads(line)
                        if not deleted:
                            counts[str(author)] += 1
        except ObjectNotFound:
            counts = None
        except Exception as err:
            if not _is_access_denied(err):
                raise
            counts = None
        with self._lock:
            self._index_counts, self._index_read_at = counts, time.monotonic()
        return counts

    def tweets(self, accounts: list[Account]) -> dict[str, TweetsInfo]:
        cursors = (self._read_state(CURSORS_KEY) or {}).get("accounts", {})
        counts = self._index_author_counts() if any(a.user_id for a in accounts) else None
        out: dict[str, TweetsInfo] = {}
        for account in accounts:
            cursor = cursors.get(account.user_id, {}) if account.user_id else {}
            collected: int | None = None
            if counts is not None and account.user_id and account.user_id in counts:
                collected = counts[account.user_id]
            elif counts is not None and cursor and not cursor.get("newest_id") and not cursor.get("pending"):
                collected = 0  # a pass ran and found nothing since --since (a quiet account)
            # else: not collected yet, or collected after the last metrics run built the index: unknown
            out[account.username.lower()] = TweetsInfo(
                newest_id=cursor.get("newest_id") or (cursor.get("pending") or {}).get("top_id"),
                cursor_updated_at=cursor.get("updated_at"),
                backfill_pending=bool(cursor.get("pending")),
                collected=collected,
            )
        return out
