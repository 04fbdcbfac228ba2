"""A test-only entry: ``python -m tests.glue.kill_job DATASET LAKE_URI DATABASE_URL SCHEMA STEP`` runs
one job as ``tweetlake job`` does (local Spark) and SIGKILLs itself when the merge reaches STEP."""

from __future__ import annotations

import sys

from glue_jobs.options import JobOptions
from glue_jobs.runner import run_job
from tests.warehouse.steps import kill_at


def main(argv: list[str]) -> int:
    dataset, lake_uri, database_url, schema, step = argv
    run_job(dataset, lake_uri, database_url, JobOptions(schema=schema, on_merge_step=kill_at(step)))
    return 0  # only when the merge never reached the step


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
