"""tweet_metrics (every 2 h): the public metrics of every known tweet, as a time series.

``GET /2/tweets?ids=`` in batches of exactly 100 (the last batch holds the rest). Edited tweets are
asked for by their newest version; tweets the API reports deleted are recorded in the lake (as
error records) and in the tweet index, and never asked for again.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ingestion.collectors.base import CollectorRun, RunSummary
from ingestion.tweet_index import TweetIndex

METRICS_TWEET_FIELDS = "author_id,created_at,edit_history_tweet_ids,public_metrics"


class MetricsCollector(CollectorRun):
    dataset = "tweet_metrics"

    def run(self, author_ids: set[str] | None, max_age_days: float | None = None) -> RunSummary:
        index = TweetIndex.load(self.lake)
        read = index.refresh_from_lake(self.lake)
        created_after = self.client.now() - timedelta(days=max_age_days) if max_age_days else None
        targets = index.targets({int(a) for a in author_ids} if author_ids is not None else None, created_after)
        self.summary.extra["known tweets"] = f"{len(index.entries):,} ({read} new raw file(s) indexed)"
        self.summary.extra["refreshed"] = f"{len(targets):,}"
        deleted = 0
        try:
            for start in range(0, len(targets), 100):
                page = self.client.tweets_by_ids(targets[start : start + 100], tweet_fields=METRICS_TWEET_FIELDS)
                self.write_page(page)
                for tweet in page.data:
                    history = tweet.get("edit_history_tweet_ids") or []
                    if history:
                        index.note_versions(int(h) for h in history)
                        if int(history[-1]) not in index.entries:
                            index.add_tweet(tweet)
                for error in page.errors:
                    if _is_deleted_tweet(error):
                        index.mark_deleted(int(str(error.get("resource_id") or error.get("value"))))
                        deleted += 1
                self.on_progress(min(start + 100, len(targets)), len(targets), tweets=self.summary.records)
        finally:
            summary = self.finish()
            index.save(self.lake)  # after the raw files: what it learned is in the lake first
        self.summary.extra["newly deleted"] = deleted
        return summary


def _is_deleted_tweet(error: dict[str, Any]) -> bool:
    return error.get("resource_type") == "tweet" and (
        error.get("title") == "Not Found Error" or "resource-not-found" in str(error.get("type", ""))
    )
