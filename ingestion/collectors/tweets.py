"""tweets (every 4 h): every tweet of every tracked account since ``--since``, incrementally.

Per account, ``GET /2/users/:id/tweets`` pages from the newest tweet down to the lower bound:
``since_id`` = the newest tweet already in the lake, else ``start_time`` = ``--since``.

**The cursor never runs ahead of the lake, and moves exactly once with it** (see
:mod:`ingestion.cursors`: an intent recorded before each part is published, committed after it).
So a crash re-fetches exactly the records that never reached the lake: no gap, no duplicate. An
account whose pass was interrupted after some parts were published keeps a ``pending`` marker
``{lower bound, until_id = oldest tweet written, top_id = newest tweet written}``: the next run
first fetches the rest of that backlog (``until_id``), then what is new above ``top_id``.

**One account's failure is its own.** A timeline that keeps failing past the client's retries
(5xx, timeouts), answers a 400 about its own cursor, or repeats a ``next_token`` stops only that
account: its cursor stays where the published parts put it, the summary names it under ``failed``
and the run goes on (``tweetlake ingest`` then exits 6). What no account can get past (a bad
token, the usage cap, an app without access, a rate limit that stays spent, a 400 about a shared
parameter) stops the run at once; what was fetched is still published and committed. Three
accounts failing in a row with retriable errors mean the API is down: that stops the run too.

**A cursor knows what it left out.** It records the ``exclude`` kinds of the passes that moved it
and the tweet where that began (``exclude_from``; none when the backfill itself excluded them). A
run that wants a kind an earlier run excluded (``--exclude replies``, then a run without it) pages
that account down to there again instead of continuing above ``since_id``, so what the earlier runs
skipped is not lost for good. A narrower run continues the cursor. Cursors from before this was
recorded count as having excluded nothing.

The timeline serves only an account's newest 3,200 posts (800 with ``exclude=replies``), counted
before ``exclude`` filters. A pass has met that cap when the positions it paged through come to it
(a page with a ``next_token`` spans ``max_results`` positions, however few tweets survive the
filter). The summary then says how many tweets the endpoint could not reach: for a backfill, the
profile's ``tweet_count`` minus the cap (which also counts tweets before ``--since``); for an
incremental pass, the posts since the last run (``tweet_count`` now minus then) minus the cap.
``tweet_count`` rides on the timeline pages (``expansions=author_id`` with
``user.fields=public_metrics`` puts the author in ``includes.users``); only a server that leaves
``includes`` out costs one ``GET /2/users/:id`` per capped account.

**Beyond the cap: full-archive search** (``backfill``, ``--backfill auto|search|off``). A pass that
met the cap leaves a :class:`~ingestion.cursors.Gap` in the cursor: below the oldest tweet it reached,
down to its lower bound. With ``auto`` (the default) the run then fills it with
``GET /2/tweets/search/all`` (``from:<user id>`` plus ``-is:retweet``/``-is:reply`` for ``exclude``,
the gap's ``start_time``/``since_id`` and ``until_id``, 500 a page, the timeline's fields and
expansions): the timeline's pages plus ⌈unreached / 500⌉ search pages. Search pages land in
``raw/tweets`` like timeline pages (their ``source`` says search), and the gap's ``until_id`` moves
down with each published part through the same intent and commit, so a killed run resumes where
its last part ended, with no gap and no duplicate. ``search`` also collects a first backfill (no
cursor yet) by search alone, 500 tweets a request instead of 100, then pages the timeline for what
is newer. ``off`` pages only the timeline and keeps the gap for a later run. The client paces
search to 1 request a second and its 15-minute window, so none of it collects a 429. A 403 from
search (a plan without full-archive access) turns the backfill off for the rest of the run with one
warning; the summary names the gap as without search, and the gap stays for a run that has access.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from common.layout import isoformat_z
from ingestion.accounts import classify_user_error, resolve_user_ids
from ingestion.client import SEARCH_ALL
from ingestion.collectors.base import CollectorRun, RunSummary
from ingestion.cursors import AccountCursor, CursorStore, Gap, Pending
from ingestion.errors import (
    APIError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    PaginationLoopError,
    RateLimitError,
    RetriableAPIError,
    UnauthorizedError,
    UsageCapExceeded,
)
from ingestion.page import Page
from ingestion.registry import Account, Registry

log = logging.getLogger(__name__)

TIMELINE_CAP = 3200
TIMELINE_CAP_NO_REPLIES = 800
CAP_SHARE = 0.97  # the API's reach at the boundary is not exact to the post
PAGE_SIZE = 100
PROFILE_PARAMS = {"expansions": "author_id", "user.fields": "public_metrics"}
DEFAULT_SINCE = datetime(2022, 1, 1, tzinfo=UTC)
# A 400 naming only these is about one account's own request; any other parameter is shared by all.
OWN_PARAMS = frozenset({"id", "since_id", "until_id", "pagination_token", "next_token", "query"})
BACKFILL_MODES = ("auto", "search", "off")
SEARCH_PAGE_SIZE = 500
SEARCH_NEGATIONS = {"retweets": "-is:retweet", "replies": "-is:reply"}
STOPS_THE_RUN = (UnauthorizedError, ForbiddenError, UsageCapExceeded, RateLimitError)
MAX_FAILING_IN_A_ROW = 3


def _max_id(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return a if int(a) >= int(b) else b


def _profile_tweet_count(page: Page, user_id: str) -> int | None:
    for user in page.includes.get("users") or []:
        if isinstance(user, dict) and str(user.get("id")) == user_id:
            count = (user.get("public_metrics") or {}).get("tweet_count")
            return int(count) if count is not None else None
    return None


def _about_own_request(err: APIError) -> bool:
    """Whether a 400 names only the account's own parameters (or none: then it cannot be told apart,
    and one account must not stop the others)."""
    body = err.body if isinstance(err.body, dict) else {}
    named = {name for e in body.get("errors") or [] if isinstance(e, dict) for name in e.get("parameters") or {}}
    return named <= OWN_PARAMS


@dataclass
class _Pass:
    lower: dict[str, str]  # {"since_id": …} or {"start_time": …}
    until_id: str | None = None
    top_id: str | None = None  # newest tweet written in this pass (carried over when resuming)
    oldest_id: str | None = None
    fetched: int = 0  # tweets written in this pass (carried over when resuming)
    scanned: int = 0  # timeline positions paged through (carried over when resuming)
    tweet_count: int | None = None  # the profile's, from the first page of this pass that carried it
    count_at_lower: int | None = None  # the profile's tweet_count when ``since_id`` was the newest tweet

    @classmethod
    def resume(cls, pending: Pending, count_at_lower: int | None) -> _Pass:
        return cls(
            lower=pending.lower,
            until_id=pending.until_id,
            top_id=pending.top_id,
            fetched=pending.fetched,
            scanned=pending.scanned,
            count_at_lower=count_at_lower,
        )

    def pending(self) -> Pending:
        return Pending(
            lower=self.lower,
            until_id=self.oldest_id or self.until_id,
            top_id=self.top_id,
            fetched=self.fetched,
            scanned=self.scanned,
        )

    def read(self, page: Page, user_id: str) -> None:
        ids = [int(tweet["id"]) for tweet in page.data]
        if ids:
            self.top_id = _max_id(self.top_id, str(max(ids)))
            self.oldest_id = str(min(ids) if self.oldest_id is None else min(min(ids), int(self.oldest_id)))
        self.fetched += len(page.data)
        has_next = bool(page.meta.get("next_token"))
        self.scanned += PAGE_SIZE if has_next else int(page.meta.get("result_count", len(page.data)))
        if self.tweet_count is None:
            self.tweet_count = _profile_tweet_count(page, user_id)

    def unreachable(self, cap: int, tweet_count: int | None) -> int | None:
        """Tweets beyond the cap's reach; ``None`` when the counts to tell are missing."""
        if tweet_count is None:
            return None
        if "since_id" in self.lower:
            return None if self.count_at_lower is None else max(0, tweet_count - self.count_at_lower - cap)
        return max(0, tweet_count - cap)


