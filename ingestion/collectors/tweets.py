"""tweets (every 4 h): every tweet of every tracked account since ``--since``, incrementally.

Per account, ``GET /2/users/:id/tweets`` pages from the newest tweet down to the lower bound:
``since_id`` = the newest tweet already in the lake, else ``start_time`` = ``--since``.

**The cursor never runs ahead of the lake.** Cursor changes are *staged* while pages are written
and committed only after the raw file holding those pages is published (the writer's publish
hook), so a crash loses at most the records that were not yet in the lake, and re-fetches exactly
those. An account whose pass was interrupted after some files were published keeps a ``pending``
marker ``{lower bound, until_id = oldest tweet written, top_id = newest tweet written}``: the next
run first fetches the rest of that backlog (``until_id``), then what is new above ``top_id``. So
a crash never leaves a gap (moving ``since_id`` past an unfetched backlog) and never duplicates
beyond the file being written.

The timeline serves only an account's newest 3,200 tweets (800 with ``exclude=replies``). When a
pass ends at that cap, the summary says so, with the number of tweets the endpoint could not reach
(the profile's ``tweet_count`` minus what is reachable: one ``GET /2/users/:id`` per capped account).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from common.layout import isoformat_z
from ingestion.client import APIError, NotFoundError, PaginationLoopError
from ingestion.collectors.base import CollectorRun, Progress, RunSummary
from ingestion.collectors.users import classify_user_error, resolve_user_ids
from ingestion.registry import Account, Registry
from ingestion.state import read_json, update_json

log = logging.getLogger(__name__)

CURSORS_KEY = "state/tweets/cursors.json"
TIMELINE_CAP = 3200
TIMELINE_CAP_NO_REPLIES = 800
DEFAULT_SINCE = datetime(2022, 1, 1, tzinfo=UTC)


@dataclass
class _Pass:
    lower: dict[str, str]  # {"since_id": …} or {"start_time": …}
    until_id: str | None = None
    top_id: str | None = None  # newest tweet written in this pass (carried over when resuming)
    oldest_id: str | None = None
    fetched: int = 0  # tweets written in this pass (carried over when resuming)

    def pending(self) -> dict[str, Any]:
        return {"lower": self.lower, "until_id": self.oldest_id or self.until_id, "top_id": self.top_id,
                "fetched": self.fetched}


def _max_id(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return a if int(a) >= int(b) else b


class TweetsCollector(CollectorRun):
    dataset = "tweets"

    def __init__(self, *args: Any, since: datetime = DEFAULT_SINCE, exclude: tuple[str, ...] = (),
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.since = since
        self.exclude = tuple(sorted(exclude))
        self.cap = TIMELINE_CAP_NO_REPLIES if "replies" in self.exclude else TIMELINE_CAP
        self._staged: dict[str, dict[str, Any]] = {}
        self._capped: dict[str, int] = {}  # user_id -> tweets fetched when the cap was reached

    # -- cursor state ----------------------------------------------------------------------------
    def _published(self, key: str, count: int) -> None:
        super()._published(key, count)
        self._commit_staged()

    def finish(self) -> RunSummary:
        summary = super().finish()  # publishes the last part, committing what it covers
        self._commit_staged()  # passes that ended with nothing left to write (e.g. no new tweets)
        return summary

    def _commit_staged(self) -> None:
        """Persist the cursor changes that the files published so far make true.

        Staged changes assume every record written so far is durable; once a part failed to
        publish, that is false, and they are dropped: the next run re-fetches from the last
        committed cursor, so nothing is skipped.
        """
        if self.writer.failed:
            self._staged.clear()
        if not self._staged or self.writer.pending:
            return
        staged, self._staged = self._staged, {}

        def change(doc: Any) -> tuple[Any, None]:
            doc = doc or {"version": 1, "accounts": {}}
            for user_id, entry in staged.items():
                doc["accounts"][user_id] = {**doc["accounts"].get(user_id, {}), **entry}
            return doc, None

        update_json(self.lake, CURSORS_KEY, change)

    def _stage(self, user_id: str, username: str, newest_id: str | None, pending: dict[str, Any] | None) -> None:
        self._staged[user_id] = {"newest_id": newest_id, "pending": pending, "username": username,
                                 "updated_at": isoformat_z(self.client.now().replace(microsecond=0))}

    # -- the run ---------------------------------------------------------------------------------
    def run(self, accounts: list[Account], registry: Registry | None = None) -> RunSummary:
        accounts = resolve_user_ids(self.client, accounts, registry, self.summary)
        cursors = (read_json(self.lake, CURSORS_KEY) or {"accounts": {}})["accounts"]
        progress = Progress("tweets", len(accounts), enabled=self.progress_enabled)
        try:
            for number, account in enumerate(accounts, start=1):
                assert account.user_id is not None
                self._collect_account(account, cursors.get(account.user_id, {}))
                progress.update(number, tweets=self.summary.records, requests=sum(self.client.stats.requests.values()))
            self._report_caps(accounts)
        finally:
            progress.close()
            # Whatever happened, publish what was fetched: its cursors are committed with it.
            summary = self.finish()
        return summary

    def _collect_account(self, account: Account, cursor: dict[str, Any]) -> None:
        assert account.user_id is not None
        newest_id: str | None = cursor.get("newest_id")
        pending = cursor.get("pending")
        if pending:
            resumed = _Pass(lower=pending["lower"], until_id=pending["until_id"], top_id=pending["top_id"],
                            fetched=int(pending.get("fetched", 0)))
            if not self._walk(account, resumed, newest_id):
                return
            newest_id = _max_id(newest_id, resumed.top_id)
        lower = {"since_id": newest_id} if newest_id else {"start_time": isoformat_z(self.since)}
        fresh = _Pass(lower=lower)
        self._walk(account, fresh, newest_id)

    def _walk(self, account: Account, walk: _Pass, newest_id: str | None) -> bool:
        """Follow one pass to its end; False when the account is unavailable."""
        assert account.user_id is not None
        params: dict[str, Any] = dict(walk.lower)
        if walk.until_id:
            params["until_id"] = walk.until_id
        if self.exclude:
            params["exclude"] = ",".join(self.exclude)
        try:
            for page in self.client.user_tweets(account.user_id, **params):
                if page.errors and "data" not in page.body and "meta" not in page.body:
                    # the primary resource itself failed: unknown, suspended or protected account
                    self.write_page(page)
                    self.summary.unavailable[account.username] = classify_user_error(page.errors[0])
                    return False
                self.write_page(page)
                ids = [int(tweet["id"]) for tweet in page.data]
                if ids:
                    walk.top_id = _max_id(walk.top_id, str(max(ids)))
                    oldest = min(ids) if walk.oldest_id is None else min(min(ids), int(walk.oldest_id))
                    walk.oldest_id = str(oldest)
                walk.fetched += len(page.data)
                # Until the pass ends, the account is "pending": this is what the published files cover.
                self._stage(account.user_id, account.username, newest_id, walk.pending())
                if self.writer.should_roll():
                    self.writer.flush()
        except NotFoundError as err:
            self.summary.unavailable[account.username] = f"not_found: {err}"
            return False
        except PaginationLoopError:
            # The server handed out a token twice. Stop this account without moving its cursor past
            # what was written: its pending marker resumes from the oldest tweet written next run.
            self.summary.notes.append(f"@{account.username}: the API repeated a next_token; "
                                      "stopped paging this account, the next run resumes where it stopped")
            return False
        final_newest = _max_id(newest_id, walk.top_id)
        self._stage(account.user_id, account.username, final_newest, None)
        if (walk.fetched >= self.cap * 0.97 and "since_id" not in walk.lower) or walk.fetched >= self.cap * 0.97:
            self._capped[account.user_id] = walk.fetched
        return True

    def _report_caps(self, accounts: list[Account]) -> None:
        names = {a.user_id: a.username for a in accounts}
        for user_id, fetched in sorted(self._capped.items()):
            try:
                page = self.client.get("GET /2/users/:id", f"/users/{user_id}", {"user.fields": "public_metrics"})
            except APIError as err:  # the report is a courtesy: never fail a finished run over it
                self.summary.notes.append(f"@{names.get(user_id, user_id)}: reached the timeline's {self.cap:,}-tweet "
                                          f"cap; could not look up its tweet_count ({err})")
                continue
            tweet_count = int(((page.data[0] if page.data else {}).get("public_metrics") or {}).get("tweet_count", 0))
            unreachable = max(0, tweet_count - self.cap)
            self.summary.notes.append(
                f"@{names.get(user_id, user_id)}: reached the timeline's {self.cap:,}-tweet cap "
                f"({fetched:,} fetched this run); about {unreachable:,} older tweets are beyond what the endpoint "
                f"serves (profile tweet_count {tweet_count:,} − {self.cap:,}; includes any before --since)"
            )
            self.summary.extra.setdefault("capped_accounts", {})[names.get(user_id, user_id)] = unreachable
