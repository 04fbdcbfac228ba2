"""What each tweetlake DAG is, as plain data: schedule, timeouts, the stack's names. No Airflow here.

One DAG per dataset, on the seed schedules and at the minutes the stack's own timers use
(``cloudformation/tweetlake.yaml``: users at 01:00, tweets at :10 every 4 h, metrics at :20 every
2 h from 01:20), so moving from the timers to Airflow changes no run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

TARGETS = ("glue", "local")
"""Where the load runs: the stack's Glue jobs, or local Spark and the embedded PostgreSQL."""

TASKS = ("ingest", "crawl", "load")
"""Every DAG's tasks, in order: the collector run, the crawl (the catalog), the warehouse job."""

RETRIES = 3
RETRY_DELAY = timedelta(minutes=2)
MAX_RETRY_DELAY = timedelta(minutes=30)

X_API_CONNECTION = "x_api"
"""Password: the bearer token; host (optional): another X API server, e.g. the simulator."""
AWS_CONNECTION = "aws_default"


@dataclass(frozen=True)
class DagSpec:
    dataset: str  # common.layout.DATASETS
    schedule: str  # cron, UTC
    stack_base: str  # the stack's name for the dataset's crawler and job (scripts/aws_lib.sh)
    ingest_timeout: timedelta
    crawl_timeout: timedelta
    load_timeout: timedelta
    description: str

    def dag_id(self) -> str:
        return f"tweetlake_{self.dataset}"

    def crawler_name(self, stack: str) -> str:
        return f"{stack}-{self.stack_base}-crawler"

    def job_name(self, stack: str) -> str:
        return f"{stack}-{self.stack_base}-job"


SPECS: tuple[DagSpec, ...] = (
    DagSpec(
        "users",
        "0 1 * * *",
        "users",
        # ⌈N/100⌉ lookups; a spent window waits at most 15½ minutes, renewed in slices
        ingest_timeout=timedelta(minutes=45),
        crawl_timeout=timedelta(minutes=30),
        load_timeout=timedelta(minutes=60),
        description="profiles of the tracked accounts (daily): raw/users -> dim_user, fact_user_daily",
    ),
    DagSpec(
        "tweets",
        "10 */4 * * *",
        "tweets",
        # a first backfill pages 3,200 tweets an account; later runs only what is new
        ingest_timeout=timedelta(hours=3),
        crawl_timeout=timedelta(minutes=30),
        load_timeout=timedelta(minutes=90),
        description="tweets of the tracked accounts (every 4 h): raw/tweets -> fact_tweet and its entities",
    ),
    DagSpec(
        "tweet_metrics",
        "20 1-23/2 * * *",
        "tweet-metrics",
        # must end before the next run, two hours later
        ingest_timeout=timedelta(minutes=75),
        crawl_timeout=timedelta(minutes=20),
        load_timeout=timedelta(minutes=40),
        description="public metrics of the collected tweets (every 2 h): raw/tweet_metrics -> fact_tweet_metrics",
    ),
)
