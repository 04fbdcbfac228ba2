"""Hand-built warehouse rows for the analytics tests (plain INSERTs into a migrated schema)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def key(day: date | datetime) -> int:
    return int(day.strftime("%Y%m%d"))


def dates(conn: Any, first: str = "2026-09-01", last: str = "2027-01-31") -> None:
    conn.execute("SELECT ensure_dim_date(%s::date, %s::date)", (first, last))


def user(conn: Any, user_id: int, username: str, valid_from: datetime = T0) -> None:
    conn.execute(
        "INSERT INTO dim_user (user_id, username, name, valid_from, is_current) VALUES (%s, %s, %s, %s, true)",
        (user_id, username, username.title(), valid_from),
    )


def daily(conn: Any, user_id: int, day: date, followers: int, **counts: int) -> None:
    conn.execute(
        "INSERT INTO fact_user_daily (user_id, date_key, followers_count, following_count, tweet_count,"
        " collected_at) VALUES (%s, %s, %s, %s, %s, %s)",
        (user_id, key(day), followers, counts.get("following", 10), counts.get("tweets", 100),
         datetime(day.year, day.month, day.day, 1, tzinfo=UTC)),
    )


def tweet(conn: Any, tweet_id: int, author_id: int, created_at: datetime, *, tweet_type: str = "original",
          text: str = "hello", lang: str = "en", compound: float | None = None, label: str | None = None) -> None:
    conn.execute(
        "INSERT INTO fact_tweet (tweet_id, author_id, created_at, date_key, lang, text, tweet_type,"
        " sentiment_compound, sentiment_label, first_collected_at, last_collected_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (tweet_id, author_id, created_at, key(created_at.astimezone(UTC)), lang, text, tweet_type, compound, label,
         created_at + timedelta(minutes=5), created_at + timedelta(minutes=5)),
    )


def metrics(conn: Any, tweet_id: int, collected_at: datetime, *, likes: int | None = None,
            retweets: int | None = None, replies: int | None = None, quotes: int | None = None,
            impressions: int | None = None) -> None:
    conn.execute(
        "INSERT INTO fact_tweet_metrics (tweet_id, collected_at, date_key, like_count, retweet_count, reply_count,"
        " quote_count, impression_count) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (tweet_id, collected_at, key(collected_at), likes, retweets, replies, quotes, impressions),
    )


def query(conn: Any, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in conn.execute(sql, params).fetchall()]
