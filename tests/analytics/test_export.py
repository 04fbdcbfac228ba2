"""``tweetlake export``: Parquet and CSV round trips against the tables as PostgreSQL returns them,
the types, ``--since``, S3 (moto), and memory that does not grow with the table."""

from __future__ import annotations

import csv
import json
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from analytics.export import ExportOptions, export
from tests.analytics.rows import query, small_warehouse, tweet
from tweetlake.cli import main

pytestmark = pytest.mark.slow  # the embedded PostgreSQL


def test_parquet_round_trip_types_and_manifest(
    wh: Any, pg_url: str, schema: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    small_warehouse(wh)
    out = tmp_path / "export"
    assert main(["export", "--format", "parquet", "--out", str(out), "--database-url", pg_url, "--schema", schema]) == 0
    assert "manifest:" in capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text())
    tables = {t["table"]: t for t in manifest["tables"]}
    assert {"fact_tweet", "dim_user", "v_tweet_engagement", "v_metric_growth_share"} <= set(tables)
    assert manifest["format"] == "parquet" and manifest["exported_at"].endswith("Z")

    fact = pq.read_table(out / "fact_tweet.parquet")
    types = {f.name: f.type for f in fact.schema}
    assert types["tweet_id"] == pa.int64() and types["author_id"] == pa.int64()
    assert types["created_at"] == pa.timestamp("us", tz="UTC")
    assert types["date_key"] == pa.int32() and types["is_deleted"] == pa.bool_()
    assert types["sentiment_compound"] == pa.float64() and types["text"] == pa.string()
    # the file holds exactly what PostgreSQL returns for the table
    columns = fact.column_names
    expected = query(wh, f"SELECT {', '.join(columns)} FROM fact_tweet ORDER BY tweet_id")
    got = sorted(zip(*(fact.column(c).to_pylist() for c in columns), strict=True))
    assert got == expected
    assert tables["fact_tweet"]["rows"] == 6 and tables["fact_tweet"]["filter"] == "none"
    assert {c["name"]: c["parquet"] for c in tables["fact_tweet"]["schema"]}["created_at"] == "timestamp[us, tz=UTC]"
    # a timestamp is the same instant whatever the session's time zone was
    first = fact.filter(pa.compute.equal(fact.column("tweet_id"), 101)).column("created_at").to_pylist()[0]
    assert first == datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    # a view: numeric ratios become float64, and the rows match the view's
    engagement = pq.read_table(out / "v_tweet_engagement.parquet")
    assert engagement.schema.field("engagement_per_follower").type == pa.float64()
    view = query(wh, "SELECT tweet_id, author_followers, engagement_per_follower::float8 FROM v_tweet_engagement")
    assert sorted(
        zip(
            engagement.column("tweet_id").to_pylist(),
            engagement.column("author_followers").to_pylist(),
            engagement.column("engagement_per_follower").to_pylist(),
            strict=True,
        )
    ) == sorted(view)


def test_csv_since_and_tables(wh: Any, pg_url: str, schema: str, tmp_path: Path) -> None:
    small_warehouse(wh)
    tweet(wh, 203, 2, datetime(2026, 11, 9, 14, tzinfo=UTC), text='two\nlines, "quoted"')  # one record, two lines
    out = tmp_path / "csv"
    assert (
        main(
            [
                "export",
                "--format",
                "csv",
                "--out",
                str(out),
                "--database-url",
                pg_url,
                "--schema",
                schema,
                "--tables",
                "fact_tweet,tweet_hashtag,dim_user",
                "--since",
                "2026-11-09",
            ]
        )
        == 0
    )
    with (out / "fact_tweet.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(int(r["tweet_id"]) for r in rows) == [201, 202, 203]  # posted on 11-09
    assert {r["created_at"] for r in rows} == {
        "2026-11-09 12:00:00+00",
        "2026-11-09 13:00:00+00",
        "2026-11-09 14:00:00+00",
    }  # UTC
    assert {r["text"] for r in rows if r["tweet_id"] == "203"} == {'two\nlines, "quoted"'}
    with (out / "tweet_hashtag.csv").open(newline="") as f:
        assert [(r["tweet_id"], r["tag"]) for r in csv.DictReader(f)] == [("201", "News")]  # by the tweet's day
    manifest = {t["table"]: t for t in json.loads((out / "manifest.json").read_text())["tables"]}
    assert [manifest[t]["rows"] for t in ("fact_tweet", "tweet_hashtag", "dim_user")] == [3, 1, 2]
    assert manifest["dim_user"]["filter"] == "none (no day column)"
    assert manifest["fact_tweet"]["filter"] == "date_key >= 20261109"
    assert sorted(p.name for p in out.iterdir()) == [
        "dim_user.csv",
        "fact_tweet.csv",
        "manifest.json",
        "tweet_hashtag.csv",
    ]


def test_unknown_table_is_one_line_and_exit_2(
    wh: Any, pg_url: str, schema: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "export",
            "--out",
            str(tmp_path / "x"),
            "--database-url",
            pg_url,
            "--schema",
            schema,
            "--tables",
            "fact_tweet,no_such_table",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.strip() == f"tweetlake export: no such table or view in schema {schema}: no_such_table"


def test_export_to_s3(wh: Any, pg_url: str, schema: str, s3_lake: Any) -> None:
    import io

    import pyarrow.parquet as pq

    small_warehouse(wh)
    s3 = s3_lake.client  # moto's, with the bucket the fixture made
    result = export(
        wh, schema, "s3://tweetlake-test/exports/run1", ExportOptions(relations=("fact_user_daily",)), s3_client=s3
    )
    assert result.files[0].rows == 12  # alice 10 days, bob 2
    assert result.manifest == "s3://tweetlake-test/exports/run1/manifest.json"
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="tweetlake-test", Prefix="exports/run1/")["Contents"])
    assert keys == ["exports/run1/fact_user_daily.parquet", "exports/run1/manifest.json"]
    body = s3.get_object(Bucket="tweetlake-test", Key="exports/run1/fact_user_daily.parquet")["Body"].read()
    table = pq.read_table(io.BytesIO(body))
    assert sorted(table.column("followers_count").to_pylist()) == sorted(
        [1000 + 50 * i for i in range(10)] + [500, 520]
    )


