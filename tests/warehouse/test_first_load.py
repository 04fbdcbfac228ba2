"""A first load: rows go into an empty table without its secondary indexes and foreign keys, which
are built and checked once the rows are in (``common.warehouse.merge.into_empty_table``). What it
must leave is the schema as migrated; what it must not do is lock a table that holds rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from common.warehouse.columns import Staging
from common.warehouse.merge import StepHook
from tests.warehouse.staged import Warehouse, at, content, entity, metric, tweet
from tests.warehouse.steps import InjectedFailure, fail_at

TWEET, METRIC, HASHTAG, CASHTAG = Staging.TWEET, Staging.METRIC, Staging.HASHTAG, Staging.CASHTAG
FIRST = {
    TWEET: [tweet(i, at(20)) for i in (1, 2, 3)],
    METRIC: [metric(i, at(20), i) for i in (1, 2, 3)],
    HASHTAG: [entity(1, at(20), tag="AWS"), entity(2, at(20), tag="aws")],
}
LATER = {TWEET: [tweet(4, at(21))], METRIC: [metric(4, at(21), 4)], HASHTAG: [entity(4, at(21), tag="Spark")]}
TABLES = ("fact_tweet", "fact_tweet_metrics", "tweet_hashtag", "tweet_cashtag", "dim_date")


def shape(wh: Warehouse) -> list[tuple[Any, ...]]:
    """Every index and constraint of the schema's tables, by name and definition."""
    return wh.rows(
        "SELECT c.relname, i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
        " JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %(s)s"
        " UNION ALL SELECT c.relname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k"
        " JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %(s)s ORDER BY 1, 2, 3",
        {"s": wh.schema},
    )


def index_oids(wh: Warehouse) -> dict[str, int]:
    """Each secondary index of the schema by name: a rebuilt index is a new object."""
    return dict(
        wh.rows(
            "SELECT i.indexrelid::regclass::text, i.indexrelid::int FROM pg_index i"
            " JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND NOT i.indisunique",
            (wh.schema,),
        )
    )


def test_a_first_load_rebuilds_the_indexes_of_what_it_loads_and_leaves_every_index_and_key_as_migrated(
    wh: Warehouse,
) -> None:
    migrated, before = shape(wh), index_oids(wh)
    assert any("tweet_hashtag_tag" in row[1] for row in migrated) and any("fkey" in row[1] for row in migrated)
    wh.merge("tweets", FIRST)
    assert shape(wh) == migrated
    after = index_oids(wh)
    rebuilt = {name for name in before if after[name] != before[name]}
    assert {"fact_tweet_date", "fact_tweet_metrics_date", "tweet_hashtag_tag"} <= rebuilt  # the bulk path ran
    assert "tweet_cashtag_tag" not in rebuilt  # no cashtag staged: its table was left alone
    wh.merge("tweets", LATER)  # a later run takes the row path: nothing rebuilt
    assert index_oids(wh) == after
    assert wh.rows("SELECT count(*), sum(like_count) FROM fact_tweet_metrics") == [(4, 10)]


def test_a_first_load_stopped_at_any_step_leaves_the_schema_as_migrated_and_empty(wh: Warehouse, pg_url: str) -> None:
    steps: list[str] = []
    try:
        with Warehouse.open(pg_url, f"{wh.schema}_steps") as probe:
            probe.merge("tweets", FIRST, on_step=steps.append)
    finally:
        wh.conn.execute(f"DROP SCHEMA IF EXISTS {wh.schema}_steps CASCADE")
    migrated, empty = shape(wh), content(wh, skip=("etl_run",))
    for step in ("fact_tweet", "tweet_hashtag", "fact_tweet_metrics", "commit"):
        assert step in steps
    for step in steps:
        with pytest.raises(InjectedFailure):
            wh.merge("tweets", FIRST, files=["raw/a.jsonl.gz"], on_step=fail_at(step))
        assert shape(wh) == migrated, f"a first load stopped after {step} changed the schema"
        assert content(wh, skip=("etl_run",)) == empty


def test_a_row_that_a_key_refuses_fails_the_first_load_and_leaves_nothing(wh: Warehouse) -> None:
    migrated = shape(wh)
    orphan = {**FIRST, HASHTAG: [*FIRST[HASHTAG], entity(99, at(20), tag="nobody")]}  # tweet 99 is not staged
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        wh.merge("tweets", orphan)
    assert shape(wh) == migrated
    assert wh.rows("SELECT count(*) FROM fact_tweet") == [(0,)]


def reader(pg_url: str, schema: str) -> Callable[[str], bool]:
    """Whether another session can read ``table`` now (it gives up after 200 ms of waiting for a lock)."""

    def can_read(table: str) -> bool:
        with psycopg.connect(pg_url, autocommit=True) as other:
            other.execute("SET lock_timeout = '200ms'")
            try:
                other.execute(f"SELECT count(*) FROM {schema}.{table}").fetchone()
            except psycopg.errors.LockNotAvailable:
                return False
            return True

    return can_read


