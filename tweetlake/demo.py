"""The demo's pipeline, step by step: the simulator and the collectors on their schedules, the Glue
jobs on local Spark into PostgreSQL, and the questions the star schema answers.

``tweetlake demo`` (:mod:`tweetlake.cmd_demo`) runs the steps in order; each step calls the domain
functions the other faces call (:func:`ingestion.run.run`, :func:`glue_jobs.runner.run_job`).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from common.catalogue import CATALOGUE, NAMES
from common.lake import Lake

DEMO_START = "2026-11-20T06:00:00Z"
DEMO_END = "2026-11-21T08:00:00Z"  # the last schedule step (+26 h): the demo's "now" for usage and plan
DEMO_TOKEN = "demo-bearer-token-not-a-secret"  # noqa: S105 - the in-process simulator accepts it
# The collectors as the schedules run them, in simulated hours after the start: users daily,
# tweets every 4 h, metrics every 2 h, for a day and two hours.
SCHEDULE: list[tuple[float, tuple[str, ...]]] = [
    (hour, tuple(d.name for d in CATALOGUE if hour % d.schedule.every_hours == 0)) for hour in range(0, 27, 2)
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


@dataclass
class Progress:
    """What earlier runs of the demo finished (``<demo home>/progress.json``): a rerun after a
    failure skips the collector runs already in the lake; the jobs load only files their ledger
    lacks. Another seed or number of accounts starts afresh."""

    path: Path
    world: dict[str, int]
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def open(cls, path: Path, world: dict[str, int]) -> Progress:
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            doc = {}
        if isinstance(doc, dict) and doc.get("world") == world and isinstance(doc.get("steps"), dict):
            return cls(path, world, doc["steps"])
        return cls(path, world)

    def done(self, step: str, facts: dict[str, Any]) -> None:
        self.steps[step] = facts
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"world": self.world, "steps": self.steps}, indent=1))
        tmp.replace(self.path)


def _step_line(hours: float, summaries: list[Any]) -> str:
    """One schedule step on one line: what each collector brought, what it cost, what it could not show."""
    parts, why, usd = [], Counter[str](), 0.0
    for summary in summaries:
        parts.append(f"{summary.dataset} {summary.records:,}")
        why.update(str(getattr(r, "value", r)).split(":")[0].split(" (")[0] for r in summary.unavailable.values())
        usd += summary.usage.usd if summary.usage is not None else 0.0
    tail = f" · partial errors: {', '.join(f'{n} {r}' for r, n in sorted(why.items()))}" if why else ""
    return f"+{hours:>2g} h  {' · '.join(parts)}{tail} · ${usd:,.2f}"


def ingest(lake: Lake, progress: Progress, seed: int, accounts: int, *, verbose: bool = False) -> None:
    from common.lake_summary import render, summarise
    from ingestion.client import XClient
    from ingestion.policy import DEFAULT_POLICY, Policy
    from ingestion.registry import Registry
    from ingestion.run import RunOptions, run
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
        banner(f"X API simulator (seed {seed}, simulated clock from {DEMO_START}): the schedules over 26 hours")
        registry = Registry(lake)
        tracked = {a.username for a in registry.list()}
        for account in sim.world.accounts[:accounts]:
            if account.username not in tracked:
                registry.add(account.username)
        print(f"tracking {accounts} accounts: {', '.join(a.username for a in registry.list())}")
        if progress.steps:
            print(f"resuming: {len(progress.steps)} collector runs already in the lake are skipped")
        client = XClient(DEMO_TOKEN, sim.base_url, now=sim.clock.now)
        start = sim.clock.now()
        for hours, datasets in SCHEDULE:
            sim.clock.set(start + timedelta(hours=hours))
            summaries = []
            for dataset in datasets:
                step = f"{hours:g}:{dataset}"
                if step in progress.steps:
                    continue
                billed = sim.billing.total_usd()
                summary = run(dataset, lake, client, RunOptions(policy=Policy.parse(DEFAULT_POLICY)))
                summaries.append(summary)
                new = summary.usage.new if summary.usage is not None else None
                progress.done(
                    step,
                    {
                        "post_reads": new.post_reads if new else 0,
                        "user_reads": new.user_reads if new else 0,
                        "simulator_usd": sim.billing.total_usd() - billed,
                    },
                )
                if verbose:
                    banner(f"+{hours:g} h  ingest {dataset}")
                    print(summary.render())
            if summaries and not verbose:
                print(_step_line(hours, summaries))
        _cost(progress, Prices())
    banner("the lake")
    summary_text = render(lake, summarise(lake))
    print(summary_text)


def _cost(progress: Progress, prices: Any) -> None:
    post = sum(int(s["post_reads"]) for s in progress.steps.values())
    user = sum(int(s["user_reads"]) for s in progress.steps.values())
    simulated = sum(float(s["simulator_usd"]) for s in progress.steps.values())
    # from the counts, not a sum of per-run roundings: the same cents as the simulator's exact bill
    usd = round(prices.usd(post, user), 6)
    print(
        f"on the pay-per-use X API these runs would have cost ${usd:,.2f}: {post:,} post reads and {user:,} user "
        f"reads (unique per UTC day; $0.005 and $0.010 each; the simulator billed ${simulated:,.2f}). "
        "Partial errors are accounts or posts the API could not show (suspended, protected, deleted): "
        "kept in the lake as error records, never billed."
    )


def load(lake: Lake, database_url: str | None, schema: str, *, fresh: bool) -> str:
    """The three jobs into ``schema``: each loads only the lake files its ledger lacks, so a rerun
    continues where a failed one stopped (``fresh``: drop the schema first)."""
    from common.spark import build_local_spark
    from common.warehouse.db import DbTarget, check_identifier
    from glue_jobs.options import JobOptions
    from glue_jobs.runner import run_job
    from tweetlake import localdb

    url = localdb.database_url(database_url)
    target = DbTarget.from_url(url)
    if fresh:
        with target.connect(autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {check_identifier(schema)} CASCADE")
    banner(f"Glue jobs on local Spark → PostgreSQL {target.safe_url} (schema {schema})")
    spark = build_local_spark("tweetlake-demo")
    try:
        for dataset in NAMES:
            started = time.monotonic()
            summary = run_job(dataset, lake.uri, target, JobOptions(schema=schema), spark)
            print(f"{summary.describe()}  [{time.monotonic() - started:.1f}s]")
    finally:
        spark.stop()
    return url


def report(url: str, schema: str, *, verbose: bool = False) -> None:
    """Row counts and the questions (the first one only, unless ``verbose``)."""
    from common.warehouse.db import DbTarget, check_identifier
    from tweetlake.output import format_table

    with DbTarget.from_url(url).connect(autocommit=True) as conn:
        conn.execute(f"SET search_path TO {check_identifier(schema)}, public")
        counts = []
        for table in ("dim_user", "fact_tweet", "fact_tweet_metrics", "fact_user_daily"):
            row = conn.execute(f"SELECT count(*) FROM {check_identifier(table)}").fetchone()
            counts.append(f"{table} {row[0] if row else 0:,}")
        banner("the star schema")
        print("rows: " + " · ".join(counts))
        for title, sql in QUESTIONS if verbose else QUESTIONS[:1]:
            banner(title)
            cur = conn.execute(sql)
            print(format_table([d.name for d in cur.description or []], cur.fetchall()))


def write_report(url: str, schema: str, lake: Lake, out: Path) -> Path:
    """The warehouse's HTML report (``tweetlake report``'s domain function), for the demo's schema."""
    from analytics.report import build_report
    from analytics.report.page import second_connection
    from analytics.scope import resolve
    from common.warehouse.db import DbTarget
    from tweetlake.billing import billed_reads

    target = DbTarget.from_url(url)
    with target.connect(autocommit=True) as conn, second_connection(target) as second:
        page = build_report(conn, resolve(conn, schema), lake=lake, billed=billed_reads(lake), second=second)
    out.write_text(page, encoding="utf-8")
    return out
