"""The Amazon provider's Glue operators, held to one rule: start the stack's crawler and job by
name, never create or change them (``cloudformation/tweetlake.yaml`` owns them).

* the crawl: ``GlueCrawlerRunOperator`` (provider 9.x; it only starts an existing crawler). Older
  9.x releases lack it: there ``GlueCrawlerOperator`` with ``config={"Name": …}`` is used, which
  compares that one-key config with the crawler's and so changes nothing.
* the load: ``GlueJobOperator`` with ``update_config=False`` and a check that the job exists
  first (the operator would otherwise try to create a missing one), deferrable; when the run has
  succeeded, the job's summary line (files, rows, quarantined), which the entry script prints to
  the run's output log, is copied into the task log and returned as the task's XCom.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.operators.glue import GlueJobOperator
from airflow.sdk.exceptions import AirflowFailException

from tweetlake_airflow.tasks import SUMMARY_LINE

try:
    from airflow.providers.amazon.aws.operators.glue_crawler import GlueCrawlerRunOperator
except ImportError:  # provider releases before the Create/Update/Run split
    from airflow.providers.amazon.aws.operators.glue_crawler import GlueCrawlerOperator

    class GlueCrawlerRunOperator(GlueCrawlerOperator):  # type: ignore[no-redef]
        def __init__(self, *, crawler_name: str, **kwargs: Any) -> None:
            kwargs.pop("fail_on_already_running", None)  # newer than the split in some releases
            super().__init__(config={"Name": crawler_name}, **kwargs)


class StackGlueJobOperator(GlueJobOperator):
    """Starts an existing Glue job; after a successful run, logs and returns its summary."""

    def __init__(self, *, dataset: str, **kwargs: Any) -> None:
        super().__init__(update_config=False, **kwargs)
        self.dataset = dataset

    def submit_job(self, context: Any) -> str:
        if not self.hook.has_job(self.job_name):
            raise AirflowFailException(
                f"Glue job {self.job_name} does not exist: deploy the stack (scripts/deploy.sh) or set the "
                f"Variable tweetlake_stack; the DAGs start the stack's jobs, they never create one"
            )
        return super().submit_job(context)

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        run_id = super().execute_complete(context, event)
        return self.job_summary(run_id)

    def job_summary(self, run_id: str) -> dict[str, Any]:
        """The run's summary line from its output log (``<LogGroupName>/output``, stream = run id)."""
        from botocore.exceptions import ClientError

        job_run = self.hook.conn.get_job_run(JobName=self.job_name, RunId=run_id)["JobRun"]
        group = f"{job_run.get('LogGroupName') or '/aws-glue/jobs'}/output"
        logs = self.hook.logs_hook.get_conn()
        found: dict[str, Any] | None = None
        try:
            for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group, logStreamNames=[run_id]):
                for event in page.get("events", []):
                    match = SUMMARY_LINE.search(event.get("message", ""))
                    if match and match["dataset"] == self.dataset:
                        found = {
                            k: (int(v.replace(",", "")) if v.replace(",", "").isdigit() else v)
                            for k, v in match.groupdict().items()
                        }
                        self.log.info("job summary: %s", match.group(0))
        except ClientError as err:
            self.log.warning(
                "no job summary: the log %s of run %s cannot be read (%s)",
                group,
                run_id,
                err.response.get("Error", {}).get("Code"),
            )
        if found is None:
            self.log.warning("no job summary line in %s, stream %s", group, run_id)
        return {"glue_job_run_id": run_id, "job_name": self.job_name, "summary": found}
