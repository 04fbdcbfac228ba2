"""The analyst views (migration 0006) on real PostgreSQL, over hand-built rows whose answers are
worked out by hand below."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from tests.analytics.rows import T0, daily, dates, metrics, query, tweet, user

pytestmark = pytest.mark.slow  # the embedded PostgreSQL


def _at(day: str, hour: int = 12, minute: int = 0) -> datetime:
    y, m, d = (int(p) for p in day.split("-"))
    return datetime(y, m, d, hour, minute, tzinfo=UTC)


def test_author_followers_as_of_the_tweets_day_across_gaps(wh: Any) -> None:
    dates(wh)
    user(wh, 1, "alice")
    user(wh, 2, "bob")  # bob has no snapshot at all
    for day, followers in (("2026-11-01", 1000), ("2026-11-05", 1100), ("2026-11-10", 1300)):
        daily(wh, 1, date.fromisoformat(day), followers)
    tweet(wh, 11, 1, _at("2026-10-20"))  # before every snapshot: the earliest after (11-01), 12 days later
    tweet(wh, 12, 1, _at("2026-11-01", 23, 59))  # the snapshot's own day
    tweet(wh, 13, 1, _at("2026-11-03"))  # in the gap: the latest on or before (11-01), 2 days earlier
    tweet(wh, 14, 1, _at("2026-11-07"))  # 11-05
    tweet(wh, 15, 1, _at("2026-11-12"))  # after the last: 11-10
    tweet(wh, 16, 2, _at("2026-11-03"))
    rows = query(
        wh,
        "SELECT tweet_id, author_followers, followers_date_key, followers_days_from_tweet"
        " FROM v_tweet_engagement ORDER BY tweet_id",
    )
    assert rows == [
        (11, 1000, 20261101, 12),
        (12, 1000, 20261101, 0),
        (13, 1000, 20261101, -2),
        (14, 1100, 20261105, -2),
        (15, 1300, 20261110, -2),
        (16, None, None, None),
    ]


def test_engagement_uses_the_latest_metrics_snapshot(wh: Any) -> None:
    dates(wh)
    user(wh, 1, "alice")
    daily(wh, 1, date(2026, 11, 1), 1000)
    tweet(wh, 13, 1, _at("2026-11-03"))
    metrics(wh, 13, _at("2026-11-03", 14), likes=5, retweets=1, replies=0, quotes=0, impressions=300)
    metrics(wh, 13, _at("2026-11-04", 14), likes=10, retweets=2, replies=1, quotes=1, impressions=700)
    (row,) = query(
        wh,
        "SELECT like_count, engagement, author_followers, engagement_per_follower,"
        " impression_count, engagement_rate FROM v_tweet_engagement",
    )
    # 10 + 2 + 1 + 1 = 14 engagements; 14 / 1000 followers; 14 / 700 impressions
    assert row[:3] == (10, 14, 1000)
    assert float(row[3]) == pytest.approx(0.014)
    assert row[4] == 700
    assert float(row[5]) == pytest.approx(0.02)


def test_user_current_has_its_latest_counts_and_growth_has_usernames(wh: Any) -> None:
    dates(wh)
    user(wh, 1, "alice")
    for day, followers in (
        ("2026-11-01", 1000),
        ("2026-11-02", 1010),
        ("2026-11-05", 1100),
        ("2026-11-09", 1200),
        ("2026-11-10", 1300),
    ):
        daily(wh, 1, date.fromisoformat(day), followers, tweets=followers // 10)
    assert query(wh, "SELECT username, followers_count, tweet_count, counts_date_key FROM v_user_current") == [
        ("alice", 1300, 130, 20261110)
    ]
    rows = query(
        wh,
        "SELECT username, date_key, followers_change, days_since_previous, followers_change_1d,"
        " week_base_date_key, followers_change_7d FROM v_user_growth ORDER BY date_key",
    )
    assert rows == [
        ("alice", 20261101, None, None, None, None, None),
        ("alice", 20261102, 10, 1, 10, None, None),
        # 3 days after 11-02: no day-over-day figure; nothing 7 days before (10-29 or earlier)
        ("alice", 20261105, 90, 3, None, None, None),
        # 7 days before 11-09 is 11-02: 1200 - 1010
        ("alice", 20261109, 100, 4, None, 20261102, 190),
        # 7 days before 11-10 is 11-03: the latest on or before it is 11-02 again: 1300 - 1010
        ("alice", 20261110, 100, 1, 100, 20261102, 290),
    ]


def test_growth_curves_interpolate_between_irregular_snapshots(wh: Any) -> None:
    dates(wh)
    user(wh, 1, "alice")
    posted = T0  # 2026-11-01 00:00 UTC
    tweet(wh, 21, 1, posted)  # first seen at 0.5 h: the posting moment counts as 0 likes
    for hours, likes in ((0.5, 4), (3, 10), (30, 40), (50, 46), (200, 60)):
        metrics(wh, 21, posted + timedelta(hours=hours), likes=likes)
    tweet(wh, 22, 1, posted + timedelta(hours=1))  # first seen at 10 h: no zero anchor, so no 1 h or 6 h mark
    for hours, likes in ((10, 20), (24, 50), (100, 90), (170, 100)):
        metrics(wh, 22, posted + timedelta(hours=1 + hours), likes=likes)
    tweet(wh, 23, 1, posted + timedelta(hours=2))  # never observed past 7 days: marks, but no share
    for hours, likes in ((2, 8), (30, 30)):
        metrics(wh, 23, posted + timedelta(hours=2 + hours), likes=likes)
    tweet(wh, 24, 1, posted, tweet_type="retweet")  # left out: a retweet's counts are the original's
    metrics(wh, 24, posted + timedelta(hours=2), likes=1000)

    curve = query(
        wh,
        "SELECT tweet_id, round(hours_since_posting::numeric, 2), like_count FROM v_tweet_metric_curve"
        " WHERE tweet_id = 22 ORDER BY 2",
    )
    assert [(float(h), n) for _, h, n in curve] == [(10.0, 20), (24.0, 50), (100.0, 90), (170.0, 100)]

    marks = {
        (t, h): (v, s)
        for t, h, v, s in query(
            wh, "SELECT tweet_id, hours, value, share_of_7d FROM v_tweet_metric_milestones WHERE metric = 'likes'"
        )
    }
    a7 = 46 + 14 * (168 - 50) / (200 - 50)  # tweet 21 at 168 h: between 50 h (46) and 200 h (60)
    b7 = 90 + 10 * (168 - 100) / (170 - 100)  # tweet 22: between 100 h (90) and 170 h (100)
    expected_values = {
        (21, 1): 4 + 6 * (1 - 0.5) / (3 - 0.5),
        (21, 6): 10 + 30 * (6 - 3) / (30 - 3),
        (21, 24): 10 + 30 * (24 - 3) / (30 - 3),
        (21, 48): 40 + 6 * (48 - 30) / (50 - 30),
        (21, 168): a7,
        (22, 24): 50,
        (22, 48): 50 + 40 * (48 - 24) / (100 - 24),
        (22, 168): b7,
        (23, 1): 8 * 1 / 2,
        (23, 6): 8 + 22 * (6 - 2) / (30 - 2),
        (23, 24): 8 + 22 * (24 - 2) / (30 - 2),
    }
    assert set(marks) == set(expected_values)
    for mark, value in expected_values.items():
        assert marks[mark][0] == pytest.approx(value), mark
    assert marks[(21, 24)][1] == pytest.approx(expected_values[(21, 24)] / a7)
    assert marks[(23, 24)][1] is None  # no 7-day value

    share = {
        (m, h): (n, s)
        for m, h, n, s in query(
            wh, "SELECT metric, hours, tweets, median_share_of_7d FROM v_metric_growth_share WHERE username = 'alice'"
        )
    }
    assert set(share) == {("likes", 1), ("likes", 6), ("likes", 24), ("likes", 48)}  # metrics with values only
    assert share[("likes", 1)] == (1, pytest.approx(expected_values[(21, 1)] / a7))
    # the median of two tweets' shares is their mean
    assert share[("likes", 24)][0] == 2
    assert share[("likes", 24)][1] == pytest.approx((expected_values[(21, 24)] / a7 + 50 / b7) / 2)
    assert share[("likes", 48)][1] == pytest.approx(
        (expected_values[(21, 48)] / a7 + expected_values[(22, 48)] / b7) / 2
    )


def test_posting_activity_is_a_full_utc_grid(wh: Any) -> None:
    dates(wh)
    user(wh, 1, "alice")
    tweet(wh, 31, 1, _at("2026-11-02", 9, 15))  # a Monday
    tweet(wh, 32, 1, _at("2026-11-02", 9, 50), tweet_type="retweet")
    tweet(wh, 33, 1, datetime(2026, 11, 2, 1, 30, tzinfo=timezone(timedelta(hours=2))))  # Sunday 23:30 UTC
    rows = query(
        wh,
        "SELECT weekday, weekday_name, hour_utc, tweets, own_tweets FROM v_posting_activity"
        " WHERE username = 'alice' ORDER BY weekday, hour_utc",
    )
    assert len(rows) == 7 * 24
    busy = [r for r in rows if r[3]]
    assert busy == [(1, "Monday", 9, 2, 1), (7, "Sunday", 23, 1, 1)]


def test_entities_per_account_and_day(wh: Any) -> None:
    dates(wh)
    user(wh, 1, "alice")
    tweet(wh, 41, 1, _at("2026-11-02"))
    tweet(wh, 42, 1, _at("2026-11-02", 18))
    tweet(wh, 43, 1, _at("2026-11-03"))
    for tweet_id, tag in ((41, "AI"), (42, "ai"), (43, "ai"), (42, "Space")):
        wh.execute("INSERT INTO tweet_hashtag VALUES (%s, %s)", (tweet_id, tag))
    wh.execute("INSERT INTO tweet_cashtag VALUES (41, 'tsla')")
    wh.execute("INSERT INTO tweet_mention VALUES (41, 7, 'NASA'), (42, 7, 'nasa')")
    wh.execute(
        "INSERT INTO tweet_url (tweet_id, url, expanded_url) VALUES"
        " (41, 'https://t.co/a', 'https://www.Example.com/a?b=1'),"
        " (42, 'https://t.co/b', 'http://user@example.com:8080/x'), (43, 'https://t.co/c', NULL)"
    )
    rows = query(wh, "SELECT day, entity_type, entity, tweets FROM v_entity_daily ORDER BY day, entity_type, entity")
    d2, d3 = date(2026, 11, 2), date(2026, 11, 3)
    assert rows == [
        (d2, "cashtag", "TSLA", 1),
        (d2, "domain", "example.com", 2),
        (d2, "hashtag", "ai", 2),
        (d2, "hashtag", "space", 1),
        (d2, "mention", "nasa", 2),
        (d3, "domain", "t.co", 1),
        (d3, "hashtag", "ai", 1),
    ]
    assert query(wh, "SELECT * FROM v_tweet_entity WHERE tweet_id = 42 ORDER BY entity_type, entity") == [
        (42, "domain", "example.com"),
        (42, "hashtag", "ai"),
        (42, "hashtag", "space"),
        (42, "mention", "nasa"),
    ]
    wh.execute("INSERT INTO tweet_hashtag VALUES (42, 'AI')")  # the same hashtag in another case: still once
    assert query(wh, "SELECT count(*) FROM v_tweet_entity WHERE tweet_id = 42 AND entity = 'ai'") == [(1,)]

    # the report's top entities of a period are v_entity_daily summed over its days
    from analytics.report.queries import entities
    from analytics.scope import Scope

    schema = query(wh, "SELECT current_schema()")[0][0]
    for since, expected in ((None, [("hashtag", "ai", 3), ("hashtag", "space", 1)]), (d3, [("hashtag", "ai", 1)])):
        sql, params = entities(Scope(schema, accounts=("alice",), since=since, user_ids=(1,)))
        found = [r for r in query(wh, sql, params) if r[0] == "hashtag"]
        summed = query(
            wh,
            "SELECT entity_type, entity, sum(tweets) FROM v_entity_daily WHERE entity_type = 'hashtag'"
            " AND day >= coalesce(%s, day) GROUP BY 1, 2 ORDER BY 3 DESC, 2",
            (since,),
        )
        assert found == summed == expected


def test_engagement_rate_by_account_and_type(wh: Any) -> None:
    dates(wh)
    user(wh, 1, "alice")
    tweet(wh, 51, 1, _at("2026-11-02"))
    tweet(wh, 52, 1, _at("2026-11-02", 13))
    tweet(wh, 53, 1, _at("2026-11-02", 14), tweet_type="reply")
    tweet(wh, 54, 1, _at("2026-11-02", 15))  # no metrics yet
    metrics(wh, 51, _at("2026-11-03"), likes=10, retweets=5, replies=3, quotes=2, impressions=1000)  # 20
    metrics(wh, 52, _at("2026-11-03"), likes=30, retweets=0, replies=0, quotes=0, impressions=500)  # 30
    metrics(wh, 53, _at("2026-11-03"), likes=1, retweets=0, replies=1, quotes=0, impressions=None)  # 2, no impr.
    rows = {
        r[0]: r[1:]
        for r in query(
            wh,
            "SELECT tweet_type, tweets, tweets_with_metrics, engagement, impressions, engagement_rate,"
            " avg_engagement FROM v_engagement_by_type WHERE username = 'alice'",
        )
    }
    assert rows["original"][:4] == (3, 2, 50, 1500)
    assert float(rows["original"][4]) == pytest.approx(50 / 1500)
    assert float(rows["original"][5]) == pytest.approx(25)
    assert rows["reply"][:4] == (1, 1, 2, None)
    assert rows["reply"][4] is None


def test_sentiment_daily(wh: Any) -> None:
    dates(wh)
    user(wh, 1, "alice")
    tweet(wh, 61, 1, _at("2026-11-02"), compound=0.8, label="positive")
    tweet(wh, 62, 1, _at("2026-11-02", 15), compound=-0.4, label="negative")
    tweet(wh, 63, 1, _at("2026-11-02", 16), compound=0.0, label="neutral")
    tweet(wh, 64, 1, _at("2026-11-02", 17), lang="fr")  # not scored
    (row,) = query(wh, "SELECT day, tweets_scored, avg_compound, positive, neutral, negative FROM v_sentiment_daily")
    assert row[0] == date(2026, 11, 2) and row[1] == 3 and row[3:] == (1, 1, 1)
    assert row[2] == pytest.approx((0.8 - 0.4 + 0.0) / 3)


def test_sentiment_columns_are_checked(wh: Any) -> None:
    import psycopg

    dates(wh)
    with pytest.raises(psycopg.errors.CheckViolation):
        tweet(wh, 71, 1, _at("2026-11-02"), compound=1.5, label="positive")
    with pytest.raises(psycopg.errors.CheckViolation):
        tweet(wh, 72, 1, _at("2026-11-02"), compound=0.5, label=None)
