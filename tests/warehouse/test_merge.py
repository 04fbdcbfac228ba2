"""The merge SQL on hand-built staging rows (no Spark): SCD2, deletions, late and repeated files,
the ledger in the merge's transaction, idempotence. Expected values are written from the staged rows.

The Spark tests (``tests/glue/``) prove the transforms and the end-to-end path; the merge rules are
proved here."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from common.warehouse.columns import Staging
from tests.warehouse.staged import Warehouse, at, content, entity, metric, not_found, record, snapshot, tweet
from tests.warehouse.steps import InjectedFailure, fail_at

USER, TWEET, METRIC, HASHTAG, EDIT, DELETION = (
    Staging.USER,
    Staging.TWEET,
    Staging.METRIC,
    Staging.HASHTAG,
    Staging.EDIT_LINK,
    Staging.DELETION,
)


def versions(wh: Warehouse, column: str = "description") -> list[tuple[Any, ...]]:
    return wh.rows(f"SELECT {column}, valid_from, valid_to, is_current FROM dim_user WHERE user_id = 42 ORDER BY 2")


# -- users: SCD type 2 ------------------------------------------------------------------------------
def test_a_profile_change_opens_a_version_and_a_late_snapshot_splits_the_version_it_falls_in(
    wh: Warehouse,
) -> None:
    wh.merge("users", {USER: [snapshot(42, at(20), "A", 100), snapshot(42, at(21), "A", 110)]})
    assert versions(wh) == [("A", at(20), None, True)]  # an unchanged profile opens no version

    wh.merge("users", {USER: [snapshot(42, at(23), "B", 130)]})
    assert versions(wh) == [("A", at(20), at(23), False), ("B", at(23), None, True)]
    key_of_a = wh.rows("SELECT user_key FROM dim_user WHERE valid_from = %s", (at(20),))

    wh.merge("users", {USER: [snapshot(42, at(22), "C", 120)]})  # late: on day 22 the profile said C
    assert versions(wh) == [("A", at(20), at(22), False), ("C", at(22), at(23), False), ("B", at(23), None, True)]
    assert wh.rows("SELECT user_key FROM dim_user WHERE valid_from = %s", (at(20),)) == key_of_a

    # two changes in one day; a late snapshot of the same day (earlier, same profile) adds nothing
    wh.merge("users", {USER: [snapshot(42, at(24, 9), "D", 140), snapshot(42, at(24, 18), "E", 150)]})
    wh.merge("users", {USER: [snapshot(42, at(24, 12), "D", 145)]})
    assert versions(wh)[-3:] == [
        ("B", at(23), at(24, 9), False),
        ("D", at(24, 9), at(24, 18), False),
        ("E", at(24, 18), None, True),
    ]
    # the last snapshot of a day wins, also across runs
    assert wh.rows("SELECT date_key, followers_count, collected_at FROM fact_user_daily ORDER BY 1") == [
        (20261120, 100, at(20)),
        (20261121, 110, at(21)),
        (20261122, 120, at(22)),
        (20261123, 130, at(23)),
        (20261124, 150, at(24, 18)),
    ]
    assert wh.rows("SELECT date_key, followers_change FROM v_user_growth ORDER BY 1") == [
        (20261120, None),
        (20261121, 10),
        (20261122, 10),
        (20261123, 10),
        (20261124, 20),
    ]
    assert wh.rows("SELECT user_id, description FROM v_user_current") == [(42, "E")]


def test_a_rename_opens_a_version_and_a_late_snapshot_of_the_old_name_adds_none(wh: Warehouse) -> None:
    wh.merge(
        "users", {USER: [snapshot(42, at(20), "x", username="alice"), snapshot(42, at(21), "x", username="alicia")]}
    )
    wh.merge(
        "users", {USER: [snapshot(42, at(22), "x", username="alicia"), snapshot(42, at(20, 18), "x", username="alice")]}
    )
    assert versions(wh, "username") == [("alice", at(20), at(21), False), ("alicia", at(21), None, True)]
    assert wh.rows("SELECT count(*), count(*) FILTER (WHERE is_current) FROM dim_user") == [(2, 1)]


# -- tweets: the latest collection wins, late files, edits ---------------------------------------
def test_the_latest_collection_wins_whatever_order_the_files_arrive_in(wh: Warehouse) -> None:
    wh.merge(
        "tweets",
        {
            TWEET: [tweet(100, at(20), text="first"), tweet(200, at(20), text="before edit")],
            METRIC: [metric(100, at(20), 3), metric(200, at(20), 1)],
            HASHTAG: [entity(100, at(20), tag="a")],
        },
    )
    wh.merge(
        "tweets",
        {
            TWEET: [tweet(100, at(22), text="updated"), tweet(201, at(22), text="after edit")],
            METRIC: [metric(100, at(22), 30), metric(201, at(22), 1)],
            HASHTAG: [entity(100, at(22), tag="b")],
            EDIT: [{"tweet_id": 200, "latest_tweet_id": 201}],
        },
    )
    # a late file, collected between the two: its metrics count, its tweet and entities do not win
    wh.merge(
        "tweets",
        {
            TWEET: [tweet(100, at(21), text="middle")],
            METRIC: [metric(100, at(21), 3)],
            HASHTAG: [entity(100, at(21), tag="c")],
        },
    )
    # and one collected before the first collection: it moves first_collected_at only
    wh.merge(
        "tweets",
        {TWEET: [tweet(100, at(19), text="older")], HASHTAG: [entity(100, at(19), tag="old")]},
    )
    assert wh.rows(
        "SELECT tweet_id, text, edit_of_tweet_id, first_collected_at, last_collected_at FROM fact_tweet ORDER BY 1"
    ) == [
        (100, "updated", None, at(19), at(22)),
        (200, "before edit", 201, at(20), at(20)),
        (201, "after edit", None, at(22), at(22)),
    ]
    assert wh.rows("SELECT tweet_id, tag FROM tweet_hashtag") == [(100, "b")]
    assert wh.rows("SELECT collected_at, like_count FROM fact_tweet_metrics WHERE tweet_id = 100 ORDER BY 1") == [
        (at(20), 3),
        (at(21), 3),
        (at(22), 30),
    ]
    assert wh.rows("SELECT collected_at, like_count FROM v_tweet_latest_metrics WHERE tweet_id = 100") == [(at(22), 30)]


def test_records_with_one_collected_at_resolve_by_record_key_and_never_mix_entities(wh: Warehouse) -> None:
    first, second = record("a.jsonl.gz", 7), record("b.jsonl.gz", 1)  # b's record sorts last: it wins
    wh.merge(
        "tweets",
        {
            TWEET: [tweet(1, at(20), second, text="b"), tweet(1, at(20), first, text="a")],
            METRIC: [metric(1, at(20), 2, second), metric(1, at(20), 1, first)],
            HASHTAG: [entity(1, at(20), first, tag="from_a"), entity(1, at(20), second, tag="from_b")],
        },
    )
    wh.merge("tweets", {TWEET: [tweet(1, at(20), first, text="a")], HASHTAG: [entity(1, at(20), first, tag="from_a")]})
    assert wh.rows("SELECT text FROM fact_tweet") == [("b",)]
    assert wh.rows("SELECT tag FROM tweet_hashtag") == [("from_b",)]
    assert wh.rows("SELECT like_count FROM fact_tweet_metrics") == [(2,)]


# -- deletions: two answers a day apart -----------------------------------------------------------
TWEETS_DAY_20 = {TWEET: [tweet(i, at(20)) for i in range(601, 608)]}
METRICS_DAY_21 = {
    DELETION: [
        not_found(601, at(21)),  # one answer only
        not_found(602, at(21)),
        not_found(602, at(21, 22)),  # twelve hours apart
        not_found(603, at(21)),
        not_found(604, at(21)),
        not_found(606, at(21)),
        not_found(607, at(21)),
    ],
    METRIC: [metric(605, at(21), 1)],
}
METRICS_DAY_22 = {
    DELETION: [
        not_found(603, at(22)),  # exactly a day after the first: deleted
        not_found(604, at(22, 11)),
        not_found(605, at(22)),
        not_found(607, at(22, 12)),
    ],
    METRIC: [metric(606, at(22), 1)],  # seen again between two answers: only the later one counts
}
METRICS_DAY_23 = {
    METRIC: [metric(604, at(23), 1)],  # back: a suspended author returned, or the answers were flaky
    DELETION: [not_found(605, at(23, 12)), not_found(606, at(23))],  # 605: two answers after it was last seen
}
TWEETS_DAY_23 = {TWEET: [tweet(607, at(23))]}  # the timeline has it again


def deleted(wh: Warehouse) -> list[int]:
    return [r[0] for r in wh.rows("SELECT tweet_id FROM fact_tweet WHERE is_deleted ORDER BY 1")]


@pytest.mark.parametrize("tweets_first", [True, False])
def test_a_tweet_is_deleted_after_not_found_answers_a_day_apart_and_undeleted_when_data_follows(
    wh: Warehouse, tweets_first: bool
) -> None:
    def both(tweets: dict, metrics: list[dict]) -> None:
        runs = [("tweets", tweets)] + [("tweet_metrics", m) for m in metrics]
        for dataset, staged in runs if tweets_first else runs[::-1]:
            wh.merge(dataset, staged)

    both(TWEETS_DAY_20, [METRICS_DAY_21, METRICS_DAY_22])
    assert deleted(wh) == [603, 604, 607]
    both(TWEETS_DAY_23, [METRICS_DAY_23])
    assert deleted(wh) == [603, 605]
    assert wh.rows("SELECT count(*) FROM tweet_deletion") == [(13,)]  # every answer is kept

    before = content(wh)  # a full refresh of both datasets rebuilds the same warehouse
    wh.merge("tweets", {TWEET: TWEETS_DAY_20[TWEET] + TWEETS_DAY_23[TWEET]}, full_refresh=True)
    wh.merge(
        "tweet_metrics",
        {kind: [*METRICS_DAY_21[kind], *METRICS_DAY_22[kind], *METRICS_DAY_23[kind]] for kind in (METRIC, DELETION)},
        full_refresh=True,
    )
    assert deleted(wh) == [603, 605]
    assert content(wh) == before


# -- one transaction: the ledger with the data, all or nothing ------------------------------------
RUNS: dict[str, tuple[dict, dict]] = {
    "users": ({USER: [snapshot(42, at(20), "A")]}, {USER: [snapshot(42, at(21), "B")]}),
    "tweets": (
        {TWEET: [tweet(1, at(20))], METRIC: [metric(1, at(20), 1)], HASHTAG: [entity(1, at(20), tag="x")]},
        {
            TWEET: [tweet(1, at(21), text="new"), tweet(2, at(21))],
            METRIC: [metric(1, at(21), 5)],
            HASHTAG: [entity(1, at(21), tag="y")],
            Staging.URL: [entity(2, at(21), url="https://t.co/a")],
            EDIT: [{"tweet_id": 3, "latest_tweet_id": 2}],
        },
    ),
    "tweet_metrics": (
        {METRIC: [metric(1, at(20), 1)], DELETION: [not_found(2, at(20))]},
        {
            METRIC: [metric(1, at(21), 5)],
            DELETION: [not_found(2, at(21))],
            EDIT: [{"tweet_id": 1, "latest_tweet_id": 4}],
        },
    ),
}


@pytest.mark.parametrize("dataset", list(RUNS))
def test_a_merge_stopped_at_any_step_changes_nothing_not_even_the_ledger(
    wh: Warehouse, pg_url: str, dataset: str
) -> None:
    first, second = RUNS[dataset]
    steps: list[str] = []  # the steps the merge names, from the same merge into a scratch schema
    with Warehouse.open(pg_url, f"{wh.schema}_steps") as probe:
        try:
            probe.merge(dataset, first)
            probe.merge(dataset, second, on_step=steps.append)
        finally:
            wh.conn.execute(f"DROP SCHEMA {probe.schema} CASCADE")
    assert steps[-2:] == ["ledger", "commit"] and len(steps) >= 4, steps

    if dataset == "tweet_metrics":  # deletions and edits mark tweets already loaded
        wh.merge("tweets", {TWEET: [tweet(1, at(19)), tweet(2, at(19))]}, files=["raw/tweets/t.jsonl.gz"])
    wh.merge(dataset, first, files=["raw/a.jsonl.gz"])
    before = content(wh, skip=("etl_run",))
    for step in steps:
        with pytest.raises(InjectedFailure):
            wh.merge(dataset, second, files=["raw/b.jsonl.gz"], on_step=fail_at(step))
        assert content(wh, skip=("etl_run",)) == before, f"a merge stopped after {step} changed the warehouse"
        assert wh.rows("SELECT count(*) FROM etl_run") == [(len(wh.runs),)]
    wh.merge(dataset, second, files=["raw/b.jsonl.gz"])
    assert wh.rows("SELECT path FROM etl_file_ledger WHERE dataset = %s ORDER BY 1", (dataset,)) == [
        ("raw/a.jsonl.gz",),
        ("raw/b.jsonl.gz",),
    ]
    assert content(wh, skip=("etl_run",)) != before


def test_a_database_error_inside_the_merge_rolls_the_whole_merge_back(wh: Warehouse) -> None:
    wh.merge("tweets", {TWEET: [tweet(500, at(20))], METRIC: [metric(500, at(20), 1)]}, files=["raw/a"])
    before = content(wh, skip=("etl_run",))
    wh.conn.execute("CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'boom'; END$$")
    wh.conn.execute("CREATE TRIGGER boom BEFORE INSERT ON fact_tweet_metrics FOR EACH ROW EXECUTE FUNCTION boom()")
    with pytest.raises(psycopg.errors.RaiseException):  # fact_tweet is written before the metrics
        wh.merge("tweets", {TWEET: [tweet(501, at(21))], METRIC: [metric(501, at(21), 1)]}, files=["raw/b"])
    assert content(wh, skip=("etl_run",)) == before


# -- idempotence ----------------------------------------------------------------------------------
@pytest.mark.parametrize("dataset", list(RUNS))
def test_merging_the_same_rows_again_or_in_the_other_order_ends_the_same(
    wh: Warehouse, pg_url: str, dataset: str
) -> None:
    first, second = RUNS[dataset]
    wh.merge(dataset, first)
    wh.merge(dataset, second)
    once = content(wh)
    wh.merge(dataset, second)
    wh.merge(dataset, first)
    assert content(wh) == once

    other = f"{wh.schema}_other"
    try:
        with Warehouse.open(pg_url, other) as reversed_order:
            reversed_order.merge(dataset, second)
            reversed_order.merge(dataset, first)
            assert content(reversed_order, skip=("etl_file_ledger", "etl_run", "schema_migrations", "dim_user")) == {
                t: v for t, v in once.items() if t != "dim_user"
            }
            assert versions(reversed_order) == versions(wh)  # user_key may differ: sequences are not rolled back
    finally:
        wh.conn.execute(f"DROP SCHEMA IF EXISTS {other} CASCADE")


# -- latest metrics, kept by the merge ---------------------------------------------------------------
def test_the_latest_metrics_are_the_greatest_snapshot_whatever_order_and_dataset_they_arrive_by(
    wh: Warehouse,
) -> None:
    a, b = record("a.jsonl.gz", 3), record("b.jsonl.gz", 1)
    wh.merge("tweet_metrics", {METRIC: [metric(1, at(21), 5), metric(2, at(20), 7)]})
    wh.merge("tweets", {TWEET: [tweet(1, at(20))], METRIC: [metric(1, at(20), 1)]})  # older: not the latest
    wh.merge("tweet_metrics", {METRIC: [metric(2, at(22), 8, a), metric(2, at(22), 9, b)]})  # a tie: b's record wins
    wh.merge("tweet_metrics", {METRIC: [metric(2, at(22), 8, a)]})  # a's record again: still b's
    assert wh.rows("SELECT tweet_id, collected_at, like_count FROM v_tweet_latest_metrics ORDER BY 1") == [
        (1, at(21), 5),
        (2, at(22), 9),
    ]
    # and the view reads the kept table, never every snapshot
    plan = "\n".join(r[0] for r in wh.rows("EXPLAIN SELECT * FROM v_tweet_latest_metrics"))
    assert "fact_tweet_metrics" not in plan and "Sort" not in plan, plan


def test_migration_0009_fills_the_latest_metrics_from_the_snapshots_already_loaded(
    pg_url: str, schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from common.warehouse import migrate as migrations

    every = migrations.available_migrations()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        monkeypatch.setattr(migrations, "available_migrations", lambda: [m for m in every if m.version < 9])
        migrations.migrate(conn, schema)
        conn.execute(f"SET search_path TO {schema}, public")
        conn.execute("SELECT ensure_dim_date('2026-11-20', '2026-11-22')")
        conn.cursor().executemany(
            "INSERT INTO fact_tweet_metrics (tweet_id, collected_at, date_key, like_count, record_key)"
            " VALUES (%s, %s, %s, %s, %s)",
            [
                (1, at(20), 20261120, 1, "a"),
                (1, at(22), 20261122, 3, "a"),
                (1, at(21), 20261121, 2, "b"),
                (2, at(21), 20261121, 7, None),
            ],
        )
        monkeypatch.setattr(migrations, "available_migrations", lambda: every)
        assert 9 in migrations.migrate(conn, schema)
        assert conn.execute(
            "SELECT tweet_id, collected_at, like_count FROM v_tweet_latest_metrics ORDER BY 1"
        ).fetchall() == [(1, at(22), 3), (2, at(21), 7)]
