"""tweet_metrics (every 2 h): the public metrics of the known tweets that are due, as a time series.

**Which tweets.** The refresh policy (:mod:`ingestion.policy`) says which known tweets are due by
their age and their last refresh (kept in the tweet index); ``EVERY_RUN`` (the domain default)
asks for every known tweet. With a monthly budget (:class:`ingestion.usage.Budget`) the youngest due
tweets go first while the month to date stays within a paced share of the budget (by the end of
day d of a D-day month, d/D of it); the others wait for the next run, and the summary counts them.
A tweet already billed today costs nothing more (the API de-duplicates per UTC day).

``GET /2/tweets?ids=`` in batches of exactly 100 (the last batch holds the rest), youngest first.
Edited tweets are asked for by their newest version. An answer speaks only for the ids asked: data
or "Not Found" errors for other ids, and edit-history ids no edit could have made (not within X's
one-hour edit window of the original, by the times the ids encode), are kept in the lake and counted
but change nothing.

**Every id asked for is accounted for.** An answer must hold each id in ``data`` or in ``errors``;
ids it leaves out (a flaky server, a partial answer) are asked once more in one request, and those
still missing are named in the summary and asked again by the next run. The summary counts what
was written (``refreshed``), not what was asked.

**Deleted means deleted.** A "Not Found" answer is recorded (an error record in the lake, and the
day it was first seen in the tweet index) but not acted on: the tweet is still asked for. Only a
second "Not Found" at least :data:`~ingestion.tweet_index.CONFIRM_DELETION_AFTER` later — so from
another run, a day apart — marks it deleted and stops the asking. Any answer with data in between
clears the doubt. A flaky server or an account suspended for an afternoon costs no tweet for good.
"""

from __future__ import annotations

import logging
from datetime import UTC, timedelta
from typing import Any

from common.words import plural
from ingestion.collectors.base import CollectorRun, RunSummary
from ingestion.page import Page, unanswered
from ingestion.policy import EVERY_RUN, Policy, choose
from ingestion.tweet_index import TweetIndex, edit_chain
from ingestion.usage import Meter, month_share
from ingestion.usage.ledger import dataset_day as ledger_day

log = logging.getLogger(__name__)

METRICS_TWEET_FIELDS = "author_id,created_at,edit_history_tweet_ids,public_metrics"
BATCH = 100