def test_parquet_streams_in_row_groups_with_bounded_memory(wh: Any, schema: str, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    wh.execute("SELECT ensure_dim_date('2026-11-01', '2026-11-01')")
    rows = 300_000
    wh.execute(
        "INSERT INTO fact_tweet_metrics (tweet_id, collected_at, date_key, like_count, retweet_count, reply_count,"
        " quote_count, impression_count, record_key) SELECT g, '2026-11-01 00:00+00'::timestamptz + g * interval '1 s',"
        " 20261101, g, g %% 7, g %% 3, 0, g * 10, 'raw/tweet_metrics/dt=2026-11-01/part.jsonl.gz:' || g"
        " FROM generate_series(1, %s) AS g",
        (rows,),
    )
    batch = 10_000
    tracemalloc.start()
    try:
        result = export(
            wh, schema, str(tmp_path / "big"), ExportOptions(relations=("fact_tweet_metrics",), batch_rows=batch)
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.files[0].rows == rows
    metadata = pq.ParquetFile(tmp_path / "big" / "fact_tweet_metrics.parquet").metadata
    assert metadata.num_rows == rows and metadata.num_row_groups == rows // batch  # one row group a batch
    # read in two halves of the table's pages at once, every row exactly once
    from analytics.export import _page_halves

    halves = _page_halves(wh, schema, "fact_tweet_metrics", f"SELECT tweet_id FROM {schema}.fact_tweet_metrics")
    assert len(halves) == 2 and all(wh.execute(f"SELECT count(*) FROM ({h}) AS p").fetchone()[0] > 0 for h in halves)
    ids = pq.read_table(tmp_path / "big" / "fact_tweet_metrics.parquet", columns=["tweet_id"]).column(0).to_pylist()
    assert sorted(ids) == list(range(1, rows + 1))
    # the whole table as Python rows would take well over 200 MB (10 columns of 300,000 objects);
    # one batch of 10,000 rows and its Arrow arrays stay far below 40 MB
    assert peak < 40 * 1024 * 1024, peak


def test_parquet_through_adbc_and_through_text_copy_hold_the_same_rows_and_types(
    wh: Any, schema: str, tmp_path: Path
) -> None:
    import pyarrow.parquet as pq

    small_warehouse(wh)
    tweet(wh, 203, 2, datetime(2026, 11, 9, 14, tzinfo=UTC), text='two\nlines, "quoted", ünïcode')
    relations = ("fact_tweet", "v_tweet_engagement", "v_metric_growth_share", "dim_user")
    adbc = export(wh, schema, str(tmp_path / "adbc"), ExportOptions(relations=relations))
    copy = export(wh, schema, str(tmp_path / "copy"), ExportOptions(relations=relations, use_adbc=False))
    assert [f.rows for f in adbc.files] == [f.rows for f in copy.files]
    for relation in relations:
        a = pq.read_table(tmp_path / "adbc" / f"{relation}.parquet")
        c = pq.read_table(tmp_path / "copy" / f"{relation}.parquet")
        assert a.schema.remove_metadata() == c.schema.remove_metadata(), relation
        assert a.sort_by(a.column_names[0]).to_pylist() == c.sort_by(c.column_names[0]).to_pylist(), relation
