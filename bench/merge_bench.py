"""The tweets merge step by step, against a COPY of the same final rows (not run in CI).

1. Once (or with ``--restage``): runs the tweets job of ``run_glue_bench.py``'s lake up to its
   staging tables and keeps a copy of them in schema ``bench_merge_src`` (the job's merge is then
   stopped by its step hook: nothing of it is timed here).
2. Into a freshly migrated schema: the staging tables copied back (not timed), then the merge
   (``common.warehouse.merge.run_merge``, the job's one transaction), timed step by step through
   its :data:`~common.warehouse.merge.StepHook`: what a first load costs, statement by statement.
3. The same final rows COPYed (text) into another empty schema, table by table: the reference the
   load is measured against, with the triggers of migrations 0009-0011 as the schema has them and
   with them disabled (what the derived tables cost a COPY).
4. A rerun of the same staged rows into the loaded schema (every row a conflict, nothing changes).

    .venv/bin/python bench/merge_bench.py [--tweets 1000000] [--files 20] [--restage] [--explain STEP]

``--explain STEP`` prints ``EXPLAIN (ANALYZE, BUFFERS)`` of the statements of one step of the first
load instead (``auto_explain`` in the merge's session; the step names are the hook's).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import run_glue_bench as glue_bench  # noqa: E402

from common.warehouse.columns import Staging  # noqa: E402

SOURCE = "bench_merge_src"
TARGET = "bench_merge"
COPY = "bench_merge_copy"
TABLES = glue_bench.TABLES
DERIVED = ("fact_tweet", "fact_tweet_metrics")  # the tables whose triggers keep derived tables


class StopAfterStaging(Exception):
    pass


def restage(url: str, lake_uri: str) -> None:
    """The tweets job up to its staging tables; a copy of each into ``SOURCE``."""
    import psycopg

    from common.lake import Lake
    from common.spark import build_local_spark
    from common.warehouse.db import DbTarget
    from glue_jobs.options import JobOptions
    from glue_jobs.runner import WarehouseJob

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {SOURCE} CASCADE")
        conn.execute(f"DROP SCHEMA IF EXISTS {TARGET}_stage CASCADE")
        conn.execute(f"CREATE SCHEMA {SOURCE}")
    job_ref: dict[str, Any] = {}

    def keep(step: str) -> None:
        if step != "staged":
            return
        with psycopg.connect(url, autocommit=True) as conn:
            for kind, table in job_ref["job"].staging.items():
                conn.execute(f"CREATE TABLE {SOURCE}.{kind} AS SELECT * FROM {TARGET}_stage.{table}")
        raise StopAfterStaging

    options = JobOptions(schema=f"{TARGET}_stage", on_merge_step=keep)
    spark = build_local_spark("tweetlake-merge-bench", driver_memory="10g")
    with WarehouseJob("tweets", Lake.from_uri(lake_uri), DbTarget.from_url(url), options) as job:
        job_ref["job"] = job
        with contextlib.suppress(StopAfterStaging):
            job.run(spark)
    spark.stop()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {TARGET}_stage CASCADE")


def staged_copy(conn: Any, schema: str) -> dict[Staging, str]:
    """``SOURCE``'s staging tables copied into ``schema`` as the job creates them (UNLOGGED)."""
    staging: dict[Staging, str] = {}
    for (kind,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (SOURCE,)).fetchall():
        table = f"stg_tweets_{kind}_bench"
        conn.execute(f"DROP TABLE IF EXISTS {schema}.{table}")
        conn.execute(
            f"CREATE UNLOGGED TABLE {schema}.{table} WITH (autovacuum_enabled = false) AS SELECT * FROM {SOURCE}.{kind}"
        )
        conn.execute("SET default_statistics_target = 10")  # as the job analyzes them
        conn.execute(f"ANALYZE {schema}.{table}")
        conn.execute("RESET default_statistics_target")
        staging[Staging(kind)] = table
    return staging


def timed_merge(conn: Any, schema: str, staging: dict[Staging, str], explain: str | None) -> dict[str, float]:
    from common.warehouse.merge import run_merge
    from glue_jobs.datasets import TWEETS

    laps: dict[str, float] = {}
    clock = [time.perf_counter()]

    def lap(step: str) -> None:
        now = time.perf_counter()
        laps[step] = laps.get(step, 0.0) + now - clock[0]
        clock[0] = now
        if explain:
            on = "on" if step == _step_before(explain) else "off"
            conn.execute(f"SET auto_explain.log_min_duration = {0 if on == 'on' else -1}")

    if explain:
        conn.execute("LOAD 'auto_explain'")
        conn.execute("SET auto_explain.log_analyze = on")
        conn.execute("SET auto_explain.log_buffers = on")
        conn.execute("SET auto_explain.log_nested_statements = on")
        conn.execute("SET client_min_messages = log")
        conn.add_notice_handler(lambda notice: print(notice.message_primary))
    run_merge(
        conn,
        TWEETS.merge,
        schema=schema,
        dataset="tweets",
        run_id=f"bench-{datetime.now(UTC):%H%M%S}",
        started_at=datetime.now(UTC),
        staging=staging,
        entries=[],
        full_refresh=False,
        on_step=lap,
    )
    laps["COMMIT"] = time.perf_counter() - clock[0]  # after the hook's "commit": the COMMIT itself
    return laps


