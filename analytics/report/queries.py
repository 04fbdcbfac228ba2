"""The report's queries: one per chart, over the warehouse's views, restricted to a :class:`Scope`.

Each returns the SQL and its parameters; :mod:`analytics.report.page` runs them all in one
read-only snapshot.
"""

from __future__ import annotations

from typing import Any

from analytics.scope import Scope


def _account(user_id: str, username: str) -> str:
    """An account's name in the charts: its current username, with its id where another current
    account has the same one (one renamed since it was last collected; their points would be
    drawn as one line), or its id alone."""
    shared = "(SELECT username FROM dim_user WHERE is_current GROUP BY username HAVING count(*) > 1)"
    return (
        f"coalesce({username} || CASE WHEN {username} IN {shared} THEN ' (' || {user_id} || ')' ELSE '' END,"
        f" {user_id}::text)"
    )


def followers(scope: Scope) -> tuple[str, dict[str, Any]]:
    where, params = scope.where("user_id", "date_key")
    return (
        f"SELECT {_account('user_id', 'username')} AS account, full_date AS day, followers_count,"
        f" followers_change_1d, followers_change_7d FROM v_user_growth WHERE {where}"
        " ORDER BY account, day"
    ), params


DAILY_UP_TO = 92
"""A period of up to this many days is drawn a bar a day; up to :data:`WEEKLY_UP_TO`, a bar an ISO
week (its Monday); longer, a bar a month: 30 to 100 bars, whatever the span."""
WEEKLY_UP_TO = 731


def _binned(day: str) -> tuple[str, str]:
    """The period a ``day`` falls in and the bin's name, chosen by ``span.days`` (the scope's span)."""
    period = (
        f"CASE WHEN span.days > {WEEKLY_UP_TO} THEN date_trunc('month', {day})::date"
        f" WHEN span.days > {DAILY_UP_TO} THEN date_trunc('week', {day})::date ELSE {day} END"
    )
    name = (
        f"CASE WHEN span.days > {WEEKLY_UP_TO} THEN 'month' WHEN span.days > {DAILY_UP_TO} THEN 'week' ELSE 'day' END"
    )
    return period, name


def posts(scope: Scope) -> tuple[str, dict[str, Any]]:
    where, params = scope.where("author_id", "date_key")
    period, name = _binned("day")
    return (
        "WITH daily AS (SELECT to_date(date_key::text, 'YYYYMMDD') AS day, tweet_type, count(*) AS tweets"
        f"   FROM fact_tweet WHERE date_key IS NOT NULL AND {where} GROUP BY date_key, tweet_type),"
        " span AS (SELECT max(day) - min(day) AS days FROM daily)"
        f" SELECT {period} AS period, tweet_type, sum(tweets) AS tweets, {name} AS bin"
        " FROM daily CROSS JOIN span GROUP BY 1, 2, 4 ORDER BY 1, 2"
    ), params


def engagement(scope: Scope) -> tuple[str, dict[str, Any]]:
    # v_tweet_engagement's sums without its as-of followers lookups (two index probes a tweet)
    where, params = scope.where("t.author_id", "t.date_key")
    engagement = (
        "coalesce(m.like_count, 0) + coalesce(m.retweet_count, 0) + coalesce(m.reply_count, 0)"
        " + coalesce(m.quote_count, 0)"
    )
    return (
        "SELECT t.tweet_type, count(*) AS tweets, count(m.tweet_id) AS with_metrics,"
        f" round(avg({engagement}) FILTER (WHERE m.tweet_id IS NOT NULL), 2) AS avg_engagement,"
        f" round(100 * sum({engagement}) FILTER (WHERE m.impression_count > 0)::numeric"
        "   / nullif(sum(m.impression_count) FILTER (WHERE m.impression_count > 0), 0), 3) AS engagement_rate_pct"
        " FROM fact_tweet t LEFT JOIN v_tweet_latest_metrics m ON m.tweet_id = t.tweet_id"
        f" WHERE {where} GROUP BY t.tweet_type ORDER BY t.tweet_type"
    ), params


def curves(scope: Scope) -> tuple[str, dict[str, Any]]:
    # the snapshots under 72 h of the tweets first seen within 6 h, binned: kept by the warehouse
    # (migration 0010) instead of found from every tweet's first snapshot at each report
    # (grouped by the account's id, named after: sorting 1 M points by a name costs more)
    where, params = scope.where("t.author_id", "t.date_key")
    return (
        f"SELECT {_account('c.author_id', 'u.username')} AS account, c.hours, c.tweets, c.median_likes,"
        " c.median_impressions FROM ("
        "   SELECT t.author_id, t.hours, count(DISTINCT t.tweet_id) AS tweets,"
        "     percentile_cont(0.5) WITHIN GROUP (ORDER BY t.like_count) AS median_likes,"
        "     percentile_cont(0.5) WITHIN GROUP (ORDER BY t.impression_count) AS median_impressions"
        f"   FROM tweet_metric_curve_points t WHERE {where} GROUP BY t.author_id, t.hours) c"
        " LEFT JOIN dim_user u ON u.user_id = c.author_id AND u.is_current"
        " ORDER BY 1, c.author_id, 2"
    ), params


def share(scope: Scope) -> tuple[str, dict[str, Any]]:
    where, params = scope.users("author_id")
    return (
        f"SELECT {_account('author_id', 'username')} AS account, metric, hours, tweets,"
        " round(median_share_of_7d::numeric, 4) AS median_share_of_7d"
        f" FROM v_metric_growth_share WHERE {where} ORDER BY account, metric, hours"
    ), params


def heatmap(scope: Scope) -> tuple[str, dict[str, Any]]:
    where, params = scope.where("author_id", "date_key")
    return (
        "SELECT extract(isodow FROM created_at AT TIME ZONE 'UTC')::int AS weekday,"
        " extract(hour FROM created_at AT TIME ZONE 'UTC')::int AS hour_utc, count(*) AS tweets"
        f" FROM fact_tweet WHERE created_at IS NOT NULL AND {where} GROUP BY 1, 2 ORDER BY 1, 2"
    ), params


def entities(scope: Scope) -> tuple[str, dict[str, Any]]:
    # v_entity_daily's count over the period, without going through its days
    where, params = scope.where("t.author_id", "t.date_key")
    return (
        "SELECT entity_type, entity, tweets FROM ("
        " SELECT e.entity_type, e.entity, count(*) AS tweets,"
        "   row_number() OVER (PARTITION BY e.entity_type ORDER BY count(*) DESC, e.entity) AS rank"
        " FROM v_tweet_entity e JOIN fact_tweet t ON t.tweet_id = e.tweet_id"
        f" WHERE t.date_key IS NOT NULL AND {where} GROUP BY e.entity_type, e.entity) ranked"
        " WHERE rank <= 10 ORDER BY entity_type, tweets DESC, entity"
    ), params


def sentiment(scope: Scope) -> tuple[str, dict[str, Any]]:
    where, params = scope.where("author_id", "date_key")
    period, name = _binned("day")
    return (
        "WITH daily AS (SELECT * FROM v_sentiment_daily WHERE " + where + "),"
        " span AS (SELECT max(day) - min(day) AS days FROM daily)"
        f" SELECT {period} AS period,"
        " sum(tweets_scored) AS tweets_scored,"
        " round((sum(avg_compound * tweets_scored) / sum(tweets_scored))::numeric, 4) AS avg_compound,"
        f" sum(positive) AS positive, sum(neutral) AS neutral, sum(negative) AS negative, {name} AS bin"
        " FROM daily CROSS JOIN span GROUP BY 1, 7 ORDER BY 1"
    ), params
