"""The bodies of the DAGs' Python tasks and their failure callback: run by a worker, never at parse time.

Each body calls tweetlake's own domain functions — :func:`ingestion.run.run` and
:func:`ingestion.run.outcome` for the collectors, :func:`glue_jobs.runner.run_job` for the local
warehouse job — so a DAG run and ``tweetlake ingest`` / ``tweetlake job`` behave alike and fail with
the same words. Everything heavy (the client, Spark, the database) is imported inside the bodies.

Settings a run reads (at run time, never at parse time):

* the bearer token: the Airflow connection ``x_api`` (its password; its host, when set, is another
  X API server such as the simulator), which Airflow may serve from a secrets backend (Secrets
  Manager on MWAA); without that connection, tweetlake's own ``X_BEARER_TOKEN`` /
  ``X_BEARER_TOKEN_SECRET_ARN`` and ``X_API_BASE_URL``;
* Variables with defaults: ``tweetlake_lake`` (default ``TWEETLAKE_LAKE``, else the local lake
  folder), ``tweetlake_db_schema`` (default ``TWEETLAKE_DB_SCHEMA``, else ``twitter``),
  ``tweetlake_metrics_max_age_days`` (default: none), ``tweetlake_metrics_policy`` (default
  ``TWEETLAKE_METRICS_POLICY``, else the command's default tiers) and ``tweetlake_budget_usd``
  (the monthly X API budget; default ``TWEETLAKE_BUDGET_USD``, else $150, as the command's).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from tweetlake_airflow.specs import X_API_CONNECTION

log = logging.getLogger("tweetlake.airflow")

SUMMARY_LINE = re.compile(
    r"(?P<dataset>\w+) run (?P<run_id>\S+): (?P<files>[\d,]+) new files? in (?P<partitions>[\d,]+) partitions?.*?; "
    r"(?P<rows_loaded>[\d,]+) rows? loaded, (?P<rows_api_errors>[\d,]+) API error records?, "
    r"(?P<rows_quarantined>[\d,]+) lines? quarantined"
)
"""The line a job prints at its end (:meth:`glue_jobs.summary.JobSummary.describe`)."""


# -- settings, read when a task runs ------------------------------------------------------------
def variable(name: str, default: str | None) -> str | None:
    from airflow.sdk import Variable

    value = Variable.get(name, default=default)
    return None if value in (None, "") else str(value)


def lake_uri() -> str:
    from common.settings import load

    return variable("tweetlake_lake", load().lake_uri) or load().lake_uri


def db_schema() -> str:
    from common.settings import load

    return variable("tweetlake_db_schema", load().db_schema) or load().db_schema


def x_client() -> Any:
    """The X API client with the token of the ``x_api`` connection (or tweetlake's own settings)."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    from common.settings import load
    from ingestion.client import XClient
    from ingestion.errors import ConfigurationError

    try:
        conn = BaseHook.get_connection(X_API_CONNECTION)
    except AirflowNotFoundException:
        log.info(
            "no Airflow connection %r: the token comes from X_BEARER_TOKEN or X_BEARER_TOKEN_SECRET_ARN",
            X_API_CONNECTION,
        )
        return XClient.from_env()
    if not conn.password:
        raise ConfigurationError(f"the Airflow connection {X_API_CONNECTION!r} has no password (the bearer token)")
    host = (conn.host or "").strip()
    base_url = host if "://" in host else load().api_base_url
    return XClient(conn.password, base_url)


# -- the tasks --------------------------------------------------------------------------------------
def run_summary(summary: Any) -> dict[str, Any]:
    """What the ingest task hands to the load task through XCom (small, JSON)."""
    return {
        "dataset": summary.dataset,
        "run_id": summary.run_id,
        "requests": sum(summary.requests.values()),
        "requests_by_endpoint": dict(sorted(summary.requests.items())),
        # every object returned is a post or a user read; X bills each at most once per UTC day
        "reads": summary.records,
        "records": summary.records,
        # what the usage ledger counted by X's rules (unique per UTC day) and what it added to the bill
        "billed": summary.usage.new.as_dict() if summary.usage is not None else None,
        "billed_usd": round(summary.usage.usd, 4) if summary.usage is not None else None,
        "month_to_date_usd": round(summary.usage.month_usd, 2) if summary.usage is not None else None,
        "partial_errors": summary.partial_errors,
        "files": list(summary.files),
        "failed_accounts": dict(sorted(summary.failed.items())),
        "unavailable": len(summary.unavailable),
    }


def ingest(dataset: str, max_age_days: str | None = None) -> dict[str, Any]:
    """One collector run, as ``tweetlake ingest <dataset>`` does it; its summary goes to XCom.

    A run that ends badly raises with :func:`ingestion.run.outcome`'s message: at once for good
    (no retry) when retrying cannot help (configuration, bad token, usage cap), else to be retried.
    When some accounts kept failing, what the others collected is published and committed, and the
    summary is still pushed (key ``summary``) before the task fails, so the failure names them.
    """
    from airflow.sdk import get_current_context
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

    from common.lake import Lake
    from common.settings import load
    from ingestion.policy import DEFAULT_POLICY
    from ingestion.run import ExitCode, RunOptions, outcome, run
    from ingestion.usage import budget_usd

    settings = load()
    is_metrics = dataset == "tweet_metrics"
    metrics_age = variable("tweetlake_metrics_max_age_days", max_age_days) if is_metrics else None
    policy = variable("tweetlake_metrics_policy", settings.metrics_policy or DEFAULT_POLICY) if is_metrics else None
    budget = variable("tweetlake_budget_usd", str(settings.budget_usd) if settings.budget_usd is not None else None)
    lake = Lake.from_uri(lake_uri())
    client = x_client()
    try:
        options = RunOptions.parse(
            max_age_days=float(metrics_age) if metrics_age else None,
            policy=policy,
            budget_usd=budget_usd(float(budget) if budget else None, settings.budget_usd),
        )
        summary = run(dataset, lake, client, options)
    except Exception as err:
        failed = outcome(err)
        if failed is None:
            raise  # a bug: its traceback belongs in the log
        message = f"tweetlake ingest {dataset}: exit {int(failed.code)} ({failed.code.name}): {failed.message}"
        if failed.code == ExitCode.BUDGET_REACHED:  # a known stop: told once a month, then skipped
            from datetime import UTC, datetime

            from airflow.sdk.exceptions import AirflowSkipException

            from ingestion.usage import first_budget_stop

            if first_budget_stop(lake, datetime.now(UTC).date()):
                raise AirflowFailException(f"{message} (said once this month; later runs are skipped)") from None
            raise AirflowSkipException(message) from None
        if failed.code in (ExitCode.USAGE, ExitCode.FATAL_API):
            raise AirflowFailException(message) from None
        raise AirflowException(message) from None
    finally:
        client.close()
    log.info("%s", summary.render())
    result = run_summary(summary)
    verdict = outcome(summary)
    if verdict.code != ExitCode.OK:
        get_current_context()["ti"].xcom_push(key="summary", value=result)
        raise AirflowException(
            f"tweetlake ingest {dataset}: exit {int(verdict.code)} ({verdict.code.name}): {verdict.message}"
        )
    return result


def crawl_local(dataset: str) -> dict[str, Any]:
    """The local stand-in for the Glue crawler: there is no catalog locally, so it lists the
    dataset's ``dt=`` partitions (what the crawler would add as partitions) and says so."""
    from common.lake import Lake
    from common.layout import list_partitions, raw_prefix

    lake_address = lake_uri()
    partitions = list_partitions(Lake.from_uri(lake_address), dataset)
    newest = max(partitions).isoformat() if partitions else None
    log.info(
        "local catalog: %s%s holds %d dt= partition(s), newest %s",
        lake_address.rstrip("/") + "/",
        raw_prefix(dataset),
        len(partitions),
        newest or "none",
    )
    return {"dataset": dataset, "partitions": len(partitions), "newest": newest}


def job_result(summary: Any) -> dict[str, Any]:
    return {
        "dataset": summary.dataset,
        "run_id": summary.run_id,
        "files": summary.files,
        "partitions_listed": summary.partitions_listed,
        "rows_loaded": summary.rows_loaded,
        "rows_api_errors": summary.rows_api_errors,
        "rows_quarantined": summary.rows_quarantined,
    }


def load_local(dataset: str) -> dict[str, Any]:
    """The dataset's warehouse job on local Spark into the embedded PostgreSQL (or
    ``TWEETLAKE_DATABASE_URL``), as ``tweetlake job <dataset>`` runs it, after the ingest run whose
    summary it takes from XCom (as the Glue variant's job run takes it in its arguments)."""
    from airflow.sdk import get_current_context

    from common.spark import build_local_spark
    from glue_jobs.options import JobOptions
    from glue_jobs.runner import run_job
    from tweetlake import localdb

    ingest_summary = get_current_context()["ti"].xcom_pull(task_ids="ingest")
    if ingest_summary:
        log.info(
            "after ingest run %s: %d record(s) in %d file(s), %d request(s)",
            ingest_summary.get("run_id"),
            ingest_summary.get("records", 0),
            len(ingest_summary.get("files", ())),
            ingest_summary.get("requests", 0),
        )
    sessions: list[Any] = []

    def spark() -> Any:  # started only when there is something to read: a run with nothing new starts no JVM
        sessions.append(build_local_spark(f"tweetlake-airflow-{dataset}"))
        return sessions[-1]

    try:
        summary = run_job(dataset, lake_uri(), localdb.database_url(), JobOptions(schema=db_schema()), spark)
    finally:
        for session in sessions:
            session.stop()
    log.info("job summary: %s", summary.describe())
    return job_result(summary)


def on_failure(context: Any) -> None:
    """One line that says what failed: the DAG, the task, the run, and the accounts or files."""
    ti = context["ti"]
    exception = context.get("exception")
    what = str(exception) if exception is not None else "no exception recorded"
    details = []
    if ti.task_id == "ingest":
        summary = ti.xcom_pull(task_ids="ingest", key="summary")
        if summary and summary.get("failed_accounts"):
            details.append(
                "accounts: " + ", ".join(f"@{name} ({why})" for name, why in summary["failed_accounts"].items())
            )
    else:
        summary = ti.xcom_pull(task_ids="ingest")
        if summary and summary.get("files"):
            details.append("lake files of this run's ingest: " + ", ".join(summary["files"]))
    log.error(
        "tweetlake %s.%s failed (run %s, try %s): %s%s",
        ti.dag_id,
        ti.task_id,
        ti.run_id,
        getattr(ti, "try_number", "?"),
        what,
        ("; " + "; ".join(details)) if details else "",
    )
