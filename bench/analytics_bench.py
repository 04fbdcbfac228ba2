"""The report's build time and the export's throughput against PostgreSQL's own ``COPY … TO`` (not run in CI).

1. Fills a schema (``bench_analytics``) with a synthetic warehouse made in SQL (generate_series):
   500 accounts with 60 daily snapshots, N tweets (default 1,000,000) over 400 days, one metrics
   snapshot per tweet plus a 2-hourly curve over 8 days for 1 % of them, a hashtag on most tweets,
   sentiment on the English non-retweets.
2. Times ``build_report`` over every account and all days, and with ``--since`` the last 30 days;
   with ``--before``, first with the milestone views of version 6 (every snapshot at each query, put
   back for the run), then with migration 0010's kept milestones; and what 0010's triggers add to
   a load of 1 %, 0.1 % (the 8-day curves) and all of the snapshots.
3. Exports ``fact_tweet`` and ``fact_tweet_metrics`` as Parquet (ADBC, and the text-COPY fallback)
   and as CSV (formulas neutralised, and raw), and times ``COPY (SELECT …) TO STDOUT`` of the same
   tables (text and CSV) into a file, the reference: interleaved in one run, best of ``--repeats``
   (a shared machine's load moves every figure; the ratio is what to read).

    .venv/bin/python bench/analytics_bench.py [--tweets 1000000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import settings  # noqa: E402

SCHEMA = "bench_analytics"
OUT = ROOT / "bench" / "out"


def fill(conn: object, tweets: int, curve_percent: int = 1) -> float:
    from common.warehouse.migrate import migrate

    started = time.perf_counter()
    conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")  # type: ignore[attr-defined]
    migrate(conn, SCHEMA)
    sql = f"""
    SET search_path TO {SCHEMA};
    SELECT ensure_dim_date('2025-09-01', '2026-12-31');
    INSERT INTO dim_user (user_id, username, name, valid_from, is_current)
      SELECT 10000 + a, 'account' || a, 'Account ' || a, '2025-09-01', true FROM generate_series(0, 499) a;
    INSERT INTO fact_user_daily (user_id, date_key, followers_count, following_count, tweet_count, collected_at)
      SELECT 10000 + a, to_char(d, 'YYYYMMDD')::int, 1000 + a * 10 + (d::date - '2026-09-01'::date) * (a % 7),
             100, 1000, d + interval '1 hour'
      FROM generate_series(0, 499) a, generate_series('2026-09-01'::date, '2026-10-30'::date, '1 day') d;
    INSERT INTO fact_tweet (tweet_id, author_id, created_at, date_key, lang, text, tweet_type, sentiment_compound,
                            sentiment_label, first_collected_at, last_collected_at)
      SELECT g, 10000 + g % 500, c, to_char(c AT TIME ZONE 'UTC', 'YYYYMMDD')::int,
             (ARRAY['en', 'en', 'en', 'de', 'fr'])[1 + g % 5], 'tweet text number ' || g,
             (ARRAY['original', 'original', 'reply', 'quote', 'retweet'])[1 + (g / 5) % 5],
             CASE WHEN g % 5 < 3 AND (g / 5) % 5 <> 4 THEN ((g % 201) - 100) / 100.0 END,
             CASE WHEN g % 5 < 3 AND (g / 5) % 5 <> 4 THEN
               CASE WHEN (g % 201) - 100 >= 5 THEN 'positive' WHEN (g % 201) - 100 <= -5 THEN 'negative'
                    ELSE 'neutral' END END,
             c + interval '1 hour', c + interval '1 hour'
      FROM generate_series(1, {tweets}) g,
           LATERAL (SELECT '2026-11-20'::timestamptz - (g % 400) * interval '1 day'
                           - (g % 86400) * interval '1 s') t(c);
    INSERT INTO fact_tweet_metrics (tweet_id, collected_at, date_key, like_count, retweet_count, reply_count,
                                    quote_count, impression_count)
      SELECT tweet_id, last_collected_at, to_char(last_collected_at AT TIME ZONE 'UTC', 'YYYYMMDD')::int,
             tweet_id % 1000, tweet_id % 100, tweet_id % 30, tweet_id % 10, tweet_id % 100000
      FROM fact_tweet;
    INSERT INTO fact_tweet_metrics (tweet_id, collected_at, date_key, like_count, retweet_count, reply_count,
                                    quote_count, impression_count)
      SELECT t.tweet_id, t.created_at + h * interval '2 hours' + interval '7 minutes',
             to_char((t.created_at + h * interval '2 hours') AT TIME ZONE 'UTC', 'YYYYMMDD')::int,
             (100 * (1 - exp(-h / 12.0)))::int, (10 * (1 - exp(-h / 12.0)))::int, 3, 1,
             (10000 * (1 - exp(-h / 10.0)))::int
      FROM fact_tweet t, generate_series(1, 96) h WHERE t.tweet_id % 100 < {curve_percent}
      ON CONFLICT DO NOTHING;
    INSERT INTO tweet_hashtag (tweet_id, tag)
      SELECT tweet_id, (ARRAY['AI', 'Space', 'Data', 'News', 'Python', 'Cloud'])[1 + tweet_id % 6]
      FROM fact_tweet WHERE tweet_id % 4 <> 0;
    ANALYZE;
    """
    conn.execute(sql)  # type: ignore[attr-defined]
    return time.perf_counter() - started


def copy_reference(conn: object, table: str, fmt: str, path: Path) -> tuple[int, float]:
    started = time.perf_counter()
    statement = f"COPY (SELECT * FROM {SCHEMA}.{table}) TO STDOUT (FORMAT {fmt})"
    with path.open("wb") as out, conn.cursor() as cur:  # type: ignore[attr-defined]
        with cur.copy(statement) as copy:
            for chunk in copy:
                out.write(chunk)
        seconds = time.perf_counter() - started
        rows = int(cur.rowcount)
    return rows, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tweets", type=int, default=1_000_000)
    parser.add_argument(
        "--curve-percent",
        type=int,
        default=1,
        help="tweets with a 2-hourly curve over 8 days (96 snapshots each): 1 gives 1.96 M snapshots"
        " at 1 M tweets, 10 gives 10.6 M",
    )
    parser.add_argument("--database-url", default=settings.load().database_url)
    parser.add_argument("--keep", action="store_true", help="reuse the filled schema if it exists")
    parser.add_argument("--skip-report", action="store_true", help="time the exports only")
    parser.add_argument("--repeats", type=int, default=3, help="export timings: best of this many runs")
    parser.add_argument("--skip-export", action="store_true", help="time the report only")
    parser.add_argument("--skip-triggers", action="store_true", help="do not time what the triggers add to a load")
    parser.add_argument(
        "--before", action="store_true", help="time the report with version 6's full-scan milestone views too"
    )
    args = parser.parse_args()

    os.environ.setdefault("TWEETLAKE_HOME", str(OUT / "home"))
    import psycopg

    from tweetlake import localdb

    url = args.database_url or localdb.start(durable=False)
    print("database:", "the URL given" if args.database_url else "embedded PostgreSQL, fsync off (benchmark only)")
    with psycopg.connect(url, autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.fact_tweet",)).fetchone()[0]
        if args.keep and exists:
            print(f"reusing schema {SCHEMA}")
        else:
            print(f"filled {SCHEMA} with {args.tweets:,} tweets in {fill(conn, args.tweets, args.curve_percent):.1f}s")
        counts = {
            t: conn.execute(f"SELECT count(*) FROM {SCHEMA}.{t}").fetchone()[0]
            for t in ("fact_tweet", "fact_tweet_metrics", "tweet_hashtag", "fact_user_daily")
        }
        print("rows:", ", ".join(f"{t} {n:,}" for t, n in counts.items()))

        if not args.skip_report:
            if args.before:
                with version_6_milestone_views(conn):
                    print("\nBEFORE: version 6's milestone views, from every snapshot")
                    report_figures(conn, url)
                print("\nAFTER: migration 0010's kept milestones")
            report_figures(conn, url)
            if not args.skip_triggers:
                trigger_figures(conn)
        if not args.skip_export:
            export_figures(conn, args.repeats)
    return 0


@contextlib.contextmanager
def version_6_milestone_views(conn: Any) -> Iterator[None]:
    """Version 6's ``v_tweet_metric_milestones`` and ``v_metric_growth_share`` (same columns) in place
    of migration 0010's, put back after."""
    from common.warehouse.migrate import MIGRATIONS_DIR

    def statements(migration: str) -> list[str]:
        text = (MIGRATIONS_DIR / migration).read_text()
        return [
            re.sub(r"^CREATE (OR REPLACE )?VIEW", "CREATE OR REPLACE VIEW", found.group(0))
            for name in ("v_tweet_metric_milestones", "v_metric_growth_share")
            if (found := re.search(rf"^CREATE (OR REPLACE )?VIEW {name} AS\n.*?;\n", text, re.DOTALL | re.MULTILINE))
        ]

    old, kept = statements("0006_analyst_views.sql"), statements("0010_kept_milestones.sql")
    assert len(old) == len(kept) == 2
    conn.execute(f"SET search_path TO {SCHEMA}, public")
    for statement in old:
        conn.execute(statement)
    try:
        yield
    finally:
        conn.execute(f"SET search_path TO {SCHEMA}, public")
        for statement in kept:
            conn.execute(statement)
        conn.execute("RESET search_path")


