"""Build the tweetlake DAGs: one per dataset, ingest → crawl → load, for the Glue or the local target.

The two targets share the task graph, the schedule, the retries and the timeouts; only the crawl and
the load differ (the stack's Glue crawler and job, or a partition listing and local Spark into the
embedded PostgreSQL). Building a DAG does no I/O and reads no secret: names that depend on the
deployment (the stack) are Jinja templates that Airflow renders when the task runs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

from tweetlake_airflow import tasks
from tweetlake_airflow.specs import (
    AWS_CONNECTION,
    MAX_RETRY_DELAY,
    RETRIES,
    RETRY_DELAY,
    SPECS,
    TARGETS,
    DagSpec,
)

STACK = "{{ var.value.get('tweetlake_stack', 'tweetlake') }}"
INGEST = "ti.xcom_pull(task_ids='ingest')"


def default_args() -> dict[str, Any]:
    return {
        "owner": "tweetlake",
        "retries": RETRIES,
        "retry_delay": RETRY_DELAY,
        "retry_exponential_backoff": True,
        "max_retry_delay": MAX_RETRY_DELAY,
        "on_failure_callback": tasks.on_failure,
    }


def glue_script_args(spec: DagSpec) -> dict[str, str]:
    """The job run's arguments: the lake the ingest wrote (when the Variable names one; else the
    job's DefaultArguments say it) and the ingest run's summary, which the Glue console shows with
    the run (the entry script asks only for the arguments it knows)."""
    pull = "{{ " + INGEST
    return {
        "--tweetlake_ingest_run_id": pull + "['run_id'] }}",
        "--tweetlake_ingest_records": pull + "['records'] }}",
        "--tweetlake_ingest_requests": pull + "['requests'] }}",
        "--tweetlake_ingest_files": pull + "['files'] | length }}",
    }


def build_dag(spec: DagSpec, target: str, poll_seconds: int = 30) -> DAG:
    if target not in TARGETS:
        raise ValueError(f"TWEETLAKE_AIRFLOW_TARGET must be one of {', '.join(TARGETS)}, not {target!r}")
    with DAG(
        dag_id=spec.dag_id(),
        description=f"{spec.description} [{target}]",
        schedule=spec.schedule,
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=1,
        default_args=default_args(),
        tags=["tweetlake", target, spec.dataset],
        doc_md=__doc__,
    ) as dag:
        ingest = PythonOperator(
            task_id="ingest",
            python_callable=tasks.ingest,
            op_kwargs={"dataset": spec.dataset},
            execution_timeout=spec.ingest_timeout,
        )
        crawl: Any
        load: Any
        if target == "local":
            crawl = PythonOperator(
                task_id="crawl",
                python_callable=tasks.crawl_local,
                op_kwargs={"dataset": spec.dataset},
                execution_timeout=spec.crawl_timeout,
            )
            load = PythonOperator(
                task_id="load",
                python_callable=tasks.load_local,
                op_kwargs={"dataset": spec.dataset},
                execution_timeout=spec.load_timeout,
            )
        else:
            from tweetlake_airflow.glue import GlueCrawlerRunOperator, StackGlueJobOperator

            crawl = GlueCrawlerRunOperator(
                task_id="crawl",
                crawler_name=spec.crawler_name(STACK),
                aws_conn_id=AWS_CONNECTION,
                deferrable=True,
                poll_interval=poll_seconds,
                execution_timeout=spec.crawl_timeout,
                # a crawl already under way (the stack's own workflow, an earlier try) is waited for
                fail_on_already_running=False,
            )
            script_args = glue_script_args(spec)
            load = StackGlueJobOperator(
                task_id="load",
                dataset=spec.dataset,
                job_name=spec.job_name(STACK),
                aws_conn_id=AWS_CONNECTION,
                script_args=script_args,
                wait_for_completion=True,
                deferrable=True,
                verbose=False,
                waiter_delay=poll_seconds,
                waiter_max_attempts=max(1, int(spec.load_timeout.total_seconds() // max(poll_seconds, 1))),
                execution_timeout=spec.load_timeout,
            )
        ingest >> crawl >> load
    return dag


def build_dags(target: str, poll_seconds: int = 30) -> dict[str, DAG]:
    """Every tweetlake DAG for ``target``, by DAG id (for the DAG file's globals)."""
    return {spec.dag_id(): build_dag(spec, target, poll_seconds) for spec in SPECS}
