"""tweet_metrics (every 2 h): the public metrics of every known tweet, as a time series.

``GET /2/tweets?ids=`` in batches of exactly 100 (the last batch holds the rest). Edited tweets are
asked for by their newest version.

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

from datetime import timedelta
from typing import Any

from common.words import plural
from ingestion.collectors.base import CollectorRun, RunSummary
from ingestion.page import Page, unanswered
from ingestion.tweet_index import TweetIndex

METRICS_TWEET_FIELDS = "author_id,created_at,edit_history_tweet_ids,public_metrics"
BATCH = 100


class MetricsCollector(CollectorRun):
    dataset = "tweet_metrics"

    def run(self, author_ids: set[str] | None, max_age_days: float | None = None) -> RunSummary:
        index = TweetIndex.load(self.lake)
        read = index.refresh_from_lake(self.lake)
        created_after = self.client.now() - timedelta(days=max_age_days) if max_age_days else None
        targets = index.targets({int(a) for a in author_ids} if author_ids is not None else None, created_after)
        self.summary.extra["known tweets"] = f"{len(index.entries):,} ({plural(read, 'new raw file')} indexed)"
        self._refreshed = self._doubted = self._deleted = 0
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
        if missing:
            summary.extra["unanswered (asked twice, asked again next run)"] = len(missing)
            summary.notes.append(f"the API answered for neither the data nor an error of {len(missing):,} "
                                 f"tweet id(s), e.g. {', '.join(missing[:5])}")
        return summary

    def _ask(self, ids: list[str], index: TweetIndex) -> Page:
        page = self.client.tweets_by_ids(ids, tweet_fields=METRICS_TWEET_FIELDS)
        self.write_page(page)
        now = int(page.received_at.timestamp())
        for tweet in page.data:
            self._refreshed += 1
            index.note_found(int(tweet["id"]))
            history = tweet.get("edit_history_tweet_ids") or []
            if history:
                index.note_versions(int(h) for h in history)
                if int(history[-1]) not in index.entries:
                    index.add_tweet(tweet)
        for error in page.errors:
            if _is_deleted_tweet(error):
                if index.mark_not_found(int(str(error.get("resource_id") or error.get("value"))), now):
                    self._deleted += 1
                else:
                    self._doubted += 1
        return page


def _is_deleted_tweet(error: dict[str, Any]) -> bool:
    return error.get("resource_type") == "tweet" and (
        error.get("title") == "Not Found Error" or "resource-not-found" in str(error.get("type", ""))
    )