def trigger_figures(conn: Any) -> None:
    """What migration 0010's triggers add to a load: snapshots deleted, then inserted again with and
    without the trigger that keeps the milestones, each in a rolled-back transaction."""
    print("\nloading snapshots again, with and without 0010's insert trigger (rolled back)")
    for label, tweets in (
        ("1 % of the tweets, 1 snapshot each", "tweet_id % 100 = 1"),
        ("0.1 % of the tweets, 97 snapshots each", "tweet_id % 1000 = 0"),
        ("every tweet (a first full load)", "true"),
    ):
        seconds = {}
        for keep in (False, True):
            with conn.transaction(force_rollback=True):
                conn.execute(f"SET LOCAL search_path TO {SCHEMA}, public")
                conn.execute(
                    f"CREATE TEMP TABLE again ON COMMIT DROP AS SELECT * FROM fact_tweet_metrics WHERE {tweets}"
                )
                conn.execute(f"DELETE FROM fact_tweet_metrics WHERE {tweets}")
                if not keep:
                    conn.execute("ALTER TABLE fact_tweet_metrics DISABLE TRIGGER fact_tweet_metrics_milestones_insert")
                started = time.perf_counter()
                rows = conn.execute("INSERT INTO fact_tweet_metrics SELECT * FROM again").rowcount
                seconds[keep] = time.perf_counter() - started
        print(f"  {label:<40} {rows:>9,} rows  without {seconds[False]:6.2f}s  with {seconds[True]:6.2f}s")


