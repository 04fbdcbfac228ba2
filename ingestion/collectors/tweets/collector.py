"""The tweets collector: each account's timeline passes (see the package's docstring)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from common.layout import isoformat_z
from ingestion.accounts import classify_user_error, resolve_user_ids
from ingestion.collectors.base import RunSummary
from ingestion.collectors.tweets.caps import CapReport
from ingestion.collectors.tweets.passes import (
    BACKFILL_MODES,
    CAP_SHARE,
    DEFAULT_SINCE,
    PAGE_SIZE,
    PROFILE_PARAMS,
    STOPS_THE_RUN,
    TIMELINE_CAP,
    TIMELINE_CAP_NO_REPLIES,
    _Capped,
    _max_id,
    _Pass,
)
from ingestion.collectors.tweets.search import SearchBackfill
from ingestion.cursors import AccountCursor, CursorStore, Gap
from ingestion.errors import APIError, NotFoundError
from ingestion.registry import Account, Registry

log = logging.getLogger(__name__)


class TweetsCollector(SearchBackfill, CapReport):
    dataset = "tweets"

    def __init__(
        self,
        *args: Any,
        since: datetime = DEFAULT_SINCE,
        exclude: tuple[str, ...] = (),
        backfill: str = "auto",
        **kwargs: Any,
    ) -> None:
        if backfill not in BACKFILL_MODES:
            raise ValueError(f"--backfill takes {', '.join(BACKFILL_MODES)}, not {backfill!r}")
        super().__init__(*args, **kwargs)
        self.since = since
        self.backfill = backfill
        self.exclude = tuple(sorted(exclude))
        self.cap = TIMELINE_CAP_NO_REPLIES if "replies" in self.exclude else TIMELINE_CAP
        self.profile_params: dict[str, str] = dict(PROFILE_PARAMS)
        self.cursors = CursorStore(self.lake)
        self._staged: dict[str, AccountCursor] = {}
        self._capped: list[_Capped] = []
        self._failing_in_a_row = 0
        self._exclude_from: dict[str, str | None] = {}
        self._ids: dict[str, str] = {}  # username -> user id of the accounts this run collected
        self._current: dict[str, AccountCursor] = {}  # each account's cursor as this run last staged it
        self._gaps: dict[str, list[Gap]] = {}  # each account's open gaps, as this run sees them
        self._searched: dict[str, int] = {}  # tweets full-archive search fetched this run, by username
        self._search_refused: str | None = None  # why search is off for the rest of the run

    # -- the run ---------------------------------------------------------------------------------
    def run(self, accounts: list[Account], registry: Registry | None = None) -> RunSummary:
        try:
            self._recover_intent()
            accounts = resolve_user_ids(self, accounts, registry)
            cursors = self.cursors.read()
            for number, account in enumerate(accounts, start=1):
                assert account.user_id is not None
                self._collect_account(account, cursors.get(account.user_id) or AccountCursor())
                self.on_progress(
                    number,
                    len(accounts),
                    tweets=self.summary.records,
                    requests=sum(self.client.stats.requests.values()),
                )
            self._report_caps()
        finally:
            # Whatever happened, publish what was fetched: its cursors are committed with it.
            summary = self.finish()
        return summary

    def _collect_account(self, account: Account, cursor: AccountCursor) -> None:
        assert account.user_id is not None
        cursor_excluded = set(cursor.exclude)
        # Where the exclusions in force began: None means from the backfill down to --since.
        exclude_from = cursor.exclude_from if cursor_excluded else cursor.newest_id
        self._exclude_from[account.user_id] = exclude_from if self.exclude else None
        if skipped_kinds := cursor_excluded - set(self.exclude):
            # Earlier passes left these kinds out, and since_id has moved past them: a new pass down
            # to where the exclusion began brings them (the jobs de-duplicate what comes twice).
            where = f"tweet {exclude_from}" if exclude_from else "--since"
            kinds = ",".join(sorted(skipped_kinds))
            self.summary.notes.append(
                f"@{account.username}: earlier runs excluded {kinds}; "
                f"fetching its timeline down to {where} again to get them"
            )
            # Down to --since: the new pass meets the cap again and finds its gaps anew. Down to a tweet:
            # what lies below it is as it was, gaps included.
            cursor = AccountCursor(newest_id=exclude_from, gaps=cursor.gaps if exclude_from else ())
        self._ids[account.username] = account.user_id
        self._current[account.user_id] = cursor
        self._gaps[account.user_id] = list(cursor.gaps)
        newest_id = cursor.newest_id
        count = cursor.tweet_count
        walked: list[_Pass] = []
        if cursor.pending:
            resumed = _Pass.resume(cursor.pending, count)
            if not self._walk(account, resumed, newest_id, count):
                return
            walked.append(resumed)
            newest_id = _max_id(newest_id, resumed.top_id)
            count = resumed.tweet_count if resumed.tweet_count is not None else count
        elif newest_id is None and self.backfill == "search" and self._search_refused is None:
            # a first collection by search alone (500 a request); the timeline then brings what is newer
            self._gaps[account.user_id].append(Gap(lower={"start_time": isoformat_z(self.since)}, until_id=None))
            if not self._fill_gaps(account):
                return
            # refused before a tweet came: no position to keep, the timeline backfills this run instead
            self._gaps[account.user_id] = [g for g in self._gaps[account.user_id] if g.until_id is not None]
            newest_id = self._current[account.user_id].newest_id
        lower = {"since_id": newest_id} if newest_id else {"start_time": isoformat_z(self.since)}
        fresh = _Pass(lower=lower, count_at_lower=None if walked else count)
        if not self._walk(account, fresh, newest_id, count):
            return
        walked.append(fresh)
        # A resumed backlog and what arrived above it since share one window of the timeline.
        if sum(p.scanned for p in walked) >= self.cap * CAP_SHARE:
            newest_count = next((p.tweet_count for p in reversed(walked) if p.tweet_count is not None), None)
            self._capped.append(_Capped(account, walked[0], sum(p.fetched for p in walked), newest_count))
            self._open_gap(account, walked, newest_count)
        if self.backfill != "off":
            self._fill_gaps(account)

    def _walk(self, account: Account, walk: _Pass, newest_id: str | None, count: int | None) -> bool:
        """Follow one pass to its end; False when the account is unavailable or failed."""
        assert account.user_id is not None
        params: dict[str, Any] = {**walk.lower, "max_results": PAGE_SIZE, **self.profile_params}
        if walk.until_id:
            params["until_id"] = walk.until_id
        if self.exclude:
            params["exclude"] = ",".join(self.exclude)
        try:
            for page in self.client.user_tweets(account.user_id, **params):
                self.write_page(page)
                if page.errors and "data" not in page.body and "meta" not in page.body:
                    # the primary resource itself failed: unknown, suspended or protected account
                    self.summary.unavailable[account.username] = classify_user_error(page.errors[0])
                    return False
                self._outside(account, walk.read(page, account.user_id))
                # Until the pass ends, the account is "pending": this is what the published files cover.
                self._stage(account, newest_id, walk.pending())
                if self.writer.should_roll():
                    self.writer.flush()
        except NotFoundError as err:
            self.summary.unavailable[account.username] = f"not_found: {err}"
            return False
        except STOPS_THE_RUN:
            raise
        except APIError as err:
            self._account_failed(account, err)
            return False
        self._failing_in_a_row = 0
        self._stage(
            account, _max_id(newest_id, walk.top_id), None, walk.tweet_count if walk.tweet_count is not None else count
        )
        return True
