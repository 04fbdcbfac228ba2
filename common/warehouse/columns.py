"""The column contract between the transforms (what they stage) and the merge (what it writes).

One list each, so a profile attribute or a metric added here reaches the staging frames, the
SCD2 change detection and the upserts together.
"""

from __future__ import annotations

PROFILE_COLUMNS: tuple[str, ...] = (
    "username",
    "name",
    "description",
    "location",
    "url",
    "profile_image_url",
    "verified",
    "verified_type",
    "protected",
    "account_created_at",
)
"""A change in any of these opens a new ``dim_user`` version (SCD type 2)."""

USER_COUNT_COLUMNS: tuple[str, ...] = (
    "followers_count",
    "following_count",
    "tweet_count",
    "listed_count",
    "like_count",
)
"""``fact_user_daily``'s measures."""

TWEET_ATTRIBUTES: tuple[str, ...] = (
    "author_id",
    "created_at",
    "date_key",
    "conversation_id",
    "in_reply_to_user_id",
    "lang",
    "text",
    "tweet_type",
    "possibly_sensitive",
    "source",
)
"""``fact_tweet``'s attributes taken from the winning (latest) collection of a tweet."""

METRIC_COUNTS: tuple[str, ...] = (
    "like_count",
    "retweet_count",
    "reply_count",
    "quote_count",
    "bookmark_count",
    "impression_count",
)
"""``fact_tweet_metrics``'s measures."""
