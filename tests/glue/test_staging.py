"""Staging (files, COPY from the Spark tasks, JDBC): exact values (quotes, newlines, NULL vs empty), exact counts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from common.lake import Lake
from common.warehouse.db import DbTarget
from glue_jobs.staging import (
    StagingFrame,
    committed_parts,
    copy_statement,
    create_staging_table,
    stage_copy_many,
    stage_files_many,
    stage_jdbc_many,
)
from tests.glue.glue_helpers import query

pytestmark = pytest.mark.slow  # real Spark and the embedded PostgreSQL


@pytest.mark.parametrize("method", ["copy", "files"])
def test_copy_staging_keeps_every_value_and_counts_rows(
    spark: Any, pg_url: str, schema: str, tmp_path: Path, method: str
) -> None:
    texts = ["plain", 'with "quotes", commas', "two\nlines", "", None, "back\\slash ünïcödé 🚀"]
    tweets = [(i, t, datetime(2026, 11, 20, 10, 0, 0, 123456 * (i % 2))) for i, t in enumerate(texts)]
    tweets_df = spark.createDataFrame(tweets, "tweet_id long, text string, collected_at timestamp").repartition(2)
    tags_df = spark.createDataFrame([(1, "a"), (2, "b"), (3, "c"), (4, "d")], "tweet_id long, tag string").coalesce(1)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        create_staging_table(conn, schema, "stg_t", ("tweet_id", "text", "collected_at"))
        create_staging_table(conn, schema, "stg_h", ("tweet_id", "tag"))
    frames = {
        "tweet": StagingFrame(tweets_df, ("tweet_id", "text", "collected_at"), "stg_t"),
        "hashtag": StagingFrame(tags_df, ("tweet_id", "tag"), "stg_h"),
    }
    if method == "copy":  # chunk_rows=2 with 4 tags: a partition that ends on a full chunk
        written = stage_copy_many(frames, DbTarget.from_url(pg_url), schema, chunk_rows=2)
    else:
        work = Lake.from_uri((tmp_path / "stage").as_uri())
        written = stage_files_many(frames, DbTarget.from_url(pg_url), schema, work)
        assert not (tmp_path / "stage").exists()  # the work folder is removed, .crc files and all
    assert written == {"tweet": 6, "hashtag": 4}
    got = query(pg_url, f"SELECT tweet_id, text, collected_at FROM {schema}.stg_t ORDER BY 1")
    assert got == [(i, t, ts.replace(tzinfo=UTC)) for i, t, ts in tweets]
    assert query(pg_url, f"SELECT count(*) FROM {schema}.stg_h") == [(4,)]


def test_jdbc_staging_uses_the_postgresql_driver(spark: Any, pg_url: str, schema: str) -> None:
    df = spark.createDataFrame([(1, "a"), (2, None), (3, 'q"uote')], "tweet_id long, tag string")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        create_staging_table(conn, schema, "stg_j", ("tweet_id", "tag"))
    frames = {"hashtag": StagingFrame(df, ("tweet_id", "tag"), "stg_j")}
    assert stage_jdbc_many(frames, DbTarget.from_url(pg_url), schema) == {"hashtag": -1}  # JDBC counts nothing
    assert query(pg_url, f"SELECT tweet_id, tag FROM {schema}.stg_j ORDER BY 1") == [(1, "a"), (2, None), (3, 'q"uote')]


def test_files_staging_reads_only_committed_parts_from_s3(pg_url: str, schema: str, s3_lake: Lake) -> None:
    """On Glue the work folder is on S3: the driver streams the committed parts from there and skips
    what a Spark write leaves beside them (a failed attempt under ``_temporary/``, ``.crc``, ``_SUCCESS``)."""
    from glue_jobs.staging import _copy_file

    s3_lake.put_bytes("hashtag/part-00000-a.csv", b'1,a\n2,"b,c"\n')
    s3_lake.put_bytes("hashtag/part-00001-a.csv", b"3,\n")
    s3_lake.put_bytes("hashtag/_temporary/0/_temporary/attempt_1/part-00001-a.csv", b"99,lost\n")
    s3_lake.put_bytes("hashtag/.part-00000-a.csv.crc", b"crc")
    s3_lake.put_bytes("hashtag/_SUCCESS", b"")
    s3_lake.put_bytes("hashtags_other/part-00000-a.csv", b"98,other\n")
    parts = committed_parts(s3_lake, "hashtag")
    assert parts == ["hashtag/part-00000-a.csv", "hashtag/part-00001-a.csv"]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        create_staging_table(conn, schema, "stg_h", ("tweet_id", "tag"))
    statement = copy_statement(schema, "stg_h", ("tweet_id", "tag"))
    assert statement == f"COPY {schema}.stg_h (tweet_id, tag) FROM STDIN (FORMAT csv)"
    counts = [_copy_file(DbTarget.from_url(pg_url), s3_lake, statement, key) for key in parts]
    assert counts == [2, 1]
    assert query(pg_url, f"SELECT tweet_id, tag FROM {schema}.stg_h ORDER BY 1") == [(1, "a"), (2, "b,c"), (3, None)]
