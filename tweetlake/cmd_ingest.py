"""``tweetlake ingest users|tweets|metrics`` — one collector run, then its summary.

Exit status: 0 when the run collected what it could (unavailable accounts are named, not fatal);
2 for a configuration or usage error; 3 for a fatal API error (bad token, usage cap, no access);
4 when another run of the same collector holds the lock; 5 when the API kept failing past the retries
(or a rate limit is spent for longer than the longest wait, e.g. a daily one);
6 when some accounts kept failing (named in the summary; every other account was collected and its
cursor committed, theirs stay for the next run); 7 when the lake (folder or S3) failed.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Iterator

from common.lake import Lake, LakeError
from common.layout import parse_time
from common.logs import configure_logging
from common.settings import default_lake_uri
from ingestion.client import ConfigurationError, FatalAPIError, RetriableAPIError, XClient
from ingestion.collectors.base import CollectorRun, RunSummary
from ingestion.collectors.tweets import DEFAULT_SINCE
from ingestion.collectors.users import GONE
from ingestion.registry import Account, InvalidUsername, Registry, check_username, known_user_ids
from ingestion.state import RunLock, RunLockedError

log = logging.getLogger("tweetlake.ingest")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tweetlake ingest", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", choices=["users", "tweets", "metrics"])
    parser.add_argument("--lake", default=None, help="file:///… or s3://bucket/prefix (default: .tweetlake/lake)")
    parser.add_argument("--users", default=None,
                        help="comma-separated usernames for this run only, instead of the registry")
    parser.add_argument("--since", default=None,
                        help="tweets: first collection starts here (RFC 3339; default 2022-01-01T00:00:00Z)")
    parser.add_argument("--exclude", default=None, help="tweets: retweets,replies (default: everything)")
    parser.add_argument("--max-age-days", type=float, default=None,
                        help="metrics: refresh only tweets younger than this")
    parser.add_argument("--part-records", type=int, default=100_000,
                        help="records per raw file before it is published (and the cursor moves)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    parser.add_argument("--log-level", default="WARNING")
    return parser


UNAVAILABLE_FOR_METRICS = frozenset({*GONE, "protected"})


def select_accounts(registry: Registry, users: str | None, lake: Lake) -> list[Account]:
    """The registry's accounts, or the ``--users`` names (once each, whatever their case) with the
    ids the registry or the username → id cache already know."""
    if not users:
        return registry.list()
    tracked = {a.username.lower(): a for a in registry.list()}
    ids = known_user_ids(lake)
    chosen: dict[str, str] = {}
    for raw in users.split(","):
        if raw.strip():
            name = check_username(raw)
            chosen.setdefault(name.lower(), name)
    accounts = []
    for key, name in chosen.items():
        account = tracked.get(key) or Account(username=name)
        account.user_id = account.user_id or ids.get(key)
        accounts.append(account)
    return accounts


@contextlib.contextmanager
def _leased(lake: Lake, name: str, collector: CollectorRun, client: XClient) -> Iterator[None]:
    """Hold the collector's run lock; every page and every slice of a client wait renews it."""
    previous = client.heartbeat
    with RunLock(lake, name, collector.run_id) as lock:
        collector.heartbeat = client.heartbeat = lock.heartbeat
        try:
            yield
        finally:
            client.heartbeat = previous


def run(dataset: str, lake: Lake, client: XClient, *, users: str | None = None, since: str | None = None,
        exclude: str | None = None, max_age_days: float | None = None, progress: bool | None = None,
        part_records: int = 100_000) -> RunSummary:
    """One collector run (the CLI, the demo and tests call this)."""
    from ingestion.collectors.metrics import MetricsCollector
    from ingestion.collectors.tweets import TweetsCollector
    from ingestion.collectors.users import UsersCollector

    registry = Registry(lake)
    accounts = select_accounts(registry, users, lake)
    if not accounts:
        raise ConfigurationError("no tracked accounts: add some with `tweetlake users add NAME` or pass --users")
    # --users runs leave the registry alone (they are one-offs); registry runs keep it current.
    learn = registry if not users else None
    if dataset == "users":
        collector = UsersCollector(lake, client, progress=progress, max_records_per_file=part_records)
        with _leased(lake, "users", collector, client):
            return collector.run(accounts, learn)
    if dataset == "tweets":
        excluded = tuple(x.strip() for x in exclude.split(",") if x.strip()) if exclude else ()
        if bad := set(excluded) - {"retweets", "replies"}:
            raise ConfigurationError(f"--exclude takes retweets and/or replies, not {', '.join(sorted(bad))}")
        tweets = TweetsCollector(lake, client, since=parse_time(since) if since else DEFAULT_SINCE,
                                 exclude=excluded, progress=progress, max_records_per_file=part_records)
        with _leased(lake, "tweets", tweets, client):
            return tweets.run(accounts, learn)
    metrics = MetricsCollector(lake, client, progress=progress, max_records_per_file=part_records)
    with _leased(lake, "tweet_metrics", metrics, client):
        if users:
            from ingestion.collectors.users import resolve_user_ids

            accounts = resolve_user_ids(metrics, accounts, None)
        # Tweets of accounts the last users run saw protected, suspended or gone answer only errors:
        # asking again every 2 h spends API budget for nothing. The daily users run re-checks them.
        unavailable = sorted(a.username for a in accounts if a.status in UNAVAILABLE_FOR_METRICS)
        author_ids = {a.user_id for a in accounts if a.user_id and a.status not in UNAVAILABLE_FOR_METRICS}
        summary = metrics.run(author_ids, max_age_days)
        if unavailable:
            summary.notes.append(f"not refreshed (protected, suspended or gone at the last users run): "
                                 f"{', '.join('@' + name for name in unavailable)}")
        return summary


def _is_lake_failure(err: Exception) -> bool:
    """A lake error, an OS error of a local lake, or an S3 client's error (matched by module, not
    imported: a local lake never loads boto3)."""
    return isinstance(err, (LakeError, OSError)) or type(err).__module__.split(".")[0] in (
        "botocore", "boto3", "s3transfer")


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level.upper())
    try:
        lake = Lake.from_uri(args.lake or default_lake_uri())
        client = XClient.from_env()
        summary = run(args.dataset, lake, client, users=args.users, since=args.since, exclude=args.exclude,
                      max_age_days=args.max_age_days, progress=False if args.no_progress else None,
                      part_records=args.part_records)
    except (ConfigurationError, InvalidUsername, ValueError) as err:
        print(f"tweetlake ingest: {err}", file=sys.stderr)
        return 2
    except FatalAPIError as err:
        print(f"tweetlake ingest: fatal X API error: {err}", file=sys.stderr)
        return 3
    except RunLockedError as err:
        print(f"tweetlake ingest: {err}", file=sys.stderr)
        return 4
    except RetriableAPIError as err:
        print(f"tweetlake ingest: the X API kept failing: {err}", file=sys.stderr)
        return 5
    except Exception as err:
        if not _is_lake_failure(err):
            raise
        print(f"tweetlake ingest: the lake failed: {type(err).__name__}: {err}", file=sys.stderr)
        return 7
    print(summary.render())
    if summary.failed:
        print(f"tweetlake ingest: {len(summary.failed)} account(s) kept failing, the rest were collected: "
              + ", ".join(sorted(summary.failed)), file=sys.stderr)
        return 6
    return 0
