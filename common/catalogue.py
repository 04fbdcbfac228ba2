"""The dataset catalogue: every dataset tweetlake collects and loads, declared once.

Every list of datasets iterates :data:`CATALOGUE`: the lake layout, the collectors' and the Glue
specs' registries (each side registers its own by name; ``tests/test_catalogue.py`` fails when a
side misses one), the DAGs, the demo, the report's pipeline-health panel, the AWS scripts (through
``python -m common.catalogue``) and the CloudFormation template (checked against it by that test).
Adding a dataset: ARCHITECTURE.md, "Where a change goes".

Standard library only: the shell scripts run this module with any Python 3.11.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Schedule:
    """When a dataset is collected (UTC): every ``every_hours`` from ``first_hour``:``minute``; its
    Glue workflow (crawl, then load) starts ``load_after_minutes`` after each collection."""

    every_hours: int
    first_hour: int
    minute: int
    load_after_minutes: int

    @property
    def every_seconds(self) -> int:
        return self.every_hours * 3600

    @property
    def offset_seconds(self) -> int:
        """The first run's time after midnight, in seconds."""
        return self.first_hour * 3600 + self.minute * 60

    def cron(self) -> str:
        """Five-field cron (Airflow): ``0 1 * * *``, ``10 */4 * * *``, ``20 1-23/2 * * *``."""
        return f"{self.minute} {_hours(self.first_hour, self.every_hours, '*/', '-23/')} * * *"

    def on_calendar(self) -> str:
        """systemd ``OnCalendar`` (the ingestion host's timers): ``*-*-* 00/4:10:00``."""
        hours = f"{self.first_hour:02d}" if self.every_hours == 24 else f"{self.first_hour:02d}/{self.every_hours}"
        return f"*-*-* {hours}:{self.minute:02d}:00"

    def glue_cron(self) -> str:
        """The Glue workflow's schedule, ``load_after_minutes`` after the collection: ``cron(50 0/4 * * ? *)``."""
        start = (self.offset_seconds // 60 + self.load_after_minutes) % (self.every_hours * 60)
        hours = str(start // 60) if self.every_hours == 24 else f"{start // 60}/{self.every_hours}"
        return f"cron({start % 60} {hours} * * ? *)"


@dataclass(frozen=True)
class Timeouts:
    """How long each step of one run may take (the Airflow tasks' timeouts)."""

    ingest: timedelta
    crawl: timedelta
    load: timedelta


def _hours(first: int, every: int, from_zero: str, from_first: str) -> str:
    if every == 24:
        return str(first)
    return f"{from_zero}{every}" if first == 0 else f"{first}{from_first}{every}"


@dataclass(frozen=True)
class Dataset:
    name: str
    """The one name: ``raw/<name>/`` in the lake, ``tweetlake ingest|job <name>``, the ledger's ``dataset``."""
    summary: str
    endpoints: tuple[str, ...]
    """The X API endpoints its collector reads (each billed: docs/money.md)."""
    schedule: Schedule
    stack_name: str
    """The stack's part of its Glue names: ``<stack>-<stack_name>-job``, ``-crawler``, the workflow."""
    cfn_name: str
    """The template's logical-id prefix: ``<cfn_name>Job``, ``<cfn_name>Crawler``, ``<cfn_name>Workflow``."""
    host_name: str
    """The ingestion host's name for it: ``tweetlake-ingest@<host_name>`` and ``<Host_name>IngestOnCalendar``."""
    tables: tuple[str, ...]
    """The warehouse tables its Glue job writes."""
    freshness: tuple[str, str]
    """(table, column): when the newest collection the warehouse holds was made (the report's health panel)."""
    timeouts: Timeouts
    aliases: tuple[str, ...] = ()

    @property
    def entry_script(self) -> str:
        """The Glue entry script, ``glue_jobs/<entry_script>``, uploaded by ``scripts/package.sh``."""
        return f"{self.name}_job.py"

    @property
    def last_collection_sql(self) -> str:
        table, column = self.freshness
        return f"SELECT max({column}) FROM {table}"

    @property
    def cadence(self) -> str:
        return "daily" if self.schedule.every_hours == 24 else f"every {self.schedule.every_hours} h"

    def job_name(self, stack: str) -> str:
        return f"{stack}-{self.stack_name}-job"

    def crawler_name(self, stack: str) -> str:
        return f"{stack}-{self.stack_name}-crawler"

    def workflow_name(self, stack: str) -> str:
        return f"{stack}-{self.stack_name}"


CATALOGUE: tuple[Dataset, ...] = (
    Dataset(
        name="users",
        summary="profiles of the tracked accounts",
        endpoints=("GET /2/users/by", "GET /2/users"),
        schedule=Schedule(every_hours=24, first_hour=1, minute=0, load_after_minutes=90),
        stack_name="users",
        cfn_name="Users",
        host_name="users",
        tables=("dim_user", "user_profile_snapshot", "fact_user_daily"),
        freshness=("fact_user_daily", "collected_at"),
        # ⌈N/100⌉ lookups; a spent window waits at most 15½ minutes, renewed in slices
        timeouts=Timeouts(ingest=timedelta(minutes=45), crawl=timedelta(minutes=30), load=timedelta(minutes=60)),
    ),
    Dataset(
        name="tweets",
        summary="posts of the tracked accounts",
        endpoints=("GET /2/users/:id/tweets", "GET /2/tweets/search/all"),
        schedule=Schedule(every_hours=4, first_hour=0, minute=10, load_after_minutes=40),
        stack_name="tweets",
        cfn_name="Tweets",
        host_name="tweets",
        tables=(
            "fact_tweet",
            "tweet_hashtag",
            "tweet_cashtag",
            "tweet_mention",
            "tweet_url",
            "tweet_reference",
            "tweet_edit_link",
            "fact_tweet_metrics",
        ),
        freshness=("fact_tweet", "last_collected_at"),
        # a first backfill pages 3,200 tweets an account; later runs only what is new
        timeouts=Timeouts(ingest=timedelta(hours=3), crawl=timedelta(minutes=30), load=timedelta(minutes=90)),
    ),
    Dataset(
        name="tweet_metrics",
        summary="public metrics of the collected posts",
        endpoints=("GET /2/tweets",),
        schedule=Schedule(every_hours=2, first_hour=1, minute=20, load_after_minutes=40),
        stack_name="tweet-metrics",
        cfn_name="TweetMetrics",
        host_name="metrics",
        # and fact_tweet: deletions and edits
        tables=("fact_tweet_metrics", "tweet_edit_link", "tweet_deletion", "fact_tweet"),
        freshness=("fact_tweet_metrics", "collected_at"),
        # must end before the next run, two hours later
        timeouts=Timeouts(ingest=timedelta(minutes=75), crawl=timedelta(minutes=20), load=timedelta(minutes=40)),
        aliases=("metrics",),
    ),
)
"""Every dataset, in the order ``tweetlake job all`` loads them."""

NAMES: tuple[str, ...] = tuple(d.name for d in CATALOGUE)
ALIASES: dict[str, str] = {alias: d.name for d in CATALOGUE for alias in d.aliases}
"""Other spellings a face accepts (``tweetlake ingest metrics`` = ``tweet_metrics``)."""


def dataset(name: str) -> Dataset:
    """A dataset by its name, an alias, its stack name or its host name; ``KeyError`` otherwise."""
    for d in CATALOGUE:
        if name in (d.name, d.stack_name, d.host_name, *d.aliases):
            return d
    raise KeyError(name)


_USAGE = """usage: python -m common.catalogue names | entry-scripts | resource DATASET job|crawler|workflow STACK"""


def main(argv: list[str]) -> int:
    """What the shell scripts ask: the names, the entry scripts, a dataset's Glue resource name."""
    if argv == ["names"]:
        print("\n".join(NAMES))
    elif argv == ["entry-scripts"]:
        print("\n".join(d.entry_script for d in CATALOGUE))
    elif len(argv) == 4 and argv[0] == "resource" and argv[2] in ("job", "crawler", "workflow"):
        try:
            found = dataset(argv[1])
        except KeyError:
            return 1
        print(getattr(found, f"{argv[2]}_name")(argv[3]))
    else:
        print(_USAGE, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
