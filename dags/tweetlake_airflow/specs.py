"""What each tweetlake DAG is, as plain data: schedule, timeouts, the stack's names. No Airflow here.

One DAG per dataset of the catalogue (``common/catalogue.py``), on its schedule: the minutes the
stack's own timers use, so moving from the timers to Airflow changes no run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from common.catalogue import CATALOGUE, Dataset

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
    dataset: str  # common.catalogue.NAMES
    schedule: str  # cron, UTC
    stack_base: str  # the stack's name for the dataset's crawler and job (common.catalogue)
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


def _spec(d: Dataset) -> DagSpec:
    return DagSpec(
        d.name,
        d.schedule.cron(),
        d.stack_name,
        ingest_timeout=d.timeouts.ingest,
        crawl_timeout=d.timeouts.crawl,
        load_timeout=d.timeouts.load,
        description=f"{d.summary} ({d.cadence}): raw/{d.name} -> {', '.join(d.tables)}",
    )


SPECS: tuple[DagSpec, ...] = tuple(_spec(d) for d in CATALOGUE)