class MetricsCollector(CollectorRun):
    dataset = "tweet_metrics"

    def run(
        self, author_ids: set[str] | None, max_age_days: float | None = None, policy: Policy = EVERY_RUN
    ) -> RunSummary:
        index = TweetIndex.load(self.lake)
        read = index.refresh_from_lake(self.lake)
        policy = policy.ending_at(max_age_days)
        now = int(self.client.now().timestamp())
        due = index.due(now, policy, {int(a) for a in author_ids} if author_ids is not None else None)
        meter = self.meter
        if meter is not None and meter.budget.limited:
            # paced: by the end of a month's day d of D, at most d/D of the budget is spent, so the
            # young tweets of the month's last days (and the tweets and users runs) find room too
            share = month_share(self.client.now().astimezone(UTC).date())
            choice = choose(due, meter.budget.post_reads_left(meter.spent(), meter.prices, share), meter.read_today)
        else:
            choice = choose(due, None, meter.read_today if meter is not None else lambda _: False)
        targets = [str(i) for i in choice.ids]
        if index.rebuilt:
            rebuilt = (
                "the tweet index was rebuilt from the lake: each tweet's last refresh is its newest collection "
                "in raw/tweets or raw/tweet_metrics"
            )
            log.warning(rebuilt)  # now, before the run reads anything, and again in its summary
            self.summary.notes.append(rebuilt)
        if meter is not None and (warning := surge(meter, choice.post_reads)):
            log.warning(warning)
            self.summary.notes.append(warning)
        self.summary.extra["known tweets"] = f"{len(index):,} ({plural(read, 'new raw file')} indexed)"
        self.summary.extra["policy"] = str(policy)
        self.summary.extra["due"] = f"{choice.due:,}"
        if choice.waited:
            assert meter is not None
            self.summary.extra["waited (over the budget; the youngest went first)"] = f"{choice.waited:,}"
            self.summary.notes.append(
                f"{choice.waited:,} due tweet(s) waited: the monthly budget "
                f"({meter.budget.describe()}, paced: {share:.0%} of it by the end of today) "
                f"leaves room for {choice.post_reads:,} more post reads this run; "
                "the next run asks again"
            )
        self._refreshed = self._doubted = self._deleted = self._unasked = 0
        missing: list[str] = []
        try:
            for start in range(0, len(targets), BATCH):
                batch = targets[start : start + BATCH]
                left = unanswered(self._ask(batch, index), batch)
                if left:  # asked once more, in one request: a partial answer is not the last word
                    missing += unanswered(self._ask(left, index), left)
                self.on_progress(min(start + BATCH, len(targets)), len(targets), tweets=self.summary.records)
        finally:
            summary = self.finish()
            self.fence()
            index.save(self.lake)  # after the raw files: what it learned is in the lake first
        summary.extra["refreshed"] = f"{self._refreshed:,} of {len(targets):,} asked"
        if self._doubted:
            summary.extra["not found (asked again after a day before counting as deleted)"] = self._doubted
        summary.extra["newly deleted"] = self._deleted
        if self._unasked:
            summary.extra["answers about ids not asked (kept in the lake, ignored)"] = self._unasked
        if missing:
            summary.extra["unanswered (asked twice, asked again next run)"] = len(missing)
            summary.notes.append(
                f"the API answered for neither the data nor an error of {len(missing):,} "
                f"tweet id(s), e.g. {', '.join(missing[:5])}"
            )
        return summary

    def _ask(self, ids: list[str], index: TweetIndex) -> Page:
        """Ask for ``ids`` and learn from the answer what it says about them alone: data and "Not
        Found" errors for ids not asked, and edit histories an edit could not have made, are kept in
        the lake but change nothing in the index."""
        page = self.client.tweets_by_ids(ids, tweet_fields=METRICS_TWEET_FIELDS)
        self.write_page(page)
        asked = {int(i) for i in ids}
        now = int(page.received_at.timestamp())
        for tweet in page.data:
            tweet_id = _asked(tweet.get("id"), asked)
            if tweet_id is None:
                self._unasked += 1
                continue
            self._refreshed += 1
            index.note_found(tweet_id)
            index.note_refreshed(tweet_id, now)
            claimed = [h for h in map(_id, tweet.get("edit_history_tweet_ids") or []) if h is not None]
            history = edit_chain([*claimed, tweet_id])
            if tweet_id in history and len(history) > 1:
                index.note_versions(history)
                if max(history) not in index:
                    index.add_tweet(tweet)
                    index.note_refreshed(max(history), now)
        for error in page.errors:
            if not _is_deleted_tweet(error):
                continue
            tweet_id = _asked(error.get("resource_id") or error.get("value"), asked)
            if tweet_id is None:
                self._unasked += 1
            elif index.mark_not_found(tweet_id, now):
                self._deleted += 1
            else:
                self._doubted += 1
        return page


def _id(value: Any) -> int | None:
    text = str(value)
    return int(text) if text.isdigit() and len(text) <= 20 else None


def _asked(value: Any, asked: set[int]) -> int | None:
    """The id when it is one of those asked, else ``None``."""
    tweet_id = _id(value)
    return tweet_id if tweet_id in asked else None


SURGE_FACTOR, SURGE_MIN = 10, 1000


def surge(meter: Meter, post_reads: int) -> str | None:
    """A warning when this run would read far more posts than the metrics runs read yesterday."""
    yesterday = meter.now().astimezone(UTC).date() - timedelta(days=1)
    before = len(ledger_day(meter.lake, yesterday, "tweet_metrics").post_ids)
    if post_reads >= SURGE_MIN and post_reads > SURGE_FACTOR * before:
        return (
            f"this run re-reads {post_reads:,} posts, more than {SURGE_FACTOR}x the {before:,} the metrics runs read "
            "yesterday (a new policy, a lost tweet index, a large backfill?): `tweetlake plan` shows the month"
        )
    return None


def _is_deleted_tweet(error: dict[str, Any]) -> bool:
    return error.get("resource_type") == "tweet" and (
        error.get("title") == "Not Found Error" or "resource-not-found" in str(error.get("type", ""))
    )
