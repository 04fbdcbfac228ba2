"""The demo's pipeline, step by step: the simulator and the collectors on their schedules, the Glue
jobs on local Spark into PostgreSQL, and the questions the star schema answers.

``tweetlake demo`` (:mod:`tweetlake.cmd_demo`) runs the steps in order; each step calls the domain
functions the other faces call (:func:`ingestion.run.run`, :func:`glue_jobs.runner.run_job`).
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from common.lake import Lake

DEMO_START = "2026-11-20T06:00:00Z"
DEMO_TOKEN = "demo-bearer-token-not-a-secret"  # noqa: S105 - the in-process simulator accepts it
# The collectors as the schedules run them, in simulated hours after the start: users daily,
# tweets every 4 h, metrics every 2 h, for a day and two hours.
SCHEDULE: list[tuple[float, tuple[str, ...]]] = [
    (hour, tuple(name for name, every in (("users", 24), ("tweets", 4), ("tweet_metrics", 2)) if hour % every == 0))
    for hour in range(0, 27, 2)
]

QUESTIONS: list[tuple[str, str]] = [
    (
        "Top tweets by engagement (likes + retweets + replies + quotes, latest snapshot)",
        """
        SELECT u.username, e.tweet_id, e.tweet_type, e.created_at::date AS posted, e.engagement,
               e.like_count AS likes, left(regexp_replace(t.text, '\\s+', ' ', 'g'), 40) AS text
        FROM v_tweet_engagement e
        JOIN fact_tweet t USING (tweet_id)
        LEFT JOIN v_user_current u ON u.user_id = t.author_id
        WHERE t.tweet_type <> 'retweet'
        ORDER BY e.engagement DESC, e.tweet_id
        LIMIT 5
        """,
    ),
    (
        "Follower growth per account (first to last daily snapshot)",
        """
        SELECT u.username, min(g.date_key) AS first_day, max(g.date_key) AS last_day,
               (array_agg(g.followers_count ORDER BY g.date_key DESC))[1] AS followers,
               sum(coalesce(g.followers_change, 0)) AS followers_change
        FROM v_user_growth g
        JOIN v_user_current u USING (user_id)
        GROUP BY u.username
        ORDER BY followers_change DESC, u.username
        """,
    ),
    (
        "How likes grow in the first hours after posting (tweets first seen under 3 h old, by age at snapshot)",
        """
        WITH young AS (  -- the cohort the schedule caught early: their snapshots trace a growth curve
            SELECT m.tweet_id
            FROM fact_tweet_metrics m
            JOIN fact_tweet t USING (tweet_id)
            WHERE t.tweet_type <> 'retweet'
            GROUP BY m.tweet_id, t.created_at
            HAVING min(m.collected_at) - t.created_at < interval '3 hours'
        ), aged AS (
            SELECT m.like_count, m.impression_count,
                   extract(epoch FROM m.collected_at - t.created_at) / 3600.0 AS age_h
            FROM fact_tweet_metrics m
            JOIN young USING (tweet_id)
            JOIN fact_tweet t USING (tweet_id)
        )
        SELECT CASE WHEN age_h < 1 THEN '0-1 h' WHEN age_h < 3 THEN '1-3 h' WHEN age_h < 6 THEN '3-6 h'
                    WHEN age_h < 12 THEN '6-12 h' WHEN age_h < 24 THEN '12-24 h' ELSE '24-48 h' END AS age,
               count(*) AS snapshots, round(avg(like_count), 1) AS avg_likes,
               round(avg(impression_count), 0) AS avg_impressions
        FROM aged
        WHERE age_h >= 0 AND age_h < 48
        GROUP BY 1
        ORDER BY min(age_h)
        """,
    ),
]


def banner(text: str) -> None:
    print(f"\n=== {text} ===", flush=True)


def ingest(lake: Lake, home_dir: Path, seed: int, accounts: int) -> None:
    from common.lake_summary import render, summarise
    from ingestion.client import XClient
    from ingestion.registry import Registry
    from ingestion.run import run
    from ingestion.usage import Prices
    from xsim import SimulatorServer

    limits = {
        "GET /2/users/:id/tweets": 100_000,
        "GET /2/tweets": 100_000,
        "GET /2/users/by": 100_000,
        "GET /2/users": 100_000,
        "GET /2/users/:id": 100_000,
    }
    with SimulatorServer(seed=seed, accounts=accounts + 2, now=DEMO_START, token=DEMO_TOKEN, rate_limits=limits) as sim:
        banner(f"X API simulator at {sim.base_url} (seed {seed}, simulated start {DEMO_START})")
        registry = Registry(lake)
        for account in sim.world.accounts[:accounts]:
            registry.add(account.username)
        print(f"tracking {accounts} accounts: {', '.join(a.username for a in registry.list())}")
        client = XClient(DEMO_TOKEN, sim.base_url, now=sim.clock.now)
        start = sim.clock.now()
        reads = [0, 0]
        for hours, datasets in SCHEDULE:
            sim.clock.set(start + timedelta(hours=hours))
            for dataset in datasets:
                summary = run(dataset, lake, client)
                banner(f"+{hours:g} h  ingest {dataset}")
                print(summary.render())
                if summary.usage is not None:
                    reads[0] += summary.usage.new.post_reads
                    reads[1] += summary.usage.new.user_reads
        # from the counts, not a sum of per-run roundings: the same cents as the simulator's exact bill
        usd = round(Prices().usd(reads[0], reads[1]), 6)
        banner("what it would have cost")
        print(
            f"on the pay-per-use X API these runs would have cost ${usd:,.2f}: {reads[0]:,} post reads and "
            f"{reads[1]:,} user reads (unique per UTC day; $0.005 and $0.010 each; the simulator billed "
            f"${sim.billing.total_usd():,.2f}). `tweetlake plan` estimates a month, `tweetlake usage` "
            "shows the month to date."
        )
    banner("the lake")
    print(render(lake, summarise(lake)))


def load(lake: Lake, database_url: str | None, schema: str) -> str:
    from common.spark import build_local_spark
    from common.warehouse.db import DbTarget, check_identifier
    from glue_jobs.options import JobOptions
    from glue_jobs.runner import run_job
    from tweetlake import localdb

    url = localdb.database_url(database_url)
    target = DbTarget.from_url(url)
    with target.connect(autocommit=True) as conn:  # the demo's own schema: a clean slate every run
        conn.execute(f"DROP SCHEMA IF EXISTS {check_identifier(schema)} CASCADE")
    banner(f"Glue jobs on local Spark → PostgreSQL {target.safe_url} (schema {schema})")
    spark = build_local_spark("tweetlake-demo")
    try:
        for dataset in ("users", "tweets", "tweet_metrics"):
            started = time.monotonic()
            summary = run_job(dataset, lake.uri, target, JobOptions(schema=schema), spark)
            print(f"{summary.describe()}  [{time.monotonic() - started:.1f}s]")
    finally:
        spark.stop()
    return url


def report(url: str, schema: str) -> None:
    from common.warehouse.db import DbTarget, check_identifier
    from tweetlake.output import format_table

    with DbTarget.from_url(url).connect(autocommit=True) as conn:
        conn.execute(f"SET search_path TO {check_identifier(schema)}, public")
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = %s AND table_type = 'BASE TABLE' ORDER BY table_name",
                (schema,),
            ).fetchall()
        ]
        rows: list[tuple[Any, ...]] = []
        for table in tables:
            count = conn.execute(f"SELECT count(*) FROM {check_identifier(table)}").fetchone()
            rows.append((table, count[0] if count else 0))
        banner("row counts")
        print(format_table(["table", "rows"], rows))
        for title, sql in QUESTIONS:
            banner(title)
            cur = conn.execute(sql)
            print(format_table([d.name for d in cur.description or []], cur.fetchall()))


def write_report(url: str, schema: str, lake: Lake, out: Path) -> Path:
    """The warehouse's HTML report (``tweetlake report``'s domain function), for the demo's schema."""
    from analytics.report import build_report
    from analytics.scope import resolve
    from common.warehouse.db import DbTarget
    from tweetlake.billing import billed_reads

    with DbTarget.from_url(url).connect(autocommit=True) as conn:
        page = build_report(conn, resolve(conn, schema), lake=lake, billed=billed_reads(lake))
    out.write_text(page, encoding="utf-8")
    return out
