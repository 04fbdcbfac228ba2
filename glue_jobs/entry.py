"""The one body of the Glue entry scripts: arguments, context, the dataset's run, commit.

Each ``*_job.py`` (the Glue ``ScriptLocation``) is ``main("<dataset>")`` under
``if __name__ == "__main__"``; the steps of a run are :meth:`glue_jobs.runner.WarehouseJob.run`.
"""

from __future__ import annotations

from collections.abc import Sequence

from common.lake import Lake
from glue_jobs.glue_context import start_run, warehouse_target
from glue_jobs.runner import WarehouseJob


def main(dataset: str, argv: Sequence[str] | None = None) -> None:
    """Load ``raw/<dataset>/`` into the warehouse with the job's arguments (``sys.argv`` by default)."""
    run = start_run(argv)
    with WarehouseJob(dataset, Lake.from_uri(run.args["lake_uri"]), warehouse_target(run.args), run.options) as job:
        summary = job.run(run.spark)
    print(summary.describe())
    run.commit()
