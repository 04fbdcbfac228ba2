"""The three jobs end to end: raw lake files → real Spark → the embedded PostgreSQL.

Expected values are written from the input records, never read back from the output.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from common.lake import Lake
from common.warehouse.merge import FAIL_ENV, InjectedFailure
from glue_jobs.runner import run_job
from tests.glue.glue_helpers import query, table_fingerprint, tweet, user, write_raw, write_raw_lines

T1 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def at(day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def run(dataset: str, lake: Lake, url: str, spark: Any, schema: str, **kwargs: Any) -> Any:
    return run_job(dataset, lake.uri, url, spark, schema=schema, **kwargs)


def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    return query(url, sql)


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
    assert (summary.files, summary.rows_loaded, summary.rows_quarantined) == (1, 4, 0)

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
    assert rows(pg_url, f"SELECT dataset, path, rows_loaded, rows_quarantined FROM {schema}.etl_file_ledger") == [
        ("tweets", key, 4, 0)
    ]
    assert rows(pg_url, f"SELECT count(*) FROM {schema}.dim_date WHERE date_key = 20261120") == [(1,)]

    before = table_fingerprint(pg_url, schema)
    again = run("tweets", lake, pg_url, spark, schema)
    assert (again.files, again.rows_loaded) == (0, 0)
    assert table_fingerprint(pg_url, schema) == before
    assert rows(pg_url, f"SELECT count(*) FROM pg_tables WHERE schemaname = '{schema}' AND tablename LIKE 'stg%'") == [
        (0,)
    ]


def test_recollection_edits_and_late_files(spark: Any, pg_url: str, schema: str, lake: Lake) -> None:
    write_raw(
        lake,
        "tweets",
        at(20),
        [
            {"collected_at": at(20), "data": tweet("100", text="first", entities={"hashtags": [{"tag": "a"}]})},
            {"collected_at": at(20), "data": tweet("200", text="before edit")},
        ],
    )
    run("tweets", lake, pg_url, spark, schema)
    write_raw(
        lake,
        "tweets",
        at(22),
        [
            {
                "collected_at": at(22),
                "data": tweet(
                    "100", text="updated", entities={"hashtags": [{"tag": "b"}]}, public_metrics={"like_count": 30}
                ),
            },
            {"collected_at": at(22), "data": tweet("201", text="after edit", edit_history_tweet_ids=["200", "201"])},
        ],
    )
    second = run("tweets", lake, pg_url, spark, schema)
    assert (second.files, second.partitions_listed) == (1, 2)
    # A late file, collected between the two, must not win over the newer collection.
    write_raw(
        lake,
        "tweets",
        at(21),
        [
            {"collected_at": at(21), "data": tweet("100", text="middle", entities={"hashtags": [{"tag": "c"}]})},
        ],
    )
    third = run("tweets", lake, pg_url, spark, schema)
    assert third.files == 1

    assert rows(
        pg_url,
        f"SELECT tweet_id, text, edit_of_tweet_id, first_collected_at, last_collected_at"
        f" FROM {schema}.fact_tweet ORDER BY 1",
    ) == [
        (100, "updated", None, at(20), at(22)),
        (200, "before edit", 201, at(20), at(20)),
        (201, "after edit", None, at(22), at(22)),
    ]
    assert rows(pg_url, f"SELECT tweet_id, tag FROM {schema}.tweet_hashtag") == [(100, "b")]
    assert rows(
        pg_url,
        f"SELECT tweet_id, collected_at, like_count FROM {schema}.fact_tweet_metrics WHERE tweet_id = 100 ORDER BY 2",
    ) == [(100, at(20), 3), (100, at(21), 3), (100, at(22), 30)]
    assert rows(
        pg_url, f"SELECT tweet_id, collected_at, like_count FROM {schema}.v_tweet_latest_metrics WHERE tweet_id = 100"
    ) == [(100, at(22), 30)]


@pytest.mark.parametrize("order", [("tweets", "tweet_metrics"), ("tweet_metrics", "tweets")])
def test_deleted_tweets_are_marked_whatever_the_job_order(
    spark: Any, pg_url: str, schema: str, lake: Lake, order: tuple[str, str]
) -> None:
    write_raw(lake, "tweets", at(20), [{"collected_at": at(20), "data": tweet(str(i))} for i in (301, 302, 303)])
    write_raw(
        lake,
        "tweet_metrics",
        at(21),
        [
            {
                "collected_at": at(21),
                "data": {
                    "id": "301",
                    "author_id": "42",
                    "created_at": "2026-11-20T12:00:00.000Z",
                    "edit_history_tweet_ids": ["301"],
                    "public_metrics": {"like_count": 99, "retweet_count": 1, "reply_count": 0, "quote_count": 0},
                },
            },
            {
                "collected_at": at(21),
                "error": {
                    "value": "302",
                    "detail": "Could not find tweet with ids: [302].",
                    "title": "Not Found Error",
                    "resource_type": "tweet",
                    "parameter": "ids",
                    "resource_id": "302",
                    "type": "https://api.twitter.com/2/problems/resource-not-found",
                },
            },
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
        ],
    )
    for dataset in order:
        run(dataset, lake, pg_url, spark, schema)
    assert rows(pg_url, f"SELECT tweet_id, is_deleted FROM {schema}.fact_tweet ORDER BY 1") == [
        (301, False),
        (302, True),
        (303, False),
    ]
    assert rows(
        pg_url, f"SELECT tweet_id, collected_at, like_count FROM {schema}.v_tweet_latest_metrics WHERE tweet_id = 301"
    ) == [(301, at(21), 99)]
    assert rows(pg_url, f"SELECT tweet_id, engagement FROM {schema}.v_tweet_engagement WHERE tweet_id = 301") == [
        (301, 100)
    ]


# -- users (SCD type 2) --------------------------------------------------------------------------
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


def versions(url: str, schema: str) -> list[tuple[Any, ...]]:
    return rows(
        url,
        f"SELECT description, valid_from, valid_to, is_current FROM {schema}.dim_user"
        f" WHERE user_id = 42 ORDER BY valid_from",
    )


def test_users_scd2_change_no_change_late_file_and_two_changes_a_day(
    spark: Any, pg_url: str, schema: str, lake: Lake
) -> None:
    write_raw(lake, "users", at(20), [snap(at(20), "A", 100)])
    write_raw(lake, "users", at(21), [snap(at(21), "A", 110)])  # unchanged profile: no new version
    run("users", lake, pg_url, spark, schema)
    assert versions(pg_url, schema) == [("A", at(20), None, True)]

    write_raw(lake, "users", at(23), [snap(at(23), "B", 130)])
    run("users", lake, pg_url, spark, schema)
    assert versions(pg_url, schema) == [("A", at(20), at(23), False), ("B", at(23), None, True)]
    key_of_a = rows(
        pg_url, f"SELECT user_key FROM {schema}.dim_user WHERE valid_from = %s".replace("%s", "'2026-11-20 10:00+00'")
    )

    # Late file: on day 22 the profile said C (and on day 21 still A).
    write_raw(lake, "users", at(22), [snap(at(22), "C", 120)])
    run("users", lake, pg_url, spark, schema)
    assert versions(pg_url, schema) == [
        ("A", at(20), at(22), False),
        ("C", at(22), at(23), False),
        ("B", at(23), None, True),
    ]
    assert rows(pg_url, f"SELECT user_key FROM {schema}.dim_user WHERE valid_from = '2026-11-20 10:00+00'") == key_of_a

    # Two changes in one day; a late snapshot of the same day (earlier, same profile) adds nothing.
    write_raw(lake, "users", at(24, 9), [snap(at(24, 9), "D", 140), snap(at(24, 18), "E", 150)])
    run("users", lake, pg_url, spark, schema)
    write_raw(lake, "users", at(24, 12), [snap(at(24, 12), "D", 145)])
    run("users", lake, pg_url, spark, schema)
    assert versions(pg_url, schema)[-3:] == [
        ("B", at(23), at(24, 9), False),
        ("D", at(24, 9), at(24, 18), False),
        ("E", at(24, 18), None, True),
    ]
    assert rows(pg_url, f"SELECT date_key, followers_count, collected_at FROM {schema}.fact_user_daily ORDER BY 1") == [
        (20261120, 100, at(20)),
        (20261121, 110, at(21)),
        (20261122, 120, at(22)),
        (20261123, 130, at(23)),
        (20261124, 150, at(24, 18)),
    ]
    assert rows(pg_url, f"SELECT date_key, followers_change FROM {schema}.v_user_growth ORDER BY 1") == [
        (20261120, None),
        (20261121, 10),
        (20261122, 10),
        (20261123, 10),
        (20261124, 20),
    ]
    assert rows(pg_url, f"SELECT user_id, description FROM {schema}.v_user_current") == [(42, "E")]
    assert rows(pg_url, f"SELECT count(*) FROM {schema}.dim_user WHERE is_current") == [(1,)]


# -- failures, quarantine, incremental, concurrency -----------------------------------------------
@pytest.mark.parametrize(
    ("dataset", "step"),
    [("tweets", "tweet_url"), ("tweets", "commit"), ("users", "dim_user_delete"), ("tweet_metrics", "is_deleted")],
)
def test_failure_inside_the_merge_changes_nothing_and_the_rerun_completes(
    spark: Any, pg_url: str, schema: str, lake: Lake, monkeypatch: pytest.MonkeyPatch, dataset: str, step: str
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
        "tweet_metrics": lambda d: [
            {
                "collected_at": at(d),
                "error": {
                    "title": "Not Found Error",
                    "resource_type": "tweet",
                    "parameter": "ids",
                    "resource_id": str(400 + d),
                },
            }
        ],
    }[dataset]
    if dataset == "tweet_metrics":  # deletions mark tweets already loaded
        write_raw(lake, "tweets", at(20), [{"collected_at": at(20), "data": tweet(str(400 + d))} for d in (20, 21)])
        run("tweets", lake, pg_url, spark, schema)
    write_raw(lake, dataset, at(20), records(20))
    run(dataset, lake, pg_url, spark, schema)
    before = table_fingerprint(pg_url, schema)

    new_key = write_raw(lake, dataset, at(21), records(21))
    monkeypatch.setenv(FAIL_ENV, step)
    with pytest.raises(InjectedFailure):
        run(dataset, lake, pg_url, spark, schema)
    assert table_fingerprint(pg_url, schema) == before
    assert rows(pg_url, f"SELECT count(*) FROM pg_tables WHERE schemaname = '{schema}' AND tablename LIKE 'stg%'") == [
        (0,)
    ]

    monkeypatch.delenv(FAIL_ENV)
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


def test_a_trigger_failing_inside_the_merge_rolls_back(spark: Any, pg_url: str, schema: str, lake: Lake) -> None:
    write_raw(lake, "tweets", at(20), [{"collected_at": at(20), "data": tweet("500")}])
    run("tweets", lake, pg_url, spark, schema)
    before = table_fingerprint(pg_url, schema)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            f"CREATE FUNCTION {schema}.boom() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'boom'; END$$"
        )
        conn.execute(
            f"CREATE TRIGGER boom BEFORE INSERT ON {schema}.fact_tweet_metrics"
            f" FOR EACH ROW EXECUTE FUNCTION {schema}.boom()"
        )
    write_raw(lake, "tweets", at(21), [{"collected_at": at(21), "data": tweet("501")}])
    with pytest.raises(psycopg.errors.RaiseException):
        run("tweets", lake, pg_url, spark, schema)
    assert table_fingerprint(pg_url, schema) == before
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"DROP TRIGGER boom ON {schema}.fact_tweet_metrics")
    assert run("tweets", lake, pg_url, spark, schema).files == 1
    assert rows(pg_url, f"SELECT tweet_id FROM {schema}.fact_tweet ORDER BY 1") == [(500,), (501,)]


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
    key = write_raw_lines(
        lake, "tweets", at(20), [good, '{"collected_at": "2026-11-20T10:00:00Z", "data": {', no_id, drifted, ""]
    )
    summary = run("tweets", lake, pg_url, spark, schema)
    assert (summary.rows_loaded, summary.rows_quarantined) == (2, 2)
    assert rows(pg_url, f"SELECT tweet_id FROM {schema}.fact_tweet ORDER BY 1") == [(600,), (601,)]
    assert rows(pg_url, f"SELECT like_count FROM {schema}.fact_tweet_metrics WHERE tweet_id = 601") == [(8,)]
    assert rows(pg_url, f"SELECT path, rows_loaded, rows_quarantined FROM {schema}.etl_file_ledger") == [(key, 2, 2)]
    quarantined = [
        json.loads(line)
        for obj in lake.list("quarantine/tweets/")
        if obj.key.endswith(".json")
        for line in lake.get_bytes(obj.key).decode().splitlines()
    ]
    assert sorted((q["source_file"], q["reason"]) for q in quarantined) == [
        (key, "malformed JSON line"),
        (key, "record without id"),
    ]
    assert {q["run_id"] for q in quarantined} == {summary.run_id}


def test_incremental_runs_list_only_the_partitions_they_need(spark: Any, pg_url: str, schema: str, lake: Lake) -> None:
    for day in (1, 2, 10):
        write_raw(lake, "tweets", at(day), [{"collected_at": at(day), "data": tweet(str(700 + day))}])
    first = run("tweets", lake, pg_url, spark, schema)
    assert (first.partitions_listed, first.files) == (3, 3)

    write_raw(lake, "tweets", at(10, 12), [{"collected_at": at(10, 12), "data": tweet("750")}])
    write_raw(lake, "tweets", at(11), [{"collected_at": at(11), "data": tweet("711")}])
    write_raw(lake, "tweets", at(1, 23), [{"collected_at": at(1, 23), "data": tweet("760")}])  # very late, old day
    second = run("tweets", lake, pg_url, spark, schema)
    assert (second.partitions_listed, second.files) == (2, 2)  # dt=11-10 and dt=11-11 only

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
