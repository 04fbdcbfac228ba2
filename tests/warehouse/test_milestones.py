"""The milestones kept by migration 0010's triggers against version 6's full-scan definition (the
view text of ``0006_analyst_views.sql``, created here under another name as the oracle): equal after
every merge, whatever order and dataset the snapshots and tweets arrive by, after a full refresh,
a hand delete, and after the migration on a warehouse already loaded; and the report's growth
curves from the kept points against the report's query of version 6 (every snapshot). No Spark."""

from __future__ import annotations

import random
import re
from datetime import timedelta
from typing import Any

import pytest

from analytics.report import queries
from analytics.scope import resolve
from common.warehouse.columns import Staging
from common.warehouse.migrate import MIGRATIONS_DIR
from tests.warehouse.staged import Warehouse, at, metric, tweet

TWEET, METRIC = Staging.TWEET, Staging.METRIC
POSTED = at(1)


def version_6(name: str, renamed: str) -> str:
    """Version 6's ``CREATE VIEW name`` statement, creating ``renamed`` instead."""
    text = (MIGRATIONS_DIR / "0006_analyst_views.sql").read_text()
    found = re.search(rf"CREATE VIEW {name} AS\n.*?;\n", text, re.DOTALL)
    assert found, name
    return found.group(0).replace(f"CREATE VIEW {name}", f"CREATE VIEW {renamed}")


def create_oracle(conn: Any) -> None:
    conn.execute(version_6("v_tweet_metric_milestones", "old_milestones"))
    conn.execute(
        version_6("v_metric_growth_share", "old_growth_share").replace(
            "FROM v_tweet_metric_milestones", "FROM old_milestones"
        )
    )


MILESTONES = (
    "SELECT tweet_id, metric, hours, author_id, round(value::numeric, 6), round(value_7d::numeric, 6),"
    " round(share_of_7d::numeric, 6) FROM {} ORDER BY 1, 2, 3"
)
VERSION_6_CURVES = (  # the report's curves query before migration 0010
    "WITH young AS (SELECT t.tweet_id, t.author_id, t.created_at FROM fact_tweet t"
    "   CROSS JOIN LATERAL (SELECT min(fm.collected_at) AS first_at FROM fact_tweet_metrics fm"
    "     WHERE fm.tweet_id = t.tweet_id) f"
    "   WHERE t.tweet_type <> 'retweet'"
    "   AND f.first_at - t.created_at BETWEEN interval '0' AND interval '6 hours' AND {})"
    " SELECT coalesce(u.username, y.author_id::text) AS account,"
    "   (floor(extract(epoch FROM m.collected_at - y.created_at) / 7200) * 2)::int AS hours,"
    "   count(DISTINCT m.tweet_id) AS tweets,"
    "   percentile_cont(0.5) WITHIN GROUP (ORDER BY m.like_count) AS median_likes,"
    "   percentile_cont(0.5) WITHIN GROUP (ORDER BY m.impression_count) AS median_impressions"
    " FROM young y JOIN fact_tweet_metrics m ON m.tweet_id = y.tweet_id"
    "   AND m.collected_at >= y.created_at AND m.collected_at < y.created_at + interval '72 hours'"
    " LEFT JOIN dim_user u ON u.user_id = y.author_id AND u.is_current"
    " GROUP BY 1, 2 ORDER BY 1, 2"
)
KEPT = "(SELECT *, value / nullif(value_7d, 0) AS share_of_7d FROM tweet_metric_milestones) AS kept"
SHARE = (
    "SELECT author_id, username, metric, hours, tweets, round(median_share_of_7d::numeric, 6) FROM {} ORDER BY 1, 3, 4"
)


