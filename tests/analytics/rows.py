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
        (
            user_id,
            key(day),
            followers,
            counts.get("following", 10),
            counts.get("tweets", 100),
            datetime(day.year, day.month, day.day, 1, tzinfo=UTC),
        ),
    )


def tweet(
    conn: Any,
    tweet_id: int,
    author_id: int,
    created_at: datetime,
    *,
    tweet_type: str = "original",
    text: str = "hello",
    lang: str = "en",
    compound: float | None = None,
    label: str | None = None,
) -> None:
    conn.execute(
        "INSERT INTO fact_tweet (tweet_id, author_id, created_at, date_key, lang, text, tweet_type,"
        " sentiment_compound, sentiment_label, first_collected_at, last_collected_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            tweet_id,
            author_id,
            created_at,
            key(created_at.astimezone(UTC)),
            lang,
            text,
            tweet_type,
            compound,
            label,
            created_at + timedelta(minutes=5),
            created_at + timedelta(minutes=5),
        ),
    )


def metrics(
    conn: Any,
    tweet_id: int,
    collected_at: datetime,
    *,
    likes: int | None = None,
    retweets: int | None = None,
    replies: int | None = None,
    quotes: int | None = None,
    impressions: int | None = None,
) -> None:
    conn.execute(
        "INSERT INTO fact_tweet_metrics (tweet_id, collected_at, date_key, like_count, retweet_count, reply_count,"
        " quote_count, impression_count) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (tweet_id, collected_at, key(collected_at), likes, retweets, replies, quotes, impressions),
    )


def query(conn: Any, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in conn.execute(sql, params).fetchall()]


def small_warehouse(conn: Any) -> dict[str, Any]:
    """Two accounts over ten days, every chart's input, with a few facts worked out by hand.

    alice (1): followers 1000 + 50 a day from 11-01 to 11-10; four tweets (two originals, a reply, a
    retweet) with metrics from 1 h to 8 days; #Space on two tweets, @nasa, $TSLA, example.org links.
    bob (2): followers 500 on 11-01 and 11-08; two tweets on 11-09, one in French.
    """
    dates(conn)
    user(conn, 1, "alice")
    user(conn, 2, "bob")
    for i in range(10):
        daily(conn, 1, date(2026, 11, 1 + i), 1000 + 50 * i)
    daily(conn, 2, date(2026, 11, 1), 500)
    daily(conn, 2, date(2026, 11, 8), 520)
    posted = {
        101: datetime(2026, 11, 2, 9, 0, tzinfo=UTC),  # Monday 09 UTC
        102: datetime(2026, 11, 2, 9, 30, tzinfo=UTC),  # Monday 09 UTC
        103: datetime(2026, 11, 3, 18, 0, tzinfo=UTC),  # Tuesday 18 UTC
        104: datetime(2026, 11, 4, 7, 0, tzinfo=UTC),  # Wednesday 07 UTC
        201: datetime(2026, 11, 9, 12, 0, tzinfo=UTC),  # Monday 12 UTC
        202: datetime(2026, 11, 9, 13, 0, tzinfo=UTC),
    }
    tweet(conn, 101, 1, posted[101], text="What a wonderful launch", compound=0.7, label="positive")
    tweet(conn, 102, 1, posted[102], text="Delays again, awful", compound=-0.6, label="negative")
    tweet(conn, 103, 1, posted[103], tweet_type="reply", text="@nasa see you at 9", compound=0.0, label="neutral")
    tweet(conn, 104, 1, posted[104], tweet_type="retweet", text="RT @nasa: go")
    tweet(conn, 201, 2, posted[201], text="Great news today", compound=0.6, label="positive")
    tweet(conn, 202, 2, posted[202], text="Bonjour à tous", lang="fr")
    for tweet_id, curve in {
        101: ((1, 10, 100), (5, 40, 400), (30, 80, 800), (200, 100, 1000)),
        102: ((2, 4, 50), (26, 16, 200), (190, 20, 250)),
        103: ((3, 1, 10), (100, 2, 20)),
        104: ((1, 0, 0),),
        201: ((2, 5, 100), (20, 10, 300)),
    }.items():
        for hours, likes, impressions in curve:
            metrics(
                conn,
                tweet_id,
                posted[tweet_id] + timedelta(hours=hours),
                likes=likes,
                retweets=likes // 10,
                replies=1,
                quotes=0,
                impressions=impressions,
            )
    for tweet_id, tag in ((101, "Space"), (102, "space"), (201, "News")):
        conn.execute("INSERT INTO tweet_hashtag VALUES (%s, %s)", (tweet_id, tag))
    conn.execute("INSERT INTO tweet_cashtag VALUES (101, 'TSLA')")
    conn.execute("INSERT INTO tweet_mention VALUES (103, 11, 'nasa'), (104, 11, 'NASA')")
    conn.execute(
        "INSERT INTO tweet_url (tweet_id, url, expanded_url) VALUES (101, 'https://t.co/x',"
        " 'https://www.example.org/launch'), (201, 'https://t.co/y', 'https://news.example.net/a')"
    )
    conn.execute(
        "INSERT INTO etl_file_ledger (dataset, path, dt, size_bytes, rows_loaded, rows_quarantined, run_id,"
        " rows_api_errors) VALUES ('tweets', 'raw/tweets/dt=2026-11-09/a.jsonl.gz', '2026-11-09', 100,"
        " 6, 2, 'r1', 1), ('users', 'raw/users/dt=2026-11-10/b.jsonl.gz', '2026-11-10', 50, 12, 0, 'r2', 0)"
    )
    return {"posted": posted}
