"""Charts a person reads at a glance: bars binned by the period's span, sample sizes on the
curves, an empty bar that says why."""

from __future__ import annotations

from typing import Any

import pytest

from analytics.report import figures, queries
from analytics.scope import Scope
from analytics.table import Table, run_query
from tests.analytics.rows import T0, daily, dates, metrics, tweet, user


def posts_table(wh: Any, schema: str, days: int) -> Table:
    dates(wh, "2024-12-01", "2030-12-31")
    wh.execute(
        "INSERT INTO fact_tweet (tweet_id, author_id, created_at, date_key, lang, text, tweet_type,"
        " first_collected_at, last_collected_at)"
        " SELECT g, 1, d, to_char(d, 'YYYYMMDD')::int, 'en', 'x', 'original', d, d"
        " FROM generate_series(0, %s) AS g, LATERAL (SELECT '2025-01-01'::timestamptz + g * interval '1 day') AS t(d)",
        (days,),
    )
    sql, params = queries.posts(Scope(schema=schema))
    return run_query(wh, sql, params)


@pytest.mark.slow
@pytest.mark.parametrize(("days", "bin_", "most_bars"), [(30, "day", 31), (365, "week", 54), (1800, "month", 61)])
def test_posts_are_binned_by_the_span_never_thousands_of_hairline_bars(
    wh: Any, schema: str, days: int, bin_: str, most_bars: int
) -> None:
    table = posts_table(wh, schema, days)
    assert set(table.column("bin")) == {bin_}
    assert len(table.rows) <= most_bars
    assert sum(table.column("tweets")) == days + 1  # every tweet in one bar


ENGAGEMENT = ("tweet_type", "tweets", "with_metrics", "avg_engagement", "engagement_rate_pct")


def test_an_empty_engagement_bar_says_why() -> None:
    table = Table(
        ENGAGEMENT, [("original", 10, 10, 12.5, 1.5), ("retweet", 4, 4, 400.0, None), ("quote", 2, 0, None, None)]
    )
    notes = {(a.x, a.text, a.xref) for a in figures.engagement(table).layout.annotations if a.xref in ("x", "x2")}
    assert ("retweet", "no impressions<br>reported", "x") in notes
    assert ("quote", "no metrics yet", "x") in notes and ("quote", "no metrics yet", "x2") in notes
    assert not any(x == "original" for x, _, _ in notes)


def test_the_likes_curve_says_how_many_tweets_each_point_rests_on() -> None:
    columns = ("account", "hours", "tweets", "median_likes", "median_impressions")
    table = Table(
        columns, [("big", 0, 40, 1, 10), ("big", 2, 38, 5, 50), ("small", 0, 2, 60, 600), ("small", 2, 1, 3, 30)]
    )
    traces = {t.name.split(" · ")[0]: t for t in figures.curves(table).data}
    assert traces["big"].name == "big · 38–40 tweets a point" and traces["big"].line.dash == "solid"
    assert traces["small"].name == "small · 1–2 tweets a point" and traces["small"].line.dash == "dot"
    assert list(traces["small"].marker.symbol) == ["circle-open", "circle-open"]
    assert list(traces["small"].customdata) == [2, 1]  # in the hover text


def test_every_chart_leaves_room_above_its_titles_for_plotlys_toolbar() -> None:
    figure = figures.engagement(Table(ENGAGEMENT, [("original", 1, 1, 1.0, 1.0)]))
    assert figure.layout.margin.t >= 50


def test_a_pipeline_series_that_is_zero_everywhere_says_none() -> None:
    columns = ("dataset", "last_collection", "files", "rows_loaded", "rows_api_errors", "rows_quarantined", "x")
    table = Table(columns, [("users", None, 1, 10, 2, 0, None), ("tweets", None, 1, 100, 0, 0, None)])
    names = [trace.name for trace in figures.pipeline(table).data]
    assert names == ["rows loaded", "rows quarantined: none", "rows api errors"]


def test_two_accounts_with_one_current_username_are_two_lines_named_apart(wh: Any, schema: str) -> None:
    """An account renamed since it was last collected may still hold the name another has taken."""
    from datetime import timedelta

    dates(wh)
    for user_id, followers in ((7, 100), (8, 9000)):
        user(wh, user_id, "twin")
        for day in range(3):
            daily(wh, user_id, (T0 + timedelta(days=day)).date(), followers + day)
        tweet(wh, user_id * 10, user_id, T0 + timedelta(hours=1))
        for hours in (2, 6):  # first seen within 6 h: the tweet's curve is kept
            metrics(wh, user_id * 10, T0 + timedelta(hours=hours), likes=followers + hours)
    user(wh, 9, "solo")
    daily(wh, 9, T0.date(), 5)
    scope = Scope(schema=schema)
    lines = {t.name: list(t.y) for t in figures.followers(run_query(wh, *queries.followers(scope))).data}
    assert lines == {"twin (7)": [100, 101, 102], "twin (8)": [9000, 9001, 9002], "solo": [5]}
    curves = {t.name.split(" · ")[0]: list(t.y) for t in figures.curves(run_query(wh, *queries.curves(scope))).data}
    assert set(curves) == {"twin (7)", "twin (8)"}
    assert max(curves["twin (7)"]) < 1000 < min(curves["twin (8)"])  # each line holds one account's points
