"""The DAGs as Airflow parses them (in .venv-airflow): no import error, the expected tasks, order,
schedules, retries and timeouts, and no I/O or secret read while the DAG file is parsed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.airflow.conftest import AIRFLOW_VENV, DAGS, airflow_env, run

pytestmark = pytest.mark.venvs  # .venv-airflow

HERE = Path(__file__).resolve().parent
# what the DAGs must say, written out here (not read from dags/): schedule, timeouts in seconds
EXPECTED = {
    "tweetlake_users": ("0 1 * * *", {"ingest": 45 * 60, "crawl": 30 * 60, "load": 60 * 60}, "users"),
    "tweetlake_tweets": ("10 */4 * * *", {"ingest": 3 * 3600, "crawl": 30 * 60, "load": 90 * 60}, "tweets"),
    "tweetlake_tweet_metrics": (
        "20 1-23/2 * * *",
        {"ingest": 75 * 60, "crawl": 20 * 60, "load": 40 * 60},
        "tweet-metrics",
    ),
}


def inspect(home: Path, mode: str, *targets: str, **env: str) -> dict[str, Any]:
    result = run(
        [str(AIRFLOW_VENV / "bin" / "python"), str(HERE / "inspect_dags.py"), str(DAGS), mode, *targets],
        airflow_env(home, **env),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    line = next(x for x in result.stdout.splitlines() if x.startswith("INSPECT-JSON "))
    return dict(json.loads(line.removeprefix("INSPECT-JSON ")))


@pytest.fixture(scope="module")
def bags(parse_home: Path) -> dict[str, Any]:
    """One DagBag per target, parsed in one Airflow process."""
    return inspect(parse_home, "bag", "glue", "local", "emr")


@pytest.mark.parametrize("target", ["glue", "local"])
def test_every_dag_imports_with_the_expected_shape(bags: dict[str, Any], target: str) -> None:
    bag = bags[target]
    assert bag["import_errors"] == {}
    assert sorted(bag["dags"]) == sorted(EXPECTED)
    for dag_id, (schedule, timeouts, stack_base) in EXPECTED.items():
        dag = bag["dags"][dag_id]
        assert dag["schedule"] == schedule
        assert dag["catchup"] is False and dag["max_active_runs"] == 1
        assert target in dag["tags"]
        tasks = dag["tasks"]
        assert sorted(tasks) == ["crawl", "ingest", "load"]
        assert tasks["ingest"]["upstream"] == [] and tasks["crawl"]["upstream"] == ["ingest"]
        assert tasks["load"]["upstream"] == ["crawl"]
        for task_id, task in tasks.items():
            assert task["retries"] == 3 and task["retry_exponential_backoff"] is True, task_id
            assert task["retry_delay"] == 120 and task["max_retry_delay"] == 1800
            assert task["execution_timeout"] == timeouts[task_id], (dag_id, task_id)
            assert task["on_failure_callback"] == ["on_failure"]
        assert tasks["ingest"]["class"] == "PythonOperator"
        assert tasks["ingest"]["op_kwargs"]["dataset"] == dag_id.removeprefix("tweetlake_")
        if target == "glue":
            crawl, load = tasks["crawl"], tasks["load"]
            assert crawl["class"] == "GlueCrawlerRunOperator" and crawl["deferrable"] is True
            assert (
                crawl["crawler_name"] == f"{{{{ var.value.get('tweetlake_stack', 'tweetlake') }}}}-{stack_base}-crawler"
            )
            assert load["class"] == "StackGlueJobOperator" and load["deferrable"] is True
            assert load["job_name"] == f"{{{{ var.value.get('tweetlake_stack', 'tweetlake') }}}}-{stack_base}-job"
            assert load["update_config"] is False
            assert crawl["aws_conn_id"] == load["aws_conn_id"] == "aws_default"
            assert "ti.xcom_pull(task_ids='ingest')" in load["script_args"]["--tweetlake_ingest_run_id"]
        else:
            assert tasks["crawl"]["class"] == tasks["load"]["class"] == "PythonOperator"
            assert tasks["load"]["op_kwargs"] == {"dataset": dag_id.removeprefix("tweetlake_")}


@pytest.mark.parametrize("target", ["glue", "local"])
def test_parsing_does_no_io_and_reads_no_secret(parse_home: Path, target: str) -> None:
    secrets = {
        "X_BEARER_TOKEN": "parse-time-secret-0123456789",
        "TWEETLAKE_DATABASE_URL": "postgresql://u:p@h/db",
        "AIRFLOW_CONN_X_API": '{"conn_type": "http", "password": "parse-time-secret-0123456789"}',
    }
    guard = inspect(parse_home, "guard", TWEETLAKE_AIRFLOW_TARGET=target, **secrets)
    assert guard["dags"] == sorted(EXPECTED)  # the guard saw the real DAG file build its DAGs
    assert guard["events"] == []
    assert guard["calls"] == []
    assert guard["heavy_modules"] == []


def test_an_unknown_target_is_an_import_error_that_says_so(bags: dict[str, Any]) -> None:
    bag = bags["emr"]
    assert bag["dags"] == {}
    (error,) = bag["import_errors"].values()
    assert "TWEETLAKE_AIRFLOW_TARGET must be one of glue, local, not 'emr'" in error