def assert_kept_equals_full_scan(conn: Any) -> list[tuple[Any, ...]]:
    kept = conn.execute(MILESTONES.format("v_tweet_metric_milestones")).fetchall()
    assert kept == conn.execute(MILESTONES.format("old_milestones")).fetchall()
    # and the report's growth curves from the kept points equal version 6's query on every snapshot
    for since in (None, (POSTED + timedelta(days=1)).date()):
        scope = resolve(conn, conn.execute("SELECT current_schema()").fetchone()[0], (), since)
        sql, params = queries.curves(scope)
        where, _ = scope.where("t.author_id", "t.date_key")
        assert conn.execute(sql, params).fetchall() == conn.execute(VERSION_6_CURVES.format(where), params).fetchall()
    # the view's rows are the kept table's
    assert conn.execute(MILESTONES.format(KEPT)).fetchall() == kept
    assert (
        conn.execute(SHARE.format("v_metric_growth_share")).fetchall()
        == conn.execute(SHARE.format("old_growth_share")).fetchall()
    )
    return kept


def hours(h: float) -> Any:
    return POSTED + timedelta(hours=h)


def snap(tweet_id: int, h: float, likes: int, impressions: int | None = None, **counts: Any) -> dict[str, Any]:
    row = metric(tweet_id, hours(h), likes)
    row.update(retweet_count=likes // 3, reply_count=likes // 7, impression_count=impressions, **counts)
    return row


# Tweets and their snapshots: first seen within 6 h (the posting moment counts as zeros) or later,
# snapshots on a mark, around it and past 7 days, a metric missing, a retweet, a snapshot before
# posting, an author with a second tweet, snapshots of a tweet the tweets job never loads.
TWEETS = [
    tweet(1, hours(0.5), created_at=POSTED),
    tweet(2, hours(10), created_at=POSTED, tweet_type="reply"),
    tweet(3, hours(2), created_at=POSTED, tweet_type="retweet"),
    tweet(4, hours(1), created_at=POSTED, tweet_type="quote", author_id=43),
    tweet(5, hours(3), created_at=hours(2)),
    tweet(7, hours(1), created_at=hours(5), author_id=43),
]
SNAPSHOTS = [
    *(snap(1, h, v, v * 40) for h, v in ((0.5, 2), (3, 9), (20, 30), (30, 41), (100, 60), (200, 66))),
    *(snap(2, h, v, v * 10) for h, v in ((10, 5), (24, 12), (170, 20))),
    *(snap(3, h, v, v) for h, v in ((2, 4), (50, 9), (180, 10))),
    snap(4, 1, 3, 90),
    snap(4, 48, 10),  # no impressions
    snap(4, 168, 12, 400),
    *(snap(5, h, v, v * 5) for h, v in ((3, 1), (8, 4), (26, 7), (47, 11), (171, 16))),
    *(snap(6, h, v, v) for h, v in ((1, 1), (200, 5))),
    *(snap(7, h, v, v * 3) for h, v in ((1, 7), (6, 8), (9, 9), (173, 15))),  # 1 h: before posting
]


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_kept_milestones_equal_the_full_scan_whatever_order_and_dataset_the_snapshots_arrive_by(
    wh: Warehouse, seed: int
) -> None:
    create_oracle(wh.conn)
    rng = random.Random(seed)
    snapshots, tweets = SNAPSHOTS[:], TWEETS[:]
    rng.shuffle(snapshots)
    rng.shuffle(tweets)
    batches = 5
    for i in range(batches):
        staged = {METRIC: snapshots[i::batches]}
        if i % 2 == 0:  # the tweets job stages snapshots too
            wh.merge("tweets", {TWEET: tweets[i // 2 :: 3], **staged})
        else:
            wh.merge("tweet_metrics", staged)
        assert_kept_equals_full_scan(wh.conn)
    kept = assert_kept_equals_full_scan(wh.conn)
    # the oracle is not trivially empty: tweets 1, 2, 4, 5 and 7 have marks, most a 7-day share
    assert {row[0] for row in kept} == {1, 2, 4, 5, 7}
    assert sum(row[6] is not None for row in kept) > 30
    curves, params = queries.curves(resolve(wh.conn, wh.schema))
    assert len(wh.rows(curves, params)) >= 9  # tweets 1, 4 and 5, first seen within 6 h
    # and the views read the kept rows, never every snapshot
    for view in ("v_tweet_metric_milestones", "v_metric_growth_share"):
        plan = "\n".join(r[0] for r in wh.rows(f"EXPLAIN SELECT * FROM {view}"))
        assert "fact_tweet_metrics" not in plan, plan


def test_a_late_snapshot_between_two_others_moves_the_marks_it_falls_between(wh: Warehouse) -> None:
    create_oracle(wh.conn)
    wh.merge("tweets", {TWEET: [tweet(1, hours(0.5), created_at=POSTED)], METRIC: [snap(1, 0.5, 2), snap(1, 200, 80)]})
    before = assert_kept_equals_full_scan(wh.conn)
    wh.merge("tweet_metrics", {METRIC: [snap(1, 30, 70)]})  # late: collected before the last one loaded
    after = assert_kept_equals_full_scan(wh.conn)
    assert before != after
    # a newer collection of one snapshot (a greater record key) updates it, and its marks
    wh.merge("tweet_metrics", {METRIC: [{**snap(1, 30, 20), "record_key": "z"}]})
    assert assert_kept_equals_full_scan(wh.conn) != after


def test_a_full_refresh_and_a_hand_delete_keep_the_milestones_equal_to_the_full_scan(wh: Warehouse) -> None:
    create_oracle(wh.conn)
    wh.merge("tweets", {TWEET: TWEETS, METRIC: SNAPSHOTS})
    first = assert_kept_equals_full_scan(wh.conn)
    # a full refresh of the tweets empties fact_tweet (TRUNCATE … CASCADE) and loads a part again
    wh.merge("tweets", {TWEET: TWEETS[:3], METRIC: SNAPSHOTS[:4]}, full_refresh=True)
    assert {row[0] for row in assert_kept_equals_full_scan(wh.conn)} == {1, 2}
    wh.merge("tweets", {TWEET: TWEETS, METRIC: []})
    assert assert_kept_equals_full_scan(wh.conn) == first
    wh.conn.execute("DELETE FROM fact_tweet_metrics WHERE tweet_id = 5 AND collected_at > %s", (hours(20),))
    wh.conn.execute("DELETE FROM fact_tweet_metrics WHERE tweet_id = 1 AND collected_at = %s", (hours(0.5),))
    wh.conn.execute("UPDATE fact_tweet SET created_at = created_at - interval '3 hours' WHERE tweet_id = 7")
    wh.conn.execute("UPDATE fact_tweet SET tweet_type = 'retweet' WHERE tweet_id = 4")
    wh.conn.execute("UPDATE fact_tweet SET date_key = 20261102 WHERE tweet_id = 1")  # a curve now since 11-02
    assert {row[0] for row in assert_kept_equals_full_scan(wh.conn)} == {1, 2, 5, 7}
    wh.conn.execute("TRUNCATE fact_tweet_metrics")
    assert assert_kept_equals_full_scan(wh.conn) == []


def test_migration_0010_fills_the_milestones_from_the_snapshots_already_loaded(
    pg_url: str, schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from common.warehouse import migrate as migrations

    every = migrations.available_migrations()
    monkeypatch.setattr(migrations, "available_migrations", lambda: [m for m in every if m.version < 10])
    with Warehouse.open(pg_url, schema) as wh:  # version 9, loaded
        wh.merge("tweets", {TWEET: TWEETS, METRIC: SNAPSHOTS})
        create_oracle(wh.conn)
        assert wh.rows("SELECT to_regclass('tweet_metric_milestones')") == [(None,)]
        monkeypatch.setattr(migrations, "available_migrations", lambda: every)
        assert 10 in migrations.migrate(wh.conn, schema)
        wh.conn.execute(f"SET search_path TO {schema}, public")
        assert {row[0] for row in assert_kept_equals_full_scan(wh.conn)} == {1, 2, 4, 5, 7}


def refreshes(wh: Warehouse, dataset: str, staged: dict[Staging, Any]) -> int:
    """How many times a merge recomputed milestones: ``pg_stat_xact_user_functions`` before and after
    it, in one transaction opened here (the merge runs as its savepoint; the view may also hold
    earlier transactions' calls not yet flushed, hence the difference)."""
    sql = (
        "SELECT coalesce(sum(calls), 0) FROM pg_stat_xact_user_functions"
        " WHERE funcname = 'refresh_tweet_metric_milestones'"
    )
    wh.conn.execute("SET track_functions = 'pl'")
    with wh.conn.transaction():
        (before,) = wh.rows(sql)[0]
        wh.merge(dataset, staged)
        (after,) = wh.rows(sql)[0]
    return int(after - before)


def test_only_snapshots_that_can_move_a_mark_recompute_their_tweet(wh: Warehouse) -> None:
    create_oracle(wh.conn)
    old = tweet(8, hours(400), created_at=POSTED)  # first seen 400 h after posting
    assert refreshes(wh, "tweets", {TWEET: [old, TWEETS[0]], METRIC: [snap(8, 400, 50)]}) == 0
    assert refreshes(wh, "tweet_metrics", {METRIC: [snap(8, 500, 60), snap(1, 900, 99)]}) == 0  # 1: no snapshot yet
    assert refreshes(wh, "tweet_metrics", {METRIC: [snap(1, 0.5, 2)]}) == 1
    assert refreshes(wh, "tweet_metrics", {METRIC: [snap(1, 1000, 120)]}) == 0  # after 900 h: moves nothing
    assert refreshes(wh, "tweet_metrics", {METRIC: [snap(1, 200, 80)]}) == 1  # now the first past 168 h
    assert refreshes(wh, "tweet_metrics", {METRIC: [snap(8, 100, 20)]}) == 1  # within 168 h, late
    assert refreshes(wh, "tweet_metrics", {METRIC: [{**snap(1, 1000, 130), "record_key": "z"}]}) == 0
    assert refreshes(wh, "tweet_metrics", {METRIC: [{**snap(1, 200, 81), "record_key": "z"}]}) == 1
    assert_kept_equals_full_scan(wh.conn)
    assert {row[0] for row in wh.rows("SELECT tweet_id FROM tweet_metric_milestones")} == {1, 8}


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_snapshots_past_seven_days_in_any_order_keep_the_marks_equal_to_the_full_scan(wh: Warehouse, seed: int) -> None:
    """Many snapshots around and past the 168-hour mark, loaded in random batches, then deleted and
    updated by hand: after every statement the kept rows are the full scan's."""
    create_oracle(wh.conn)
    rng = random.Random(seed)
    tweets = [
        tweet(i, hours(1), created_at=POSTED, tweet_type=rng.choice(("original", "reply", "retweet")))
        for i in range(1, 9)
    ]
    snaps = [
        snap(i, h, int(h * 3) + i)
        for i in range(1, 9)
        for h in sorted(
            {rng.choice((-2, 0.5, 3, 5.5, 100, 160, 167.9, 168, 168.1, 170, 200, 400, 900)) for _ in range(6)}
        )
    ]
    rng.shuffle(snaps)
    wh.merge("tweets", {TWEET: tweets[:4], METRIC: snaps[:10]})
    for i in range(10, len(snaps), 7):
        wh.merge("tweet_metrics", {METRIC: snaps[i : i + 7]})
        assert_kept_equals_full_scan(wh.conn)
    wh.merge("tweets", {TWEET: tweets[4:], METRIC: []})
    assert_kept_equals_full_scan(wh.conn)
    for row in rng.sample(snaps, 6):  # hand deletes and updates, one statement each
        if rng.random() < 0.5:
            wh.conn.execute(
                "DELETE FROM fact_tweet_metrics WHERE tweet_id = %s AND collected_at = %s",
                (row["tweet_id"], row["collected_at"]),
            )
        else:
            wh.conn.execute(
                "UPDATE fact_tweet_metrics SET like_count = like_count + 7,"
                " collected_at = collected_at + interval '90 hours' WHERE tweet_id = %s AND collected_at = %s",
                (row["tweet_id"], row["collected_at"]),
            )
        assert_kept_equals_full_scan(wh.conn)