_STEPS = ("staged", "dates", "edit_links", "fact_tweet", "tweet_hashtag", "tweet_cashtag", "tweet_mention")
_STEPS += ("tweet_url", "tweet_reference", "fact_tweet_metrics", "ledger", "commit")


def _step_before(step: str) -> str:
    return _STEPS[max(0, _STEPS.index(step) - 1)]


def copy_reference(conn: Any, schema: str, *, triggers: bool) -> dict[str, float]:
    from common.warehouse.migrate import migrate

    conn.execute(f"DROP SCHEMA IF EXISTS {COPY} CASCADE")
    migrate(conn, COPY)
    conn.execute(f"INSERT INTO {COPY}.dim_date SELECT * FROM {schema}.dim_date")
    if not triggers:
        for table in DERIVED:
            conn.execute(f"ALTER TABLE {COPY}.{table} DISABLE TRIGGER USER")
    seconds: dict[str, float] = {}
    with conn.transaction(), conn.cursor() as cur:
        for table in TABLES:
            out = io.BytesIO()
            with cur.copy(f"COPY {schema}.{table} TO STDOUT") as copy:
                for chunk in copy:
                    out.write(chunk)
            data = out.getvalue()
            started = time.perf_counter()
            with cur.copy(f"COPY {COPY}.{table} FROM STDIN") as copy:
                for offset in range(0, len(data), 1 << 20):
                    copy.write(data[offset : offset + (1 << 20)])
            seconds[table] = time.perf_counter() - started
    conn.execute(f"DROP SCHEMA {COPY} CASCADE")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tweets", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--restage", action="store_true")
    parser.add_argument("--explain", choices=_STEPS[1:-2], help="EXPLAIN ANALYZE one step's statements")
    parser.add_argument("--skip-rerun", action="store_true")
    args = parser.parse_args()

    os.environ.setdefault("TWEETLAKE_HOME", str(glue_bench.OUT / "home"))
    import psycopg

    from common.warehouse.migrate import migrate
    from tweetlake import localdb

    url = localdb.start(durable=False)
    lake_root = glue_bench.OUT / f"lake-{args.tweets}-{args.files}"
    if not (lake_root / ".generated").exists():
        print(f"no lake at {lake_root}: run bench/run_glue_bench.py --tweets {args.tweets} --files {args.files} first")
        return 2
    with psycopg.connect(url, autocommit=True) as conn:
        has_source = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s", (SOURCE,)).fetchone()[0]
    if args.restage or not has_source:
        started = time.perf_counter()
        restage(url, lake_root.as_uri())
        print(f"staged the lake's {args.tweets:,} tweets once, in {time.perf_counter() - started:.1f}s")

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {TARGET} CASCADE")
        migrate(conn, TARGET)
        staging = staged_copy(conn, TARGET)
        rows = {
            kind: conn.execute(f"SELECT count(*) FROM {TARGET}.{table}").fetchone()[0]
            for kind, table in staging.items()
        }
        print("staged rows:", ", ".join(f"{k}={v:,}" for k, v in sorted(rows.items())))
        laps = timed_merge(conn, TARGET, staging, args.explain)
        merge_total = sum(laps.values())
        print(f"\nfirst load, the merge step by step ({merge_total:.2f}s):")
        for step, seconds in laps.items():
            print(f"  {step:<20} {seconds:7.2f}s")
        if args.explain:
            return 0
        final = {t: conn.execute(f"SELECT count(*) FROM {TARGET}.{t}").fetchone()[0] for t in TABLES}
        for triggers in (True, False):
            copied = copy_reference(conn, TARGET, triggers=triggers)
            total = sum(copied.values())
            label = "with the triggers" if triggers else "triggers disabled"
            print(f"\nCOPY (text) of the same {sum(final.values()):,} final rows, {label}: {total:.2f}s")
            print("  " + ", ".join(f"{t} {s:.2f}s" for t, s in copied.items()))
            print(f"  merge / COPY {label}: {merge_total / total:.2f}x")
        if not args.skip_rerun:
            staging = staged_copy(conn, TARGET)
            laps = timed_merge(conn, TARGET, staging, None)
            print(f"\nrerun of the same rows (all conflicts): {sum(laps.values()):.2f}s")
            print("  " + ", ".join(f"{s} {v:.2f}s" for s, v in laps.items() if v >= 0.05))
        conn.execute(f"DROP SCHEMA {TARGET} CASCADE")  # its autovacuum would load the next benchmark
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
