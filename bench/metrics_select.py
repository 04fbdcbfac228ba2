"""Benchmark: the metrics run at 10,000,000 known tweets — peak RSS and the wall time to select due tweets.

1. Builds (once; reused from ``bench/out/metrics-select-<N>/``) a lake whose tweet index holds
   ``--tweets`` known tweets of ``--authors`` accounts, created evenly since 2022-06-01, each last
   refreshed as the old default policy (``0-2d:2h,2d-7d:12h,7d-30d:1d,30d+:7d``) would have left it in
   a steady state (a random point within its tier's interval).
2. In a fresh process, times the phases of a metrics run: load the index, index new raw files
   (none), select the due tweets with the policy (youngest first), then a real metrics run against
   the simulator (its own process, so its memory is not counted) with ``--budget-reads`` so that it
   asks only the youngest due tweets, and the index save. Prints the figures and the process's peak
   RSS (the issue's bar: under 1 GB at 10,000,000 known tweets).

    .venv/bin/python bench/metrics_select.py [--tweets 10000000] [--authors 2000] [--budget-reads 20000]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from array import array
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
NOW = "2026-11-22T12:00:00Z"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(lake_dir: Path, tweets: int, authors: int) -> None:
    from common.lake import Lake
    from ingestion.policy import DEFAULT_POLICY, Policy
    from ingestion.tweet_index import SNOWFLAKE_EPOCH_MS, TweetIndex

    started = time.monotonic()
    now = int(datetime.fromisoformat(NOW.replace("Z", "+00:00")).timestamp())
    first = int(datetime(2022, 6, 1, tzinfo=UTC).timestamp())
    step = (now - 3600 - first) / tweets
    policy = Policy.parse(DEFAULT_POLICY)
    rng = random.Random(1)
    index = TweetIndex()
    index.created = array("I", (first + int(i * step) for i in range(tweets)))
    index.ids = array(
        "q", (((c * 1000 - SNOWFLAKE_EPOCH_MS) << 22) + (i & 0x3FFFFF) for i, c in enumerate(index.created))
    )
    index.authors = array("q", (1_000_000 + (i * 7919) % authors for i in range(tweets)))
    refreshed = array("I")
    for created in index.created:
        interval = policy.interval(now - created) or 0
        refreshed.append(max(created, now - int(rng.random() * interval)))
    index.refreshed = refreshed
    index.deleted = array("B", bytes(tweets))
    index.complete_before = "2026-11-22"
    lake = Lake.from_uri(lake_dir.as_uri())
    index.save(lake)
    (lake_dir / "authors.json").write_text(json.dumps({"authors": authors, "tweets": tweets}))
    print(
        f"generated {tweets:,} known tweets in {time.monotonic() - started:.0f} s "
        f"(index {lake.size('state/tweet_index/index.v3.bin') / 2**20:.0f} MiB)"
    )


def measure(lake_dir: Path, base_url: str, budget_reads: int) -> None:
    from common.lake import Lake
    from ingestion.client import XClient
    from ingestion.collectors.metrics import MetricsCollector
    from ingestion.policy import DEFAULT_POLICY, Policy
    from ingestion.tweet_index import TweetIndex
    from ingestion.usage import Budget, Meter, RunUsage

    lake = Lake.from_uri(lake_dir.as_uri())
    now_dt = datetime.fromisoformat(NOW.replace("Z", "+00:00"))
    policy = Policy.parse(DEFAULT_POLICY)
    figures: dict[str, str] = {"peak RSS before": f"{rss_mb():.0f} MB"}
    t0 = time.monotonic()
    index = TweetIndex.load(lake)
    figures["load index"] = f"{time.monotonic() - t0:.1f} s ({len(index):,} tweets, RSS {rss_mb():.0f} MB)"
    t0 = time.monotonic()
    read = index.refresh_from_lake(lake)
    figures["index new raw files"] = f"{time.monotonic() - t0:.2f} s ({read} files)"
    t0 = time.monotonic()
    due = index.due(int(now_dt.timestamp()), policy)
    figures["select due (policy)"] = f"{time.monotonic() - t0:.1f} s ({len(due):,} due, RSS {rss_mb():.0f} MB)"
    del index, due

    # the whole run, as ingestion.run drives it, with a budget that lets it ask the youngest only
    client = XClient("bench-token-0123456789", base_url, now=lambda: now_dt)
    collector = MetricsCollector(lake, client)
    meter = Meter(lake, collector.dataset, collector.run_id, client.now, budget=Budget(reads=budget_reads))
    collector.meter = meter
    client.before_request, client.on_page = meter.guard, meter.record
    t0 = time.monotonic()
    summary = collector.run(None, policy=policy)
    meter.flush()
    summary.usage = RunUsage.of(meter)
    figures["metrics run (load, select, ask, save)"] = f"{time.monotonic() - t0:.1f} s"
    print(summary.render())
    print("--- metrics run at scale ---")
    for key, value in figures.items():
        print(f"{key:40s} {value}")
    print(f"{'peak RSS (the run)':40s} {rss_mb():.0f} MB   (bar: < 1 GB at 10,000,000 known tweets)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tweets", type=int, default=10_000_000)
    parser.add_argument("--authors", type=int, default=2000)
    parser.add_argument("--budget-reads", type=int, default=20_000)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--phase", choices=["generate", "measure"], help=argparse.SUPPRESS)
    parser.add_argument("--lake-dir", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "generate":
        generate(Path(args.lake_dir), args.tweets, args.authors)
        return 0
    if args.phase == "measure":
        measure(Path(args.lake_dir), args.base_url, args.budget_reads)
        return 0

    lake_dir = ROOT / "bench" / "out" / f"metrics-select-{args.tweets}" / "lake"
    if args.regenerate or not (lake_dir / "state" / "tweet_index" / "index.v3.bin").exists():
        lake_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--phase",
                "generate",
                "--lake-dir",
                str(lake_dir),
                "--tweets",
                str(args.tweets),
                "--authors",
                str(args.authors),
            ],
            check=True,
        )
    port = free_port()
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tweetlake.cli",
            "simulator",
            "--port",
            str(port),
            "--seed",
            "1",
            "--accounts",
            "4",
            "--now",
            NOW,
            "--frozen",
            "--rate-limit",
            "GET /2/tweets=100000",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{base}/_sim/world", timeout=2)  # noqa: S310
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit("simulator did not start")
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--phase",
                "measure",
                "--lake-dir",
                str(lake_dir),
                "--base-url",
                f"{base}/2",
                "--budget-reads",
                str(args.budget_reads),
            ],
            check=True,
        )
    finally:
        sim.send_signal(signal.SIGINT)
        sim.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
