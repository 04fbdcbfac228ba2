"""tweets and tweet_metrics: tweet objects → fact rows, entity bridges, metric snapshots, edit links, deletions.

Each transform's output columns are a contract of ``common/warehouse/columns.py`` (named in its
docstring); ``glue_jobs/datasets.py`` says which transform feeds which staging table.
"""

from __future__ import annotations

import pyspark.sql.functions as F
import pyspark.sql.types as T
from pyspark.sql import Column, DataFrame

from common.warehouse.columns import EDIT_LINK_COLUMNS, METRIC_COUNTS, RECORD_KEY, TWEET_COLUMNS
from glue_jobs.transforms.raw import (
    clean_text,
    filter_data_records,
    filter_error_records,
    record_key,
    to_bool,
    to_date_key,
    to_id,
    to_long,
    to_timestamp,
)
from glue_jobs.transforms.sentiment import sentiment_compound, sentiment_label

_S = T.StringType()


def _struct(*names: str) -> T.StructType:
    return T.StructType([T.StructField(n, _S) for n in names])


ENTITIES_SCHEMA = T.StructType(
    [
        T.StructField("hashtags", T.ArrayType(_struct("tag"))),
        T.StructField("cashtags", T.ArrayType(_struct("tag"))),
        T.StructField("mentions", T.ArrayType(_struct("username", "id"))),
        T.StructField("urls", T.ArrayType(_struct("url", "expanded_url", "display_url"))),
    ]
)
TWEET_PUBLIC_METRICS = _struct(*METRIC_COUNTS)  # the API's names
TWEET_SCHEMA = T.StructType(
    [
        *(
            T.StructField(n, _S)
            for n in (
                "id",
                "text",
                "author_id",
                "conversation_id",
                "created_at",
                "in_reply_to_user_id",
                "lang",
                "possibly_sensitive",
                "reply_settings",
                "source",
            )
        ),
        T.StructField("edit_controls", _struct("edits_remaining", "is_edit_eligible", "editable_until")),
        T.StructField("edit_history_tweet_ids", T.ArrayType(_S)),
        T.StructField("entities", ENTITIES_SCHEMA),
        T.StructField(
            "note_tweet", T.StructType([T.StructField("text", _S), T.StructField("entities", ENTITIES_SCHEMA)])
        ),
        T.StructField("public_metrics", TWEET_PUBLIC_METRICS),
        T.StructField("referenced_tweets", T.ArrayType(_struct("type", "id"))),
    ]
)

REFERENCE_TYPES: tuple[str, ...] = ("replied_to", "quoted", "retweeted")


# -- column functions ------------------------------------------------------------------------
def has_reference(kind: str) -> Column:
    refs = F.coalesce(F.col("data.referenced_tweets"), F.array())
    return F.exists(refs, lambda ref: ref["type"] == F.lit(kind))


def tweet_type() -> Column:
    """retweet, quote, reply or original — in that order of precedence."""
    is_retweet = has_reference("retweeted")
    is_quote = has_reference("quoted")
    is_reply = has_reference("replied_to") | F.col("data.in_reply_to_user_id").isNotNull()
    return (
        F.when(is_retweet, F.lit("retweet"))
        .when(is_quote, F.lit("quote"))
        .when(is_reply, F.lit("reply"))
        .otherwise(F.lit("original"))
    )


def full_text() -> Column:
    """The note_tweet's full text of a long post, else ``text``."""
    return clean_text(F.coalesce(F.col("data.note_tweet.text"), F.col("data.text")))


def tweet_entities() -> Column:
    """The entities of the full text: ``note_tweet.entities`` when present, else ``entities``."""
    return F.coalesce(F.col("data.note_tweet.entities"), F.col("data.entities"))


# -- DataFrame transforms --------------------------------------------------------------------
def with_tweet_keys(parsed_df: DataFrame) -> DataFrame:
    """Good data records → ``tweet_id``, ``collected_at``, the tweet object ``data`` and the
    ``entities`` to use: what every tweet transform below reads."""
    return parsed_df.transform(filter_data_records).select(
        to_id(F.col("data.id")).alias("tweet_id"),
        "collected_at",
        "data",
        tweet_entities().alias("entities"),
        record_key().alias(RECORD_KEY),
    )


def tweet_rows(tweets_df: DataFrame) -> DataFrame:
    """``with_tweet_keys`` output → ``TWEET_COLUMNS`` (one row per collected tweet record)."""
    tweet = F.col("data")
    created_at = to_timestamp(tweet["created_at"])
    rows_df = tweets_df.select(
        "tweet_id",
        to_id(tweet["author_id"]).alias("author_id"),
        created_at.alias("created_at"),
        to_date_key(created_at).alias("date_key"),
        to_id(tweet["conversation_id"]).alias("conversation_id"),
        to_id(tweet["in_reply_to_user_id"]).alias("in_reply_to_user_id"),
        clean_text(tweet["lang"]).alias("lang"),
        full_text().alias("text"),
        tweet_type().alias("tweet_type"),
        to_bool(tweet["possibly_sensitive"]).alias("possibly_sensitive"),
        clean_text(tweet["source"]).alias("source"),
        "collected_at",
        RECORD_KEY,
    )
    return rows_df.transform(with_sentiment).select(*TWEET_COLUMNS)


