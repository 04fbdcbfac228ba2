"""The column contract between the transforms (what they stage) and the merge (what it writes).

The one place a staged column is named and typed: the transforms select these lists, the staging
tables are created from them, and the merge reads them. So a profile attribute or a tweet column
added here reaches the staging frames, the staging tables, the SCD2 change detection and the
upserts together (the migration adds it to the warehouse table, the transform computes it).
"""

from __future__ import annotations

from enum import StrEnum


class Staging(StrEnum):
    """A kind of staged rows: one staging table per kind and run, read by the dataset's merge."""

    USER = "user"
    TWEET = "tweet"
    METRIC = "metric"
    HASHTAG = "hashtag"
    CASHTAG = "cashtag"
    MENTION = "mention"
    URL = "url"
    REFERENCE = "reference"
    EDIT_LINK = "edit_link"
    DELETION = "deletion"


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
    "sentiment_compound",
    "sentiment_label",
)
"""``fact_tweet``'s attributes taken from the winning (latest) collection of a tweet (the sentiment
score too: it is computed from that record's text)."""

METRIC_COUNTS: tuple[str, ...] = (
    "like_count",
    "retweet_count",
    "reply_count",
    "quote_count",
    "bookmark_count",
    "impression_count",
)
"""``fact_tweet_metrics``'s measures."""

_COLLECTED = ("tweet_id", "collected_at")  # every row taken from one collection of a tweet

USER_SNAPSHOT_COLUMNS: tuple[str, ...] = ("user_id", "collected_at", "date_key", *PROFILE_COLUMNS, *USER_COUNT_COLUMNS)
RECORD_KEY = "record_key"
"""Which raw record a staged row came from (its file, then its place in the file): the tie-breaker
that makes "the latest collection wins" a total order when records share a ``collected_at``, so a
tweet's row and its metrics come from the same record."""

TWEET_COLUMNS: tuple[str, ...] = ("tweet_id", *TWEET_ATTRIBUTES, "collected_at", RECORD_KEY)
METRIC_COLUMNS: tuple[str, ...] = (*_COLLECTED, "date_key", *METRIC_COUNTS, RECORD_KEY)
_ENTITY_OF = (*_COLLECTED, RECORD_KEY)  # an entity row names the record it came from: the winner's alone are kept
HASHTAG_COLUMNS: tuple[str, ...] = (*_ENTITY_OF, "tag")
MENTION_COLUMNS: tuple[str, ...] = (*_ENTITY_OF, "mentioned_user_id", "mentioned_username")
URL_COLUMNS: tuple[str, ...] = (*_ENTITY_OF, "url", "expanded_url", "display_url")
REFERENCE_COLUMNS: tuple[str, ...] = (*_ENTITY_OF, "referenced_tweet_id", "reference_type")
EDIT_LINK_COLUMNS: tuple[str, ...] = ("tweet_id", "latest_tweet_id")
DELETION_COLUMNS: tuple[str, ...] = ("tweet_id", "detected_at", "title", "detail")

STAGED_COLUMNS: dict[Staging, tuple[str, ...]] = {
    Staging.USER: USER_SNAPSHOT_COLUMNS,
    Staging.TWEET: TWEET_COLUMNS,
    Staging.METRIC: METRIC_COLUMNS,
    Staging.HASHTAG: HASHTAG_COLUMNS,
    Staging.CASHTAG: HASHTAG_COLUMNS,
    Staging.MENTION: MENTION_COLUMNS,
    Staging.URL: URL_COLUMNS,
    Staging.REFERENCE: REFERENCE_COLUMNS,
    Staging.EDIT_LINK: EDIT_LINK_COLUMNS,
    Staging.DELETION: DELETION_COLUMNS,
}
"""The columns of each kind's staging table, in the order they are staged."""

_BIGINT = (
    "user_id",
    "tweet_id",
    "author_id",
    "conversation_id",
    "in_reply_to_user_id",
    "mentioned_user_id",
    "referenced_tweet_id",
    "latest_tweet_id",
    *USER_COUNT_COLUMNS,
    *METRIC_COUNTS,
)
COLUMN_TYPES: dict[str, str] = {
    **dict.fromkeys(_BIGINT, "bigint"),
    **dict.fromkeys(("collected_at", "created_at", "account_created_at", "detected_at"), "timestamptz"),
    "date_key": "integer",
    "sentiment_compound": "double precision",
    **dict.fromkeys(("verified", "protected", "possibly_sensitive"), "boolean"),
}
"""PostgreSQL types of the staged columns, by name; a column not named here is ``text``."""


def column_type(name: str) -> str:
    return COLUMN_TYPES.get(name, "text")
