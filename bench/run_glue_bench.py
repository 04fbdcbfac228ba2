"""Benchmark of the tweets Glue job on local Spark and the embedded PostgreSQL (not run in CI).

1. Generates N raw tweets (default 1,000,000) as realistic lake lines under ``bench/out/lake``.
2. Runs the tweets job into a fresh schema and prints each phase's time and rows/s:
   plan, read+parse, transform, load to staging, merge.
3. In the same run, COPYs (text format) the same final rows into an empty copy of the schema on
   one connection, the reference the load phase (staging + merge) is measured against.
4. Runs the job again as production runs it (the staging frames computed as they are written,
   not cached and counted apart) into a schema of its own: the whole job against the same COPY.
5. Adds 1 % new files and times the incremental run against the full run.

    .venv/bin/python bench/run_glue_bench.py [--tweets 1000000] [--files 20] [--staging-method files|copy|jdbc]
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import multiprocessing
import os
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import settings  # noqa: E402
from common.lake import Lake  # noqa: E402
from common.layout import isoformat_z, raw_key  # noqa: E402
from glue_jobs.staging import STAGING_METHODS  # noqa: E402

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from glue_jobs.summary import JobSummary

OUT = ROOT / "bench" / "out"
EPOCH_MS = 1288834974657
WORDS = (
    "data",
    "spark",
    "glue",
    "lake",
    "tweet",
    "postgres",
    "cloud",
    "python",
    "stream",
    "metrics",
    "open",
    "source",
    "today",
    "great",
    "news",
    "launch",
    "team",
    "build",
    "ship",
    "learn",
    "why",
    "how",
)
TAGS = ("AWS", "DataEngineering", "Python", "Spark", "AI", "OpenSource", "Postgres", "BigData", "ETL", "Cloud")
CASHTAGS = ("TSLA", "AAPL", "AMZN", "MSFT", "NVDA")
AUTHORS = [str(10_000 + i) for i in range(500)]


def snowflake(moment: datetime, seq: int) -> int:
    return ((int(moment.timestamp() * 1000) - EPOCH_MS) << 22) | (seq & 0x3FFFFF)


def make_tweet(rng: random.Random, n: int, collected: datetime) -> dict:
    created = collected - timedelta(seconds=rng.randint(60, 86400 * 400))
    tweet_id = snowflake(created, n)
    author = rng.choice(AUTHORS)
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 30))]
    tags = rng.sample(TAGS, rng.choice((0, 0, 1, 1, 2, 3)))
    mentions = [rng.choice(AUTHORS) for _ in range(rng.choice((0, 0, 0, 1, 2)))]
    urls = rng.choice((0, 0, 1))
    text = " ".join(words) + "".join(f" #{t}" for t in tags) + "".join(f" @user{m}" for m in mentions)
    entities: dict = {}
    if tags:
        entities["hashtags"] = [{"start": 0, "end": len(t) + 1, "tag": t} for t in tags]
    if mentions:
        entities["mentions"] = [{"start": 0, "end": 10, "username": f"user{m}", "id": m} for m in mentions]
    if urls:
        entities["urls"] = [
            {
                "start": 0,
                "end": 23,
                "url": f"https://t.co/{n:x}",
                "expanded_url": f"https://example.org/{n}",
                "display_url": f"example.org/{n}",
                "status": 200,
            }
        ]
    if rng.random() < 0.03:
        entities["cashtags"] = [{"start": 0, "end": 5, "tag": rng.choice(CASHTAGS)}]
    history = [str(tweet_id)]
    if rng.random() < 0.02:
        history = [str(tweet_id - (1 << 22) * 1000), str(tweet_id)]
    obj: dict = {
        "id": str(tweet_id),
        "text": text[:280],
        "author_id": author,
        "conversation_id": str(tweet_id),
        "created_at": isoformat_z(created.replace(microsecond=0)).replace("Z", ".000Z"),
        "edit_controls": {
            "edits_remaining": rng.choice((5, "4")),
            "is_edit_eligible": True,
            "editable_until": isoformat_z(created + timedelta(hours=1)),
        },
        "edit_history_tweet_ids": history,
        "lang": rng.choice(("en", "en", "en", "de", "fr", "es", "ja")),
        "possibly_sensitive": False,
        "reply_settings": "everyone",
        "public_metrics": {
            "retweet_count": rng.randint(0, 500),
            "reply_count": rng.randint(0, 100),
            "like_count": rng.randint(0, 5000),
            "quote_count": rng.randint(0, 50),
            "bookmark_count": rng.randint(0, 100),
            "impression_count": rng.randint(0, 100000),
        },
    }
    if entities:
        obj["entities"] = entities
    kind = rng.random()
    if kind < 0.15:
        obj["referenced_tweets"] = [{"type": "retweeted", "id": str(tweet_id - 12345)}]
        obj["text"] = "RT @user1: " + obj["text"][:100]
    elif kind < 0.25:
        obj["referenced_tweets"] = [{"type": "replied_to", "id": str(tweet_id - 999)}]
        obj["in_reply_to_user_id"] = rng.choice(AUTHORS)
    elif kind < 0.30:
        obj["referenced_tweets"] = [{"type": "quoted", "id": str(tweet_id - 777)}]
    if rng.random() < 0.05:
        obj["note_tweet"] = {"text": text + " " + " ".join(words) * 3, "entities": entities}
    return obj


def write_part(args: tuple[str, str, int, int, int, str]) -> int:
    lake_uri, day, part, first, count, run_id = args
    lake = Lake.from_uri(lake_uri)
    rng = random.Random(first)
    collected = datetime.fromisoformat(day).replace(hour=10, tzinfo=UTC)
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=1, mtime=0) as gz:
        lines = []
        for n in range(first, first + count):
            record = {
                "collected_at": isoformat_z(collected),
                "run_id": run_id,
                "source": "GET /2/users/:id/tweets",
                "data": make_tweet(rng, n, collected),
            }
            lines.append(json.dumps(record, separators=(",", ":")))
        gz.write(("\n".join(lines) + "\n").encode())
    lake.put_bytes(raw_key("tweets", date.fromisoformat(day), run_id, part), buf.getvalue())
    return count


def generate(lake: Lake, total: int, files: int, day: str, first_id: int, run_id: str) -> float:
    started = time.perf_counter()
    per_file = -(-total // files)
    jobs = [
        (lake.uri, day, part, first_id + part * per_file, min(per_file, total - part * per_file), run_id)
        for part in range(files)
        if total - part * per_file > 0
    ]
    with multiprocessing.get_context("fork").Pool(os.cpu_count() or 2) as pool:
        written = sum(pool.map(write_part, jobs))
    assert written == total
    return time.perf_counter() - started


TABLES = (
    "fact_tweet",
    "tweet_hashtag",
    "tweet_cashtag",
    "tweet_mention",
    "tweet_url",
    "tweet_reference",
    "fact_tweet_metrics",
    "tweet_edit_link",
)


def copy_reference(url: str, schema: str, copy_schema: str) -> tuple[int, float]:
    """COPY (text) the final rows of ``schema`` into an empty ``copy_schema`` on one connection."""
    import psycopg

    from common.warehouse.migrate import migrate

    dumps: dict[str, bytes] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {copy_schema} CASCADE")
        migrate(conn, copy_schema)
        conn.execute(f"INSERT INTO {copy_schema}.dim_date SELECT * FROM {schema}.dim_date")
        for table in TABLES:
            out = io.BytesIO()
            with conn.cursor() as cur, cur.copy(f"COPY {schema}.{table} TO STDOUT") as copy:
                for chunk in copy:
                    out.write(chunk)
            dumps[table] = out.getvalue()
        rows = 0
        started = time.perf_counter()
        with conn.transaction(), conn.cursor() as cur:
            for table in TABLES:
                with cur.copy(f"COPY {copy_schema}.{table} FROM STDIN") as copy:
                    data = dumps[table]
                    for offset in range(0, len(data), 1 << 20):
                        copy.write(data[offset : offset + (1 << 20)])
                rows += data.count(b"\n")
        elapsed = time.perf_counter() - started
        conn.execute(f"DROP SCHEMA {copy_schema} CASCADE")
    return rows, elapsed


def run_tweets_job(
    spark: SparkSession, lake: Lake, url: str, schema: str, method: str, *, materialize: bool = True
) -> JobSummary:
    from common.warehouse.db import DbTarget
    from glue_jobs.options import JobOptions
    from glue_jobs.runner import WarehouseJob

    # materialize: time the transform apart from the load (the production job does not)
    options = JobOptions(schema=schema, staging_method=method, materialize=materialize)
    with WarehouseJob("tweets", lake, DbTarget.from_url(url), options) as job:
        return job.run(spark)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tweets", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--staging-method", choices=STAGING_METHODS, default="auto")
    parser.add_argument("--database-url", default=settings.load().database_url)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--skip-production-run", action="store_true", help="do not time the job as production runs it")
    args = parser.parse_args()

    lake_root = OUT / f"lake-{args.tweets}-{args.files}"
    marker = lake_root / ".generated"
    lake = Lake.from_uri(lake_root.as_uri())
    if args.regenerate or not marker.exists():
        import shutil

        shutil.rmtree(lake_root, ignore_errors=True)
        lake_root.mkdir(parents=True)
        seconds = generate(lake, args.tweets, args.files, "2026-11-20", 0, "20261120T100000Z-bench0")
        marker.touch()
        print(f"generated {args.tweets:,} raw tweets in {args.files} files in {seconds:.1f}s")
    else:
        print(f"reusing {args.tweets:,} raw tweets under {lake_root}")
    for extra in lake_root.glob("raw/tweets/dt=2026-11-21"):
        import shutil

        shutil.rmtree(extra)

    os.environ.setdefault("TWEETLAKE_HOME", str(OUT / "home"))
    from tweetlake import localdb

    # A throwaway benchmark database: the embedded server runs with fsync and synchronous_commit off
    # (tweetlake's default is on); a --database-url server runs as it is configured.
    url = args.database_url or localdb.start(durable=False)
    print("database:", "the URL given" if args.database_url else "embedded PostgreSQL, fsync off (benchmark only)")
    import psycopg

    schema = "bench_tweets"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    from common.spark import build_local_spark

    spark = build_local_spark("tweetlake-bench", driver_memory="10g")
    spark.range(1).count()  # JVM warm-up is not the job's time

    full = run_tweets_job(spark, lake, url, schema, args.staging_method)
    staged_rows = sum(full.staged.values())
    t = full.timings
    load = t["stage"] + t["merge"]
    print(
        f"\nfull run: {full.files} files, {full.rows_loaded:,} raw tweets; staged rows {staged_rows:,} "
        f"({', '.join(f'{k}={v:,}' for k, v in full.staged.items())})"
    )
    for phase, rows in (
        ("plan", None),
        ("read_parse", full.rows_loaded),
        ("transform", staged_rows),
        ("stage", None),
        ("merge", staged_rows),
    ):
        rate = f"{rows / t[phase]:>12,.0f} rows/s" if rows and t[phase] else ""
        print(f"  {phase:<11} {t[phase]:8.2f}s {rate}")
    print(
        f"  (stage: until the merge's first table was full; staging took {full.staging_seconds:.2f}s"
        f" in all, beside the merge, which waited {full.merge_waited_seconds:.2f}s for its later tables)"
    )
    total = sum(t.values())
    print(f"  {'total':<11} {total:8.2f}s {full.rows_loaded / total:>12,.0f} tweets/s")

    final_rows, copy_seconds = copy_reference(url, schema, "bench_copy")
    print(
        f"\nCOPY (text) of the same {final_rows:,} final rows, one connection: {copy_seconds:.2f}s "
        f"({final_rows / copy_seconds:,.0f} rows/s)"
    )
    print(
        f"load phase (stage + merge): {load:.2f}s = {load / copy_seconds:.2f}x COPY "
        f"({final_rows / load:,.0f} final rows/s)"
    )

    if not args.skip_production_run:
        # The job as Glue and `tweetlake job` run it (the frames computed as they are staged, never
        # cached and counted apart), into a schema of its own: the whole job against the same COPY.
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema}_production CASCADE")
        started = time.perf_counter()
        production = run_tweets_job(spark, lake, url, f"{schema}_production", args.staging_method, materialize=False)
        seconds = time.perf_counter() - started
        phases = ", ".join(f"{k} {v:.2f}s" for k, v in production.timings.items())
        print(
            f"\nthe job as it runs in production (frames not cached apart): {seconds:.2f}s"
            f" = {seconds / copy_seconds:.2f}x COPY ({phases})"
        )
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema}_production CASCADE")
    print(f"the job with its phases timed apart: {total:.2f}s = {total / copy_seconds:.2f}x COPY")

    new = max(1, args.tweets // 100)
    new_files = max(1, args.files // 20)
    generate(lake, new, new_files, "2026-11-21", args.tweets + 1_000_000, "20261121T100000Z-bench1")
    incremental = run_tweets_job(spark, lake, url, schema, args.staging_method)
    inc_total = sum(incremental.timings.values())
    print(
        f"\nincremental run: {incremental.files} new files, {incremental.rows_loaded:,} tweets, "
        f"{inc_total:.2f}s ({', '.join(f'{k} {v:.2f}s' for k, v in incremental.timings.items())})"
    )
    print(f"incremental / full: {inc_total / total:.3f} (data: {incremental.rows_loaded / full.rows_loaded:.3f})")
    again = run_tweets_job(spark, lake, url, schema, args.staging_method)
    print(f"no-op run (nothing new): {sum(again.timings.values()):.2f}s, {again.files} files")
    spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
