"""The three jobs end to end: raw lake files → real Spark → the embedded PostgreSQL.

Expected values are written from the input records, never read back from the output.
"""

from __future__ import annotations

import gzip
import json
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from common.lake import Lake
from common.warehouse.db import DbTarget
from glue_jobs.options import JobOptions
from glue_jobs.runner import WarehouseJob, run_job
from tests.glue.glue_helpers import (
    envelope,
    query,
    source_hash,
    table_fingerprint,
    tweet,
    user,
    write_raw,
    write_raw_lines,
)
from tests.warehouse.steps import InjectedFailure, fail_at

pytestmark = pytest.mark.slow  # real Spark and the embedded PostgreSQL

T1 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def at(day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def run(dataset: str, lake: Lake, url: str, spark: Any, schema: str, **options: Any) -> Any:
    return run_job(dataset, lake.uri, url, JobOptions(schema=schema, **options), spark)


def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    return query(url, sql)


def looked_up(when: datetime, tweet_id: str, likes: int = 1, history: list[str] | None = None) -> dict[str, Any]:
    """A tweet as ``GET /2/tweets?ids=`` (the tweet_metrics collector) returns it."""
    return {
        "collected_at": when,
        "data": {
            "id": tweet_id,
            "author_id": "42",
            "created_at": "2026-11-20T12:00:00.000Z",
            "edit_history_tweet_ids": history or [tweet_id],
            "public_metrics": {"like_count": likes, "retweet_count": 1, "reply_count": 0, "quote_count": 0},
        },
    }


def not_found(when: datetime, tweet_id: str) -> dict[str, Any]:
    """The partial error ``GET /2/tweets?ids=`` returns for a deleted tweet."""
    return {
        "collected_at": when,
        "error": {
            "value": tweet_id,
            "detail": f"Could not find tweet with ids: [{tweet_id}].",
            "title": "Not Found Error",
            "resource_type": "tweet",
            "parameter": "ids",
            "resource_id": tweet_id,
            "type": "https://api.twitter.com/2/problems/resource-not-found",
        },
    }


def quarantined(lake: Lake, dataset: str) -> list[dict[str, Any]]:
    """Every quarantined line of ``dataset``, with the folder it lies in."""
    return [
        {**json.loads(line), "folder": obj.key.rsplit("/", 1)[0]}
        for obj in lake.list(f"quarantine/{dataset}/")
        if obj.key.endswith(".json") and "/_files/" not in obj.key  # markers of files quarantined whole
        for line in lake.get_bytes(obj.key).decode().splitlines()
    ]


def wait_for(condition: Any, what: str, timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def pids_blocked_by(url: str, pid: int) -> list[int]:
    return [r[0] for r in query(url, "SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", (pid,))]


# -- tweets ------------------------------------------------------------------------------------
def tweets_day1() -> list[dict[str, Any]]:
    return [
        {
            "collected_at": T1,
            "data": tweet(
                "1001",
                text="hi #Spark $TSLA @bob https://t.co/a",
                entities={
                    "hashtags": [{"start": 3, "end": 9, "tag": "Spark"}],
                    "cashtags": [{"tag": "TSLA"}],
                    "mentions": [{"username": "bob", "id": "7"}],
                    "urls": [{"url": "https://t.co/a", "expanded_url": "https://a.org", "display_url": "a.org"}],
                },
            ),
        },
        {
            "collected_at": T1,
            "data": tweet(
                "1002",
                text="long start…",
                note_tweet={"text": "long start and the rest #full", "entities": {"hashtags": [{"tag": "full"}]}},
                entities={"hashtags": [{"tag": "cut"}]},
                in_reply_to_user_id="9",
                referenced_tweets=[{"type": "replied_to", "id": "900"}],
                source="Twitter Web App",
            ),
        },
        {
            "collected_at": T1,
            "data": tweet(
                "1003",
                text="RT @bob: orig",
                referenced_tweets=[{"type": "retweeted", "id": "901"}],
                public_metrics={"retweet_count": 50, "reply_count": 0, "like_count": 0, "quote_count": 0},
            ),
        },
        {
            "collected_at": T1,
            "error": {
                "value": "ghost",
                "detail": "User has been suspended: [ghost].",
                "title": "Forbidden",
                "resource_type": "user",
                "parameter": "id",
                "resource_id": "66",
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            },
        },
    ]


@pytest.mark.parametrize("staging_method", ["auto", "copy"])
def test_tweets_job_end_to_end_and_second_run_changes_nothing(
    spark: Any, pg_url: str, schema: str, lake: Lake, staging_method: str
) -> None:
    key = write_raw(lake, "tweets", T1, tweets_day1())
    summary = run("tweets", lake, pg_url, spark, schema, staging_method=staging_method)
    assert (summary.files, summary.rows_loaded, summary.rows_api_errors, summary.rows_quarantined) == (1, 3, 1, 0)

    facts = rows(
        pg_url,
        f"SELECT tweet_id, author_id, date_key, text, tweet_type, in_reply_to_user_id, source,"
        f" is_deleted, edit_of_tweet_id FROM {schema}.fact_tweet ORDER BY 1",
    )
    assert facts == [
        (1001, 42, 20261120, "hi #Spark $TSLA @bob https://t.co/a", "original", None, None, False, None),
        (1002, 42, 20261120, "long start and the rest #full", "reply", 9, "Twitter Web App", False, None),
        (1003, 42, 20261120, "RT @bob: orig", "retweet", None, None, False, None),
    ]
    assert rows(pg_url, f"SELECT * FROM {schema}.tweet_hashtag ORDER BY 1, 2") == [(1001, "Spark"), (1002, "full")]
    assert rows(pg_url, f"SELECT * FROM {schema}.tweet_cashtag") == [(1001, "TSLA")]
    assert rows(pg_url, f"SELECT * FROM {schema}.tweet_mention") == [(1001, 7, "bob")]
    assert rows(pg_url, f"SELECT * FROM {schema}.tweet_url") == [(1001, "https://t.co/a", "https://a.org", "a.org")]
    assert rows(pg_url, f"SELECT * FROM {schema}.tweet_reference ORDER BY 1") == [
        (1002, 900, "replied_to"),
        (1003, 901, "retweeted"),
    ]
    assert rows(
        pg_url,
        f"SELECT tweet_id, date_key, like_count, retweet_count, bookmark_count, impression_count"
        f" FROM {schema}.fact_tweet_metrics ORDER BY 1",
    ) == [(1001, 20261120, 3, 1, 5, 6), (1002, 20261120, 3, 1, 5, 6), (1003, 20261120, 0, 50, None, None)]
    assert rows(
        pg_url, f"SELECT dataset, path, rows_loaded, rows_api_errors, rows_quarantined FROM {schema}.etl_file_ledger"
    ) == [("tweets", key, 3, 1, 0)]
    assert rows(pg_url, f"SELECT files, rows_loaded, rows_api_errors FROM {schema}.etl_run") == [(1, 3, 1)]
    assert rows(pg_url, f"SELECT count(*) FROM {schema}.dim_date WHERE date_key = 20261120") == [(1,)]

    before = table_fingerprint(pg_url, schema)
    again = run("tweets", lake, pg_url, spark, schema)
    assert (again.files, again.rows_loaded) == (0, 0)
    assert table_fingerprint(pg_url, schema) == before
    assert rows(pg_url, f"SELECT count(*) FROM pg_tables WHERE schemaname = '{schema}' AND tablename LIKE 'stg%'") == [
        (0,)
    ]


def test_deletions_and_edits_seen_by_tweet_metrics_reach_fact_tweet_loaded_after_them(
    spark: Any, pg_url: str, schema: str, lake: Lake
) -> None:
    """The tweet_metrics job end to end (its errors, lookups and edit histories) before the tweets
    job; the merge rules in either order are proved on PostgreSQL alone (``tests/warehouse/``)."""
    write_raw(lake, "tweets", at(20), [{"collected_at": at(20), "data": tweet(str(i))} for i in (301, 302, 303, 304)])
    write_raw(
        lake,
        "tweet_metrics",
        at(21),
        [
            looked_up(at(21), "301", likes=99),
            not_found(at(21), "302"),
            {
                "collected_at": at(21),
                "error": {
                    "value": "303",
                    "title": "Authorization Error",
                    "resource_type": "tweet",
                    "parameter": "ids",
                    "resource_id": "303",
                },
            },
            looked_up(at(21), "305", history=["304", "305"]),  # 304 was edited: 305 is its latest version
        ],
    )
    write_raw(lake, "tweet_metrics", at(22), [not_found(at(22), "302")])  # a day later: 302 is deleted
    for dataset in ("tweet_metrics", "tweets"):
        run(dataset, lake, pg_url, spark, schema)
    assert rows(pg_url, f"SELECT tweet_id, is_deleted, edit_of_tweet_id FROM {schema}.fact_tweet ORDER BY 1") == [
        (301, False, None),
        (302, True, None),
        (303, False, None),
        (304, False, 305),
    ]
    assert rows(
        pg_url, f"SELECT tweet_id, collected_at, like_count FROM {schema}.v_tweet_latest_metrics WHERE tweet_id = 301"
    ) == [(301, at(21), 99)]
    assert rows(pg_url, f"SELECT tweet_id, engagement FROM {schema}.v_tweet_engagement WHERE tweet_id = 301") == [
        (301, 100)
    ]


# -- users (their SCD2 merge rules: tests/warehouse/) -------------------------------------------
def snap(when: datetime, description: str, followers: int = 100, **extra: Any) -> dict[str, Any]:
    return {
        "collected_at": when,
        "data": user(
            "42",
            "alice",
            description=description,
            public_metrics={"followers_count": followers, "following_count": 10, "tweet_count": 5, "listed_count": 1},
            **extra,
        ),
    }


# -- failures, quarantine, incremental, concurrency -----------------------------------------------
INCREMENTAL_RECORDS: dict[str, Any] = {
    "users": lambda d: [snap(at(d), f"profile {d}", 100 + d)],
    "tweet_metrics": lambda d: [looked_up(at(d), "1100", likes=10 + d), not_found(at(d), str(1100 + d))],
}
INCREMENTAL_COUNTS = {"users": (1, 0), "tweet_metrics": (1, 1)}  # data records, API error records, a file
INCREMENTAL_RESULT = {
    "users": (
        "SELECT description, is_current FROM {schema}.dim_user ORDER BY valid_from",
        [("profile 20", False), ("profile 21", True)],
    ),
    "tweet_metrics": (
        "SELECT tweet_id, like_count FROM {schema}.fact_tweet_metrics"
        " UNION ALL SELECT tweet_id, NULL FROM {schema}.tweet_deletion ORDER BY 1, 2",
        [(1100, 30), (1100, 31), (1120, None), (1121, None)],
    ),
}


@pytest.mark.parametrize("dataset", ["users", "tweet_metrics"])
def test_second_run_changes_nothing_and_only_new_files_are_read(
    spark: Any, pg_url: str, schema: str, lake: Lake, dataset: str
) -> None:
    records = INCREMENTAL_RECORDS[dataset]
    old_key = write_raw(lake, dataset, at(20), records(20))
    first = run(dataset, lake, pg_url, spark, schema)
    assert (first.files, first.rows_loaded, first.rows_api_errors) == (1, *INCREMENTAL_COUNTS[dataset])
    before = table_fingerprint(pg_url, schema)
    again = run(dataset, lake, pg_url, spark, schema)
    assert (again.files, again.rows_loaded, again.rows_api_errors) == (0, 0, 0)
    assert table_fingerprint(pg_url, schema) == before

    # Were the loaded file read again, its garbled lines would be quarantined.
    lake.put_bytes(old_key, gzip.compress(b"garbled\n"))
    new_key = write_raw(lake, dataset, at(21), records(21))
    third = run(dataset, lake, pg_url, spark, schema)
    assert (third.files, third.rows_loaded, third.rows_api_errors, third.rows_quarantined) == (
        1,
        *INCREMENTAL_COUNTS[dataset],
        0,
    )
    assert rows(pg_url, f"SELECT path, run_id FROM {schema}.etl_file_ledger ORDER BY path") == sorted(
        [(old_key, first.run_id), (new_key, third.run_id)]
    )
    sql, expected = INCREMENTAL_RESULT[dataset]
    assert rows(pg_url, sql.format(schema=schema)) == expected


@pytest.mark.parametrize(("dataset", "step"), [("tweets", "tweet_url")])  # every step: tests/warehouse/
def test_failure_inside_the_merge_changes_nothing_and_the_rerun_completes(
    spark: Any, pg_url: str, schema: str, lake: Lake, dataset: str, step: str
) -> None:
    records = {
        "tweets": lambda d: [
            {
                "collected_at": at(d),
                "data": tweet(
                    str(400 + d),
                    text=f"day {d}",
                    entities={
                        "urls": [{"url": f"https://t.co/{d}", "expanded_url": "https://e.org", "display_url": "e.org"}]
                    },
                ),
            }
        ],
        "users": lambda d: [snap(at(d), f"profile {d}", 100 + d)],
        "tweet_metrics": lambda d: [  # two answers a day apart: the tweet is deleted
            {
                "collected_at": when,
                "error": {
                    "title": "Not Found Error",
                    "resource_type": "tweet",
                    "parameter": "ids",
                    "resource_id": str(400 + d),
                },
            }
            for when in (at(d), at(d + 1, 11))
        ],
    }[dataset]
    if dataset == "tweet_metrics":  # deletions mark tweets already loaded
        write_raw(lake, "tweets", at(19), [{"collected_at": at(19), "data": tweet(str(400 + d))} for d in (20, 21)])
        run("tweets", lake, pg_url, spark, schema)
    write_raw(lake, dataset, at(20), records(20))
    run(dataset, lake, pg_url, spark, schema)
    before = table_fingerprint(pg_url, schema)

    new_key = write_raw(lake, dataset, at(21), records(21))
    with pytest.raises(InjectedFailure):
        run(dataset, lake, pg_url, spark, schema, on_merge_step=fail_at(step))
    assert table_fingerprint(pg_url, schema) == before
    assert rows(pg_url, f"SELECT count(*) FROM pg_tables WHERE schemaname = '{schema}' AND tablename LIKE 'stg%'") == [
        (0,)
    ]

    rerun = run(dataset, lake, pg_url, spark, schema)
    assert rerun.files == 1
    assert rows(
        pg_url, f"SELECT path FROM {schema}.etl_file_ledger WHERE dataset = '{dataset}' AND path = '{new_key}'"
    ) == [(new_key,)]
    expected = {
        "tweets": (
            f"SELECT tweet_id, url FROM {schema}.tweet_url ORDER BY 1",
            [(420, "https://t.co/20"), (421, "https://t.co/21")],
        ),
        "users": (
            f"SELECT description, is_current FROM {schema}.dim_user ORDER BY valid_from",
            [("profile 20", False), ("profile 21", True)],
        ),
        "tweet_metrics": (
            f"SELECT tweet_id, is_deleted FROM {schema}.fact_tweet ORDER BY 1",
            [(420, True), (421, True)],
        ),
    }[dataset]
    assert rows(pg_url, expected[0]) == expected[1]


def test_bad_lines_are_quarantined_and_the_job_goes_on(spark: Any, pg_url: str, schema: str, lake: Lake) -> None:
    good = json.dumps({"collected_at": "2026-11-20T10:00:00Z", "run_id": "r", "source": "s", "data": tweet("600")})
    drifted = json.dumps(
        {
            "collected_at": "2026-11-20T10:00:00Z",
            "run_id": "r",
            "source": "s",
            "data": tweet("601", edit_controls={"edits_remaining": "4"}, public_metrics={"like_count": "8"}),
        }
    )
    no_id = json.dumps({"collected_at": "2026-11-20T10:00:00Z", "run_id": "r", "source": "s", "data": {"text": "x"}})
    # 19 digits, so they look like ids, but above bigint's maximum: as NULL keys they would fail the merge
    too_big_id = envelope("2026-11-20T10:00:00Z", data=tweet("9223372036854775808"))
    too_big_author = envelope("2026-11-20T10:00:00Z", data=tweet("602", author_id="9999999999999999999"))
    key = write_raw_lines(
        lake,
        "tweets",
        at(20),
        [good, '{"collected_at": "2026-11-20T10:00:00Z", "data": {', no_id, drifted, too_big_id, too_big_author, ""],
    )
    summary = run("tweets", lake, pg_url, spark, schema)
    assert (summary.rows_loaded, summary.rows_quarantined) == (2, 4)
    assert rows(pg_url, f"SELECT tweet_id FROM {schema}.fact_tweet ORDER BY 1") == [(600,), (601,)]
    assert rows(pg_url, f"SELECT like_count FROM {schema}.fact_tweet_metrics WHERE tweet_id = 601") == [(8,)]
    assert rows(pg_url, f"SELECT path, rows_loaded, rows_quarantined FROM {schema}.etl_file_ledger") == [(key, 2, 4)]
    lines = quarantined(lake, "tweets")
    assert sorted((q["source_file"], q["reason"]) for q in lines) == [
        (key, "author_id is not a 64-bit integer"),
        (key, "id is not a 64-bit integer"),
        (key, "malformed JSON line"),
        (key, "record without id"),
    ]
    assert {(q["folder"], q["run_id"]) for q in lines} == {
        (f"quarantine/tweets/dt=2026-11-20/source_hash={source_hash(key)}", summary.run_id)
    }
    assert run("tweets", lake, pg_url, spark, schema).files == 0  # the next run is not stuck on them


def test_quarantine_holds_one_copy_per_source_file_after_a_failed_run_and_its_rerun(
    spark: Any, pg_url: str, schema: str, lake: Lake
) -> None:
    def lines(tweet_id: str, *bad: str) -> list[str]:
        return [envelope("2026-11-20T10:00:00Z", data=tweet(tweet_id)), *bad]

    first_key = write_raw_lines(lake, "tweets", at(20), lines("1400", "{bad 1"))
    run("tweets", lake, pg_url, spark, schema)
    second_key = write_raw_lines(lake, "tweets", at(21), lines("1401", "{bad 2", "{bad 3"))
    with pytest.raises(InjectedFailure):
        run("tweets", lake, pg_url, spark, schema, on_merge_step=fail_at("ledger"))
    rerun = run("tweets", lake, pg_url, spark, schema)
    assert (rerun.files, rerun.rows_quarantined) == (1, 2)
    refresh = run("tweets", lake, pg_url, spark, schema, full_refresh=True)
    assert (refresh.files, refresh.rows_quarantined) == (2, 3)

    first_folder = f"quarantine/tweets/dt=2026-11-20/source_hash={source_hash(first_key)}"
    second_folder = f"quarantine/tweets/dt=2026-11-21/source_hash={source_hash(second_key)}"
    assert sorted((q["folder"], q["source_file"], q["line"]) for q in quarantined(lake, "tweets")) == [
        (first_folder, first_key, "{bad 1"),
        (second_folder, second_key, "{bad 2"),
        (second_folder, second_key, "{bad 3"),
    ]


def test_incremental_runs_list_only_the_partitions_they_need(
    spark: Any, pg_url: str, schema: str, lake: Lake, caplog: pytest.LogCaptureFixture
) -> None:
    for day in (1, 2, 10):
        write_raw(lake, "tweets", at(day), [{"collected_at": at(day), "data": tweet(str(700 + day))}])
    first = run("tweets", lake, pg_url, spark, schema)
    assert (first.partitions_listed, first.files) == (3, 3)

    write_raw(lake, "tweets", at(10, 12), [{"collected_at": at(10, 12), "data": tweet("750")}])
    write_raw(lake, "tweets", at(11), [{"collected_at": at(11), "data": tweet("711")}])
    write_raw(lake, "tweets", at(1, 23), [{"collected_at": at(1, 23), "data": tweet("760")}])  # very late, old day
    with caplog.at_level(logging.INFO, logger="tweetlake.glue"):
        second = run("tweets", lake, pg_url, spark, schema)
    assert (second.partitions_listed, second.files, second.partitions_skipped) == (2, 2, 2)  # dt=11-10, dt=11-11
    assert "2 older loaded partitions not listed" in second.describe()
    assert "not listing 2 loaded partition(s) dt=2026-11-01..dt=2026-11-02" in caplog.text
    assert "safety_window_days=10" in caplog.text

    wider = run("tweets", lake, pg_url, spark, schema, safety_window_days=10)  # the window the log named
    assert (wider.partitions_listed, wider.partitions_skipped, wider.files) == (4, 0, 1)
    assert rows(pg_url, f"SELECT tweet_id FROM {schema}.fact_tweet WHERE tweet_id = 760") == [(760,)]

    refresh = run("tweets", lake, pg_url, spark, schema, full_refresh=True)
    assert (refresh.partitions_listed, refresh.files) == (4, 6)
    assert rows(pg_url, f"SELECT count(*) FROM {schema}.fact_tweet") == [(6,)]
    assert rows(pg_url, f"SELECT count(*) FROM {schema}.etl_file_ledger") == [(6,)]


def test_two_concurrent_runs_do_not_double_load(spark: Any, pg_url: str, schema: str, lake: Lake) -> None:
    for day in (20, 21):
        write_raw(
            lake,
            "tweets",
            at(day),
            [{"collected_at": at(day) + timedelta(minutes=i), "data": tweet(str(800 + i))} for i in range(5)],
        )
    run("tweets", lake, pg_url, spark, schema)  # schema created before the race
    write_raw(lake, "tweets", at(22), [{"collected_at": at(22), "data": tweet("900")}])
    results: list[Any] = []
    errors: list[BaseException] = []

    def go() -> None:
        try:
            results.append(run("tweets", lake, pg_url, spark, schema))
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=go) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(r.files for r in results) == [0, 1]
    assert rows(pg_url, f"SELECT count(*), count(DISTINCT path) FROM {schema}.etl_file_ledger") == [(3, 3)]


def test_the_tweets_and_tweet_metrics_merges_never_interleave(spark: Any, pg_url: str, schema: str, lake: Lake) -> None:
    """A deterministic race: the tweets merge is held inside its transaction (after it has read
    tweet_deletion and tweet_edit_link) while the tweet_metrics job runs. Without the shared merge
    lock, tweet_metrics would commit its deletion and edit link first, update none of the tweets the
    held merge has not committed yet, and the tweets merge would then commit them unmarked."""
    write_raw(lake, "tweets", at(20), [{"collected_at": at(20), "data": tweet("1300")}])
    run("tweets", lake, pg_url, spark, schema)  # the schema, and every date used below, exist
    tweets_key = write_raw(
        lake,
        "tweets",
        at(20, 12),
        [{"collected_at": at(20, 12), "data": tweet(i)} for i in ("1301", "1302")],
    )
    write_raw(
        lake,
        "tweet_metrics",
        at(20, 14),
        [
            not_found(at(20, 14), "1301"),
            not_found(at(21, 14), "1301"),  # answers a day apart: deleted
            looked_up(at(20, 14), "1303", history=["1302", "1303"]),
        ],
    )
    errors: list[BaseException] = []

    def start(dataset: str) -> threading.Thread:
        def go() -> None:
            try:
                run(dataset, lake, pg_url, spark, schema)
            except BaseException as err:
                errors.append(err)

        thread = threading.Thread(target=go)
        thread.start()
        return thread

    with psycopg.connect(pg_url) as holder:  # an open transaction owning the ledger key the tweets merge inserts
        holder.execute(
            f"INSERT INTO {schema}.etl_file_ledger (dataset, path, dt, size_bytes, rows_loaded, rows_quarantined,"
            " run_id) VALUES ('tweets', %s, '2026-11-20', 0, 0, 0, 'holder')",
            (tweets_key,),
        )
        tweets_thread = start("tweets")
        (tweets_pid,) = wait_for(
            lambda: pids_blocked_by(pg_url, holder.info.backend_pid), "the tweets merge to reach the ledger"
        )
        metrics_thread = start("tweet_metrics")
        wait_for(
            lambda: not metrics_thread.is_alive() or pids_blocked_by(pg_url, tweets_pid),
            "the tweet_metrics job to finish or to wait for the tweets merge",
        )
        holder.rollback()
    tweets_thread.join()
    metrics_thread.join()
    assert errors == []
    assert rows(pg_url, f"SELECT tweet_id, is_deleted, edit_of_tweet_id FROM {schema}.fact_tweet ORDER BY 1") == [
        (1300, False, None),
        (1301, True, None),
        (1302, False, 1303),
    ]


def test_a_failed_cleanup_never_hides_the_runs_own_error(
    pg_url: str, schema: str, lake: Lake, caplog: pytest.LogCaptureFixture
) -> None:
    target = DbTarget.from_url(pg_url)
    run_job("tweets", lake.uri, target, JobOptions(schema=schema))  # the schema exists

    def run_that_fails_with_a_dead_connection() -> None:
        with WarehouseJob("tweets", lake, target, JobOptions(schema=schema)) as job:
            with psycopg.connect(pg_url, autocommit=True) as admin:  # e.g. an idle timeout during a long Spark stage
                admin.execute("SELECT pg_terminate_backend(%s, 10000)", (job._conn.info.backend_pid,))
            raise RuntimeError("the run's own error")

    with caplog.at_level(logging.WARNING, logger="tweetlake.glue"), pytest.raises(RuntimeError, match="own error"):
        run_that_fails_with_a_dead_connection()
    assert "cleanup after the failed run failed too" in caplog.text
    # the server released the job's lock
    assert run_job("tweets", lake.uri, target, JobOptions(schema=schema)).files == 0


def test_a_run_with_nothing_to_read_never_starts_spark(pg_url: str, schema: str, lake: Lake) -> None:
    def no_spark() -> Any:
        raise AssertionError("Spark was started for a run with nothing to read")

    target = DbTarget.from_url(pg_url)
    with WarehouseJob("tweets", lake, target, JobOptions(schema=schema)) as job:
        assert job.run(no_spark).files == 0
    with WarehouseJob("tweets", lake, target, JobOptions(schema=schema, full_refresh=True)) as job:
        job.run(no_spark)  # a full refresh of an empty lake still runs its merge: one run row
    assert query(pg_url, f"SELECT dataset, files, full_refresh FROM {schema}.etl_run") == [("tweets", 0, True)]


def test_records_of_one_tweet_with_one_collected_at_resolve_by_file_then_line(
    spark: Any, pg_url: str, schema: str, lake: Lake
) -> None:
    """The documented total order: collected_at, then the file's key, then the line; the latest wins,
    and fact_tweet's row and its metrics come from the same record."""
    moment = "2026-11-20T10:00:00Z"

    def record(text: str, likes: int) -> str:
        return envelope(
            moment,
            data=tweet(
                "700",
                text=text,
                entities={"hashtags": [{"tag": text}]},
                public_metrics={"like_count": likes, "retweet_count": 0, "reply_count": 0, "quote_count": 0},
            ),
        )

    def hashtags() -> list[tuple[Any, ...]]:  # the entities come from the winning record alone
        return rows(pg_url, f"SELECT tag FROM {schema}.tweet_hashtag WHERE tweet_id = 700")

    first = write_raw_lines(lake, "tweets", at(20), [record("one", 1), record("two", 2), record("three", 3)])
    run("tweets", lake, pg_url, spark, schema)
    assert rows(pg_url, f"SELECT text FROM {schema}.fact_tweet WHERE tweet_id = 700") == [("three",)]
    assert rows(pg_url, f"SELECT like_count FROM {schema}.fact_tweet_metrics WHERE tweet_id = 700") == [(3,)]
    assert hashtags() == [("three",)]
    second = write_raw_lines(lake, "tweets", at(20), [record("four", 4), record("five", 5)], part=1)
    run("tweets", lake, pg_url, spark, schema, full_refresh=True)  # both files in one run: the key decides
    winner = ("five", 5) if second > first else ("three", 3)
    assert rows(pg_url, f"SELECT text FROM {schema}.fact_tweet WHERE tweet_id = 700") == [(winner[0],)]
    assert rows(pg_url, f"SELECT like_count FROM {schema}.fact_tweet_metrics WHERE tweet_id = 700") == [(winner[1],)]
    assert hashtags() == [(winner[0],)]
