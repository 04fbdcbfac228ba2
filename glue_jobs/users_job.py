"""Glue entry script: raw/users/ → the warehouse (see glue_jobs/runner.py for the steps)."""

from __future__ import annotations

from common.lake import Lake
from glue_jobs.glue_context import start_run, warehouse_target
from glue_jobs.runner import WarehouseJob

DATASET = "users"


def main() -> None:
    run = start_run()
    lake = Lake.from_uri(run.args["lake_uri"])
    target = warehouse_target(run.args)
    with WarehouseJob(
        DATASET,
        lake,
        target,
        schema=run.schema,
        full_refresh=run.full_refresh,
        staging_method=run.args.get("staging_method", "auto"),
        staging_uri=run.staging_uri,
        safety_window_days=run.safety_window_days,
    ) as job:
        if job.plan():
            parsed_df = job.read(run.spark)
            outputs = job.transform(parsed_df)
            job.load(outputs)
        elif job.full_refresh:
            job.merge()
        print(job.summary.describe())
    run.commit()


if __name__ == "__main__":
    main()
