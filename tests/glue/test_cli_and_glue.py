"""The faces: ``tweetlake db|sql|job`` mains, the Glue argument/context/credential edges, migrations.

Tests that start Spark or the embedded PostgreSQL are marked ``slow``.
"""

from __future__ import annotations

import importlib
import json
import runpy
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from common.lake import Lake
from common.warehouse.db import DbTarget
from common.warehouse.migrate import available_migrations
from glue_jobs import glue_context
from tests.glue.glue_helpers import query, tweet, user, write_raw
from tweetlake import localdb
from tweetlake.cli import main as tweetlake

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_db_migrate_is_versioned_and_idempotent(pg_url: str, schema: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert tweetlake(["db", "migrate", "--database-url", pg_url, "--schema", schema]) == 0
    assert tweetlake(["db", "migrate", "--database-url", pg_url, "--schema", schema]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"schema {schema}: applied {[m.version for m in available_migrations()]}",
        f"schema {schema}: up to date",
    ]
    assert query(pg_url, f"SELECT version, name FROM {schema}.schema_migrations") == [
        (m.version, m.name) for m in available_migrations()
    ]
    views = query(
        pg_url, "SELECT table_name FROM information_schema.views WHERE table_schema = %s ORDER BY 1", (schema,)
    )
    assert [v[0] for v in views] == [  # the views the README documents, for the analysts
        "v_engagement_by_type",
        "v_entity_daily",
        "v_metric_growth_share",
        "v_posting_activity",
        "v_sentiment_daily",
        "v_tweet_deletion_evidence",
        "v_tweet_engagement",
        "v_tweet_entity",
        "v_tweet_latest_metrics",
        "v_tweet_metric_curve",
        "v_tweet_metric_milestones",
        "v_user_current",
        "v_user_growth",
    ]


@pytest.mark.slow
def test_sql_prints_a_table(pg_url: str, schema: str, capsys: pytest.CaptureFixture[str]) -> None:
    tweetlake(["db", "migrate", "--database-url", pg_url, "--schema", schema])
    capsys.readouterr()
    sql = "SELECT ensure_dim_date(date '2026-11-21', date '2026-11-22') IS NULL AS ok"
    assert tweetlake(["sql", sql, "--database-url", pg_url, "--schema", schema]) == 0
    assert (
        tweetlake(
            [
                "sql",
                "SELECT date_key, day_name, is_weekend FROM dim_date ORDER BY 1",
                "--database-url",
                pg_url,
                "--schema",
                schema,
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "20261121 | Saturday | True" in out
    assert "20261122 | Sunday   | True" in out
    assert "(2 rows)" in out
    assert tweetlake(["sql", "SELECT nope", "--database-url", pg_url, "--schema", schema]) == 1


@pytest.mark.slow
def test_job_command_loads_the_lake(
    spark: Any, pg_url: str, schema: str, lake: Lake, capsys: pytest.CaptureFixture[str]
) -> None:
    when = datetime(2026, 11, 20, 10, tzinfo=UTC)
    write_raw(lake, "users", when, [{"collected_at": when, "data": user("42", "alice")}])
    assert tweetlake(["job", "users", "--lake", lake.uri, "--database-url", pg_url, "--schema", schema]) == 0
    assert "users run" in capsys.readouterr().out
    assert query(pg_url, f"SELECT user_id, username, is_current FROM {schema}.dim_user") == [(42, "alice", True)]


@pytest.mark.slow
def test_job_command_takes_metrics_for_tweet_metrics(
    spark: Any, pg_url: str, schema: str, lake: Lake, capsys: pytest.CaptureFixture[str]
) -> None:
    when = datetime(2026, 11, 20, 10, tzinfo=UTC)
    write_raw(lake, "tweet_metrics", when, [{"collected_at": when, "data": tweet("100")}])
    assert tweetlake(["job", "metrics", "--lake", lake.uri, "--database-url", pg_url, "--schema", schema]) == 0
    assert "tweet_metrics run" in capsys.readouterr().out
    assert query(pg_url, f"SELECT tweet_id, like_count FROM {schema}.fact_tweet_metrics") == [(100, 3)]
    assert query(pg_url, f"SELECT DISTINCT dataset FROM {schema}.etl_file_ledger") == [("tweet_metrics",)]


def test_database_url_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(localdb.ENV_URL, "postgresql://env@h:1/d")
    assert localdb.database_url("postgresql://explicit@h:1/d") == "postgresql://explicit@h:1/d"
    assert localdb.database_url() == "postgresql://env@h:1/d"


def test_glue_arguments_use_full_names() -> None:
    argv = [
        "script.py",
        "--JOB_NAME",
        "tweets",
        "--lake_uri",
        "s3://lake/prefix",
        "--db_secret_arn",
        "arn:x",
        "--full_refresh",
        "true",
        "--db_schema",
        "twitter2",
    ]
    args = glue_context.resolve_args(argv)
    assert args["lake_uri"] == "s3://lake/prefix"
    assert args["db_secret_arn"] == "arn:x"
    run = glue_context.GlueRun(spark=None, args=args).options
    assert (run.full_refresh, run.schema) == (True, "twitter2")
    defaults = glue_context.GlueRun(None, {"JOB_NAME": "x", "lake_uri": "u"}).options
    assert (defaults.schema, defaults.full_refresh, defaults.safety_window_days) == ("twitter", False, 2)


def test_the_safety_window_is_a_job_argument() -> None:
    argv = ["script.py", "--JOB_NAME", "tweets", "--lake_uri", "s3://lake", "--safety_window_days", "30"]
    assert glue_context.GlueRun(None, glue_context.resolve_args(argv)).options.safety_window_days == 30
    with pytest.raises(SystemExit, match="number of days"):
        _ = glue_context.GlueRun(None, {"safety_window_days": "-1"}).options


@pytest.mark.slow
def test_outside_glue_the_context_falls_back_to_spark(spark: Any, caplog: pytest.LogCaptureFixture) -> None:
    # awsglue is installed here (AWSGlueDataplanePython), but Glue's JVM classes are not: GlueContext fails.
    importlib.import_module("awsglue.context")
    spark.conf.set("spark.sql.session.timeZone", "America/New_York")  # what a laptop's default would be
    try:
        with caplog.at_level("INFO", logger="tweetlake.glue"):
            run = glue_context.start_run(["script.py", "--JOB_NAME", "t", "--lake_uri", "file:///tmp/x"])
        assert run.job is None
        assert "running on a plain SparkSession" in caplog.text
        assert run.spark.sparkContext is spark.sparkContext  # the one SparkContext, not a second one
        assert run.spark.conf.get("spark.sql.session.timeZone") == "UTC"  # dates are UTC days on any host
        day = run.spark.sql("SELECT date_format(CAST('2026-11-21T02:00:00Z' AS TIMESTAMP), 'yyyyMMdd')").first()
        assert day[0] == "20261121"  # in New York it was still the 20th
        run.commit()  # no Glue Job to commit: a no-op
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")


def test_entry_scripts_do_nothing_on_import() -> None:
    for name in ("users_job", "tweets_job", "tweet_metrics_job"):
        module = importlib.import_module(f"glue_jobs.{name}")
        assert callable(module.main)


@pytest.mark.slow
def test_an_entry_script_loads_its_dataset_with_glue_arguments(
    spark: Any,
    pg_url: str,
    schema: str,
    lake: Lake,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``users_job.py`` run as Glue runs it: arguments in ``sys.argv``, credentials from Secrets Manager."""
    when = datetime(2026, 11, 20, 10, tzinfo=UTC)
    write_raw(lake, "users", when, [{"collected_at": when, "data": user("42", "alice")}])
    db = DbTarget.from_url(pg_url)
    secret = {"username": db.user, "password": db.password, "host": db.host, "port": db.port, "dbname": db.dbname}
    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name="us-east-1")
        arn = secrets.create_secret(Name="wh", SecretString=json.dumps({**secret, "sslmode": "disable"}))["ARN"]
        argv = ["users_job.py", "--JOB_NAME", "users", "--lake_uri", lake.uri, "--db_secret_arn", arn]
        monkeypatch.setattr(sys, "argv", [*argv, "--db_schema", schema, "--staging_method", "copy"])
        runpy.run_path(str(ROOT / "glue_jobs" / "users_job.py"), run_name="__main__")
    assert "users run" in capsys.readouterr().out
    assert query(pg_url, f"SELECT user_id, username, is_current FROM {schema}.dim_user") == [(42, "alice", True)]


@mock_aws
def test_credentials_from_secrets_manager_and_glue_connection() -> None:
    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    arn = secrets.create_secret(
        Name="rds",
        SecretString=json.dumps(
            {
                "username": "etl",
                "password": "s3cr#t/",
                "host": "db.internal",
                "port": 5432,
                "dbname": "tweets",
                "engine": "postgres",
            }
        ),
    )["ARN"]
    target = glue_context.target_from_secrets_manager(arn, client=secrets)
    assert target == DbTarget("db.internal", 5432, "tweets", "etl", "s3cr#t/", "require")
    assert "s3cr" not in repr(target)
    assert target.jdbc_url == "jdbc:postgresql://db.internal:5432/tweets?reWriteBatchedInserts=true&sslmode=require"
    assert DbTarget.from_url(target.url) == target

    glue = boto3.client("glue", region_name="us-east-1")
    glue.create_connection(
        ConnectionInput={
            "Name": "warehouse",
            "ConnectionType": "JDBC",
            "ConnectionProperties": {
                "JDBC_CONNECTION_URL": "jdbc:postgresql://db.internal:5433/tweets",
                "SECRET_ID": arn,
            },
        }
    )
    from common.warehouse.db import target_from_glue_connection

    via_connection = target_from_glue_connection("warehouse", client=glue, secrets_client=secrets)
    assert (via_connection.host, via_connection.port, via_connection.user) == ("db.internal", 5433, "etl")