def while_merging(step: str, probe: Callable[[str], bool], seen: dict[str, bool]) -> StepHook:
    def hook(name: str) -> None:
        if name == step:
            seen.update({table: probe(table) for table in TABLES})

    return hook


def test_a_first_load_locks_what_it_loads_and_a_later_run_locks_nothing(wh: Warehouse, pg_url: str) -> None:
    can_read, migrated = reader(pg_url, wh.schema), shape(wh)
    first: dict[str, bool] = {}
    wh.merge("tweets", FIRST, on_step=while_merging("fact_tweet_metrics", can_read, first))
    # loaded for the first time: readers wait for the commit. tweet_cashtag got no rows and stays
    # open, and so does dim_date, which fact_tweet and the snapshots point at (its keys are kept)
    assert first == {
        "fact_tweet": False,
        "fact_tweet_metrics": False,
        "tweet_hashtag": False,
        "tweet_cashtag": True,
        "dim_date": True,
    }
    later: dict[str, bool] = {}
    wh.merge("tweets", LATER, on_step=while_merging("fact_tweet_metrics", can_read, later))
    assert later == dict.fromkeys(TABLES, True)
    # the first cashtag ever, in a later run: its empty table is locked, not fact_tweet it points at
    first_cashtag: dict[str, bool] = {}
    cashtag = {TWEET: [tweet(5, at(22))], CASHTAG: [entity(5, at(22), tag="TSLA")]}
    wh.merge("tweets", cashtag, on_step=while_merging("tweet_cashtag", can_read, first_cashtag))
    assert first_cashtag == {**dict.fromkeys(TABLES, True), "tweet_cashtag": False}
    assert shape(wh) == migrated and all(can_read(table) for table in TABLES)


def test_a_reader_in_the_way_gets_the_row_path_and_the_merge_never_waits_for_it(wh: Warehouse, pg_url: str) -> None:
    before, migrated = index_oids(wh), shape(wh)
    wh.conn.execute("SET statement_timeout = '5s'")  # a merge that waited for the reader would fail here
    try:
        with psycopg.connect(pg_url) as analyst:  # a transaction left open on fact_tweet (a report lane)
            analyst.execute(f"SELECT count(*) FROM {wh.schema}.fact_tweet").fetchone()
            wh.merge("tweets", FIRST)
            assert analyst.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS  # still reading
    finally:
        wh.conn.execute("RESET statement_timeout")
    after = index_oids(wh)
    assert after["fact_tweet_date"] == before["fact_tweet_date"]  # read by the analyst: row by row
    assert after["tweet_hashtag_tag"] != before["tweet_hashtag_tag"]  # nobody read it: a bulk load
    assert shape(wh) == migrated  # the hashtags' key to fact_tweet, not held alone, was kept
    assert wh.rows("SELECT count(*) FROM fact_tweet") == [(3,)] and wh.rows("SELECT count(*) FROM tweet_hashtag") == [
        (2,)
    ]


def test_a_table_emptied_by_the_run_itself_is_not_a_first_load(wh: Warehouse, pg_url: str) -> None:
    wh.merge("tweets", {TWEET: [tweet(7, at(20))], CASHTAG: [entity(7, at(20), tag="TSLA")]})
    before = index_oids(wh)["tweet_cashtag_tag"]
    seen: dict[str, bool] = {}
    recollected = {TWEET: [tweet(7, at(21))], CASHTAG: [entity(7, at(21), tag="AAPL")]}  # its only row goes
    wh.merge("tweets", recollected, on_step=while_merging("tweet_cashtag", reader(pg_url, wh.schema), seen))
    assert seen["tweet_cashtag"] and index_oids(wh)["tweet_cashtag_tag"] == before
    assert wh.rows("SELECT tweet_id, tag FROM tweet_cashtag") == [(7, "AAPL")]


def test_a_role_that_may_only_write_rows_loads_the_same_rows_row_by_row(wh: Warehouse, pg_url: str) -> None:
    role = f"{wh.schema}_writer"
    migrated, before = shape(wh), index_oids(wh)
    wh.conn.execute(f"CREATE ROLE {role}")
    try:
        wh.conn.execute(f"GRANT USAGE, CREATE ON SCHEMA {wh.schema} TO {role}")
        wh.conn.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {wh.schema} TO {role}")
        wh.conn.execute(f"SET ROLE {role}")  # it owns none of the tables: it may not drop their indexes
        wh.merge("tweets", FIRST)
        wh.conn.execute("RESET ROLE")
        assert shape(wh) == migrated and index_oids(wh) == before
        with Warehouse.open(pg_url, f"{wh.schema}_owner") as owner:
            owner.merge("tweets", FIRST)  # the owner's bulk load
            assert content(owner) == content(wh)
    finally:
        wh.conn.execute("RESET ROLE")
        wh.conn.execute(f"DROP SCHEMA IF EXISTS {wh.schema}_owner CASCADE")
        wh.conn.execute(f"DROP OWNED BY {role}")
        wh.conn.execute(f"DROP ROLE {role}")