def with_sentiment(rows_df: DataFrame) -> DataFrame:
    """``sentiment_compound`` and ``sentiment_label`` of the full ``text`` (English, not retweets)."""
    is_retweet = F.col("tweet_type") == F.lit("retweet")
    scored_df = rows_df.withColumn("sentiment_compound", sentiment_compound(F.col("text"), F.col("lang"), is_retweet))
    return scored_df.withColumn("sentiment_label", sentiment_label(F.col("sentiment_compound")))


def metric_snapshots(tweets_df: DataFrame) -> DataFrame:
    """Public metrics of each collected tweet record → ``METRIC_COLUMNS`` (dated by collection day)."""
    metrics = F.col("data.public_metrics")
    return tweets_df.filter(metrics.isNotNull()).select(
        "tweet_id",
        "collected_at",
        to_date_key(F.col("collected_at")).alias("date_key"),
        *(to_long(metrics[c]).alias(c) for c in METRIC_COUNTS),
        RECORD_KEY,
    )


def _explode_entities(tweets_df: DataFrame, field: str) -> DataFrame:
    return tweets_df.select("tweet_id", "collected_at", RECORD_KEY, F.explode(F.col("entities")[field]).alias("entity"))


def explode_hashtags(tweets_df: DataFrame, field: str = "hashtags") -> DataFrame:
    """One row per hashtag (or cashtag with ``field="cashtags"``) → ``HASHTAG_COLUMNS``."""
    tag = clean_text(F.col("entity.tag"))
    return (
        _explode_entities(tweets_df, field)
        .filter(tag.isNotNull() & (tag != ""))
        .select("tweet_id", "collected_at", RECORD_KEY, tag.alias("tag"))
    )


def explode_cashtags(tweets_df: DataFrame) -> DataFrame:
    return explode_hashtags(tweets_df, "cashtags")


def explode_mentions(tweets_df: DataFrame) -> DataFrame:
    username = clean_text(F.col("entity.username"))
    return (
        _explode_entities(tweets_df, "mentions")
        .filter(username.isNotNull() & (username != ""))
        .select(
            "tweet_id",
            "collected_at",
            RECORD_KEY,
            to_id(F.col("entity.id")).alias("mentioned_user_id"),
            username.alias("mentioned_username"),
        )
    )


def explode_urls(tweets_df: DataFrame) -> DataFrame:
    url = clean_text(F.col("entity.url"))
    return (
        _explode_entities(tweets_df, "urls")
        .filter(url.isNotNull() & (url != ""))
        .select(
            "tweet_id",
            "collected_at",
            RECORD_KEY,
            url.alias("url"),
            clean_text(F.col("entity.expanded_url")).alias("expanded_url"),
            clean_text(F.col("entity.display_url")).alias("display_url"),
        )
    )


def explode_references(tweets_df: DataFrame) -> DataFrame:
    reference_id = to_id(F.col("ref.id"))
    is_known_type = F.col("ref.type").isin(*REFERENCE_TYPES)
    return (
        tweets_df.select(
            "tweet_id", "collected_at", RECORD_KEY, F.explode(F.col("data.referenced_tweets")).alias("ref")
        )
        .filter(reference_id.isNotNull() & is_known_type)
        .select(
            "tweet_id",
            "collected_at",
            RECORD_KEY,
            reference_id.alias("referenced_tweet_id"),
            F.col("ref.type").alias("reference_type"),
        )
    )


def explode_edit_links(tweets_df: DataFrame) -> DataFrame:
    """Each earlier version in ``edit_history_tweet_ids`` (oldest first) → the latest version."""
    history = F.filter(
        F.transform(F.coalesce(F.col("data.edit_history_tweet_ids"), F.array()), to_id),
        lambda version: version.isNotNull(),
    )
    latest = F.element_at(history, -1)
    earlier = F.slice(history, 1, F.greatest(F.size(history) - 1, F.lit(0)))
    return (
        tweets_df.filter(F.size(history) > 1)
        .select(F.explode(earlier).alias("tweet_id"), latest.alias("latest_tweet_id"))
        .filter(F.col("tweet_id") != F.col("latest_tweet_id"))
        .select(*EDIT_LINK_COLUMNS)
    )


def deleted_tweets(parsed_df: DataFrame) -> DataFrame:
    """``Not Found Error`` records of tweet lookups → ``DELETION_COLUMNS``."""
    error = F.col("error")
    is_deleted_tweet = (error["resource_type"] == "tweet") & (error["title"] == "Not Found Error")
    tweet_id = to_id(F.coalesce(error["resource_id"], error["value"]))
    return (
        parsed_df.transform(filter_error_records)
        .filter(is_deleted_tweet & tweet_id.isNotNull())
        .select(
            tweet_id.alias("tweet_id"),
            F.col("collected_at").alias("detected_at"),
            clean_text(error["title"]).alias("title"),
            clean_text(error["detail"]).alias("detail"),
        )
    )