def report_figures(conn: Any, url: str) -> None:
    import psycopg

    from analytics.report import CHARTS, build_report
    from analytics.scope import resolve

    print("\nreport queries, one at a time (every account, all days)")
    conn.execute(f"SET search_path TO {SCHEMA}, public")
    scope = resolve(conn, SCHEMA)
    for chart in CHARTS:
        sql, params = chart.query(scope)
        started = time.perf_counter()
        found = len(conn.execute(sql, params).fetchall())
        print(f"  {chart.id:<12} {time.perf_counter() - started:7.2f}s  {found:>7,} rows")
    conn.execute("RESET search_path")
    print("\nreport (build_report: every query in one snapshot, plotly figures, HTML)")
    build_report(conn, resolve(conn, SCHEMA, (), date(2026, 10, 29)))  # plotly's imports, not timed below
    with psycopg.connect(url, autocommit=True) as second:
        periods = (("every account, all days", None), ("every account, since 2026-10-21", date(2026, 10, 21)))
        for label, since in periods:
            for lanes, other in (("one connection", None), ("two connections", second)):
                started = time.perf_counter()
                page = build_report(conn, resolve(conn, SCHEMA, (), since), second=other)
                seconds = time.perf_counter() - started
                print(f"  {label:<32} {lanes:<16} {seconds:6.2f}s  {len(page.encode()) / 1e6:.1f} MB")
    out = Path(tempfile.mkdtemp()) / "report.html"
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "tweetlake.cli", "report", "--schema", SCHEMA, "--database-url", url, "--out", str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"  `tweetlake report`, a new process (imports, connections, the file): {time.perf_counter() - started:.2f}s")
    out.unlink()
    out.parent.rmdir()


def export_figures(conn: Any, repeats: int) -> None:
    import resource

    from analytics.export import ExportOptions, export

    candidates = {
        "parquet": ExportOptions(fmt="parquet"),
        "parquet, text COPY": ExportOptions(fmt="parquet", use_adbc=False),
        "csv": ExportOptions(fmt="csv"),
        "csv, raw": ExportOptions(fmt="csv", neutralise_formulas=False),
    }
    print(f"\nexport vs COPY … TO STDOUT into a local file: best of {repeats}, reference and candidates interleaved")
    with tempfile.TemporaryDirectory(prefix="tweetlake-bench-export-") as tmp:
        work = Path(tmp)
        for table in ("fact_tweet", "fact_tweet_metrics"):
            best: dict[str, float] = {}
            rows = 0
            for _ in range(repeats):
                for label, fmt in (("COPY text", "text"), ("COPY csv", "csv")):
                    rows, seconds = copy_reference(conn, table, fmt, work / f"{table}.{fmt}")
                    best[label] = min(best.get(label, seconds), seconds)
                for label, options in candidates.items():
                    opts = ExportOptions(**{**options.__dict__, "relations": (table,)})
                    started = time.perf_counter()
                    result = export(conn, SCHEMA, str(work / label.replace(", ", "-")), opts)
                    seconds = time.perf_counter() - started
                    assert result.rows == rows, (label, result.rows, rows)
                    best[label] = min(best.get(label, seconds), seconds)
            reference = best["COPY text"]
            for label, seconds in best.items():
                print(
                    f"  {table:<19} {label:<19} {rows:>10,} rows {seconds:7.2f}s {rows / seconds:>10,.0f} rows/s"
                    f"  {seconds / reference:5.2f}× COPY text"
                )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak resident memory of this process: {peak:,.0f} MB")


if __name__ == "__main__":
    raise SystemExit(main())
