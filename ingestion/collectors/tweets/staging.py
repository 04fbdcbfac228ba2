"""The tweets collector's cursor state: what each account's cursor will be once the parts written
so far are published (staged), recorded as an intent before each part and committed after it
(see :mod:`ingestion.cursors`); and how one account's failure stays its own."""

from __future__ import annotations

import logging
from datetime import datetime

from common.layout import isoformat_z
from ingestion.collectors.base import CollectorRun, RunSummary
from ingestion.collectors.tweets.passes import MAX_FAILING_IN_A_ROW, _about_own_request, _Capped
from ingestion.cursors import AccountCursor, CursorStore, Gap, Pending
from ingestion.errors import APIError, InvalidRequestError, PaginationLoopError, RetriableAPIError
from ingestion.registry import Account

log = logging.getLogger(__name__)


class CursorStaging(CollectorRun):
    """The state every layer of the tweets collector shares (set by :class:`TweetsCollector`)."""

    since: datetime
    backfill: str
    exclude: tuple[str, ...]
    cap: int
    profile_params: dict[str, str]
    cursors: CursorStore
    _staged: dict[str, AccountCursor]
    _capped: list[_Capped]
    _failing_in_a_row: int
    _exclude_from: dict[str, str | None]
    _ids: dict[str, str]  # username -> user id of the accounts this run collected
    _current: dict[str, AccountCursor]  # each account's cursor as this run last staged it
    _gaps: dict[str, list[Gap]]  # each account's open gaps, as this run sees them
    _searched: dict[str, int]  # tweets full-archive search fetched this run, by username
    _search_refused: str | None  # why search is off for the rest of the run

    # -- cursor state ----------------------------------------------------------------------------
    def _publishing(self, key: str, count: int) -> None:
        """Record what ``key`` will make true before it exists (see :mod:`ingestion.cursors`)."""
        if self._staged:
            self.cursors.record_intent(key, self._staged)

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
        self.fence()
        self.cursors.commit(staged)

    def _recover_intent(self) -> None:
        """Settle the intent of a run killed between publishing a part and committing its cursors."""
        settled = self.cursors.settle_intent()
        if settled is None:
            return
        part, published = settled
        what = "applied the cursors of" if published else "dropped the cursors of the unpublished"
        log.warning("an earlier run was interrupted: %s part %s", what, part)
        self.summary.notes.append(f"an earlier run was interrupted: {what} part {part}")

    def _stage(
        self, account: Account, newest_id: str | None, pending: Pending | None, tweet_count: int | None = None
    ) -> None:
        assert account.user_id is not None
        self._staged[account.user_id] = self._current[account.user_id] = AccountCursor(
            newest_id=newest_id,
            pending=pending,
            gaps=tuple(self._gaps.get(account.user_id, ())),
            username=account.username,
            exclude=self.exclude,
            exclude_from=self._exclude_from.get(account.user_id),
            updated_at=isoformat_z(self.client.now().replace(microsecond=0)),
            tweet_count=tweet_count,
        )

    def _restage(self, account: Account) -> None:
        """Stage the account's cursor as last staged, with its gaps as they are now."""
        assert account.user_id is not None
        current = self._current[account.user_id]
        self._stage(account, current.newest_id, current.pending, current.tweet_count)

    def _account_failed(self, account: Account, err: APIError) -> None:
        """Leave the account where its published parts put it and go on, unless the error is not its own.

        Its own: the API kept failing on its timeline (5xx past the retries), a 400 about its own
        cursor (or one that names no parameter: it cannot be told apart), a repeated ``next_token``.
        Anything else fatal (402 credits spent, an unexpected 4xx) would fail every account alike:
        it stops the run. So do three accounts in a row failing: then it is not theirs either."""
        own = isinstance(err, (RetriableAPIError, PaginationLoopError)) or (
            isinstance(err, InvalidRequestError) and _about_own_request(err)
        )
        if not own:
            raise err
        self._failing_in_a_row += 1
        if self._failing_in_a_row >= MAX_FAILING_IN_A_ROW:
            raise err
        log.warning("@%s: %s; its cursor stays, the next run retries it", account.username, err)
        self.summary.failed[account.username] = str(err)

    def _outside(self, account: Account, count: int) -> None:
        """Count posts an answer held outside the window asked: kept in the lake, never steering."""
        if not count:
            return
        outside = self.summary.extra.setdefault("outside_the_window_asked", {})
        if account.username not in outside:
            log.warning(
                "@%s: the X API answered with posts outside the window asked; they are kept in the lake "
                "but move no cursor",
                account.username,
            )
        outside[account.username] = outside.get(account.username, 0) + count
