"""The report's charts: each a query, a figure, a title and a caption saying what it shows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from analytics.report import figures, queries
from analytics.scope import Scope
from analytics.table import Table


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    caption: str
    query: Callable[[Scope], tuple[str, dict[str, Any]]]
    figure: Callable[[Table], Any]
    cost: float
    """Roughly what the chart costs at the 1 M-tweet bench warehouse, in seconds: its query, plus
    twice its figure (drawn only once its rows are in). The report's two connections take the
    dearest first (bench/README.md)."""
    empty: str = "no rows in this scope"


CHARTS: tuple[Chart, ...] = (
    Chart(
        "followers",
        "Follower growth per account",
        "Followers of each account at each daily profile snapshot, on a log scale (v_user_growth). The "
        "table adds the day-over-day change (only when the previous snapshot is the day before) and the "
        "change against the latest snapshot at least 7 days earlier.",
        queries.followers,
        figures.followers,
        1.35,
    ),
    Chart(
        "posts",
        "Posts over time",
        "Tweets posted, stacked by type (original, reply, quote, retweet), from fact_tweet: a bar a UTC day "
        "when the period spans up to 92 days, an ISO week (from its Monday) up to two years, a month beyond.",
        queries.posts,
        figures.posts,
        0.1,
    ),
    Chart(
        "engagement",
        "Engagement by tweet type",
        "Left: engagement (likes + retweets + replies + quotes, latest snapshot) as a share of impressions, "
        "summed over the tweets with impressions. Right: average engagement per tweet with metrics "
        "(v_tweet_engagement). Retweets show the counts X reports on the retweet itself, which are the original "
        "post's; X reports no impressions for a retweet, so its rate bar is empty and says so.",
        queries.engagement,
        figures.engagement,
        0.6,
    ),
    Chart(
        "curves",
        "Metric growth curves: likes by hours since posting",
        "Median likes of the tweets first seen within 6 hours of posting, at their snapshots' age in "
        "2-hour bins (v_tweet_metric_curve): how fast a tweet gathers its likes, per account. The legend gives "
        "how many tweets each account's points rest on; a hollow point rests on fewer than 5 tweets (a dotted "
        "line: all of them do) and says little; hover a point, or read the table's tweets column.",
        queries.curves,
        figures.curves,
        1.4,
        empty="no tweet in this scope was first seen within 6 hours of posting",
    ),
    Chart(
        "share",
        "Share of the 7-day value reached after 1, 6, 24 and 48 hours",
        "Per account and metric, the median over tweets of the value at 1 h, 6 h, 24 h and 48 h (interpolated "
        "between snapshots) divided by the value at 7 days (v_metric_growth_share). Only tweets observed "
        "past 7 days count.",
        queries.share,
        figures.share,
        0.2,
        empty="no tweet in this scope has been observed for 7 days yet (the 7-day value is not known)",
    ),
    Chart(
        "heatmap",
        "Posting activity (hour of day × weekday, UTC)",
        "Tweets posted in each hour of each weekday, UTC, over the report's period (v_posting_activity "
        "gives the same grid per account over all days).",
        queries.heatmap,
        figures.heatmap,
        0.35,
    ),
    Chart(
        "entities",
        "Top entities",
        "The 10 hashtags, mentions, cashtags and link domains used in the most tweets over the period "
        "(v_tweet_entity, as v_entity_daily counts them; hashtags in lower case, cashtags upper case, domains "
        "without www.).",
        queries.entities,
        figures.entities,
        1.2,
    ),
    Chart(
        "sentiment",
        "Sentiment over time",
        "English tweets that are not retweets, binned by posting day as posts over time are (a day, an ISO "
        "week or a month, by the period's span): how many VADER scores positive "
        "(compound ≥ 0.05), neutral or negative (≤ −0.05), and the period's average compound score "
        "(v_sentiment_daily).",
        queries.sentiment,
        figures.sentiment,
        0.3,
        empty="no scored tweet in this scope (no English tweets, or loaded before sentiment existed)",
    ),
)

PIPELINE = Chart(
    "pipeline",
    "Pipeline health",
    "Per dataset: the last collection time loaded, the files and rows the jobs loaded (etl_file_ledger), "
    "API error records (deleted tweets, suspended accounts) and lines quarantined as malformed, on a log "
    'scale (a zero draws no bar: the legend says "none" for a series that is zero everywhere, the table '
    "gives every number). Below: "
    "the quarantined lines by reason, read from the lake's quarantine/ folder.",
    lambda scope: ("", {}),
    figures.pipeline,
    0.0,
)