@dataclass
class _Capped:
    account: Account
    first: _Pass  # the pass whose lower bound the cap cut off
    fetched: int
    tweet_count: int | None


class TweetsCollector(CollectorRun):
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

    # -- beyond the cap: full-archive search -----------------------------------------------------
    def _open_gap(self, account: Account, walked: list[_Pass], tweet_count: int | None) -> None:
        """Record what the capped passes could not reach: below the oldest tweet they reached
        (or the oldest an earlier run of the backlog reached), down to the deepest lower bound."""
        assert account.user_id is not None
        reached = [int(p.oldest_id) for p in walked if p.oldest_id] + [int(p.until_id) for p in walked if p.until_id]
        if not reached:  # every position the timeline served was filtered out: nothing to stand on
            self.summary.notes.append(
                f"@{account.username}: the timeline met its cap without a tweet to search "
                "below; nothing recorded for full-archive search"
            )
            return
        first = walked[0]
        self._gaps[account.user_id].append(
            Gap(lower=first.lower, until_id=str(min(reached)), unreached=first.unreachable(self.cap, tweet_count))
        )
        self._restage(account)

    def _fill_gaps(self, account: Account) -> bool:
        """Search every open gap of the account down to its lower bound; False when the account
        failed (its cursor, gaps included, stays where its published parts put it)."""
        assert account.user_id is not None
        for gap in list(self._gaps[account.user_id]):
            if self._search_refused is not None:
                return True
            if not self._search(account, gap):
                return False
        return True

    def _search(self, account: Account, gap: Gap) -> bool:
        assert account.user_id is not None
        gaps = self._gaps[account.user_id]
        query = " ".join([f"from:{account.user_id}", *(SEARCH_NEGATIONS[kind] for kind in self.exclude)])
        params: dict[str, Any] = {**gap.lower, "max_results": SEARCH_PAGE_SIZE, **self.profile_params}
        if gap.until_id:
            params["until_id"] = gap.until_id
        if self.exclude:
            # kinds left out below where the exclusions began: a broader run must walk down to --since
            self._exclude_from[account.user_id] = None
        searched = self._searched.setdefault(account.username, 0)
        try:
            for page in self.client.search_all(query, **params):
                self.write_page(page)
                ids = [int(tweet["id"]) for tweet in page.data]
                current = self._current[account.user_id]
                newest_id = current.newest_id
                if ids:
                    oldest = min(ids) if gap.until_id is None else min(min(ids), int(gap.until_id))
                    moved = replace(gap, until_id=str(oldest), fetched=gap.fetched + len(ids))
                    gaps[gaps.index(gap)] = moved
                    gap = moved
                    newest_id = _max_id(newest_id, str(max(ids)))
                    searched += len(ids)
                    self._searched[account.username] = searched
                # what the published parts cover: the gap's new position, and any newer top
                self._stage(account, newest_id, current.pending, current.tweet_count)
                if self.writer.should_roll():
                    self.writer.flush()
        except ForbiddenError as err:
            if err.endpoint != SEARCH_ALL:
                raise
            self._refuse_search(err)
            return True
        except STOPS_THE_RUN:
            raise
        except APIError as err:
            self._account_failed(account, err)
            return False
        gaps.remove(gap)  # emptied down to its lower bound
        self._restage(account)
        self._failing_in_a_row = 0
        return True

    def _refuse_search(self, err: ForbiddenError) -> None:
        self._search_refused = str(err)
        line = (
            f"full-archive search is not available to this app ({err}); backfill off for the rest of this run: "
            "what the timeline could not reach stays recorded for a run with access"
        )
        log.info("%s", line)  # the face prints it once, from the summary (ingestion.run.outcome)
        self.summary.warnings.append(line)

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
                walk.read(page, account.user_id)
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

    # -- the 3,200 cap ---------------------------------------------------------------------------
    def _report_caps(self) -> None:
        searched_out = {name for name in self._searched if not self._open_gaps(name)}
        for capped in self._capped:
            name, first = capped.account.username, capped.first
            if name in searched_out:
                self.summary.notes.append(
                    f"@{name}: reached the timeline's {self.cap:,}-tweet cap ({capped.fetched:,} fetched from it); "
                    f"full-archive search fetched the {self._searched[name]:,} tweets it could not reach"
                )
                continue
            count = capped.tweet_count
            knows_before = "since_id" not in first.lower or first.count_at_lower is not None
            if count is None and knows_before:
                count = self._lookup_tweet_count(capped.account)
            lost = first.unreachable(self.cap, count)
            if lost == 0:
                continue
            head = f"@{name}: reached the timeline's {self.cap:,}-tweet cap ({capped.fetched:,} fetched this run)"
            if lost is None:
                self.summary.notes.append(
                    f"{head}; older tweets are beyond what the endpoint serves, how many is "
                    "unknown (no tweet_count to compare)"
                )
            elif "since_id" in first.lower:
                assert count is not None and first.count_at_lower is not None
                self.summary.notes.append(
                    f"{head}: {count - first.count_at_lower:,} posts since the last run (tweet_count "
                    f"{first.count_at_lower:,} → {count:,}) exceed it; about {lost:,} of them are beyond reach"
                )
            else:
                self.summary.notes.append(
                    f"{head}; about {lost:,} older tweets are beyond what the endpoint serves "
                    f"(profile tweet_count {count:,} − {self.cap:,}; includes any before --since)"
                )
            self.summary.extra.setdefault("capped_accounts", {})[name] = lost
        for name, fetched in sorted(self._searched.items()):
            if fetched:
                self.summary.extra.setdefault("backfilled_by_search", {})[name] = fetched
        why = (
            "--backfill off"
            if self.backfill == "off"
            else "search refused (403)"
            if self._search_refused
            else "the account failed"
        )
        for name in sorted(self._open_gaps_by_name()):
            gaps = self._open_gaps(name)
            self.summary.notes.append(
                f"@{name}: {len(gaps)} part(s) of its history beyond the timeline's reach wait "
                f"for full-archive search ({why}), the oldest below tweet "
                f"{min((g.until_id for g in gaps if g.until_id), key=int, default='-')}"
            )

    def _open_gaps(self, username: str) -> list[Gap]:
        return list(self._gaps.get(self._ids.get(username, ""), ()))

    def _open_gaps_by_name(self) -> list[str]:
        return [name for name, uid in self._ids.items() if self._gaps.get(uid)]

    def _lookup_tweet_count(self, account: Account) -> int | None:
        """The profile's tweet_count, for a server whose timeline pages carried no ``includes``."""
        try:
            page = self.client.user_by_id(str(account.user_id), user_fields="public_metrics")
        except APIError as err:  # the report is a courtesy: never fail a finished run over it
            self.summary.notes.append(f"@{account.username}: could not look up its tweet_count ({err})")
            return None
        count = ((page.data[0] if page.data else {}).get("public_metrics") or {}).get("tweet_count")
        return int(count) if count is not None else None
