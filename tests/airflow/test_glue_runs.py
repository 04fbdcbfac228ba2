"""`airflow dags test` of the Glue variant against a moto server: the ingest writes the S3 lake, the
operators start the stack's crawler and job by name with the run's arguments and wait for them
(moto's state transitions), the job's summary line reaches the task log; a missing job fails the
load task without creating one, and the failure callback says which job and which files."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from tests.airflow.conftest import AIRFLOW_VENV, airflow_env, run
from tests.airflow.test_local_runs import TOKEN, simulator  # noqa: F401  (the simulator fixture)

pytestmark = [pytest.mark.slow, pytest.mark.venvs]


def set_transition(endpoint: str, model: str, config: dict[str, Any] | None) -> None:
    action = "set-transition" if config else "unset-transition"
    body = {"model_name": model, **({"transition": config} if config else {})}
    requests.post(f"{endpoint}/moto-api/state-manager/{action}", json=body, timeout=10).raise_for_status()


@pytest.fixture
def stack(moto_endpoint: str, simulator: tuple[str, list[str]]) -> Iterator[dict[str, Any]]:  # noqa: F811
    """What the CloudFormation stack would hold (moto's CloudFormation makes no Glue resources):
    the lake bucket with the registry, the crawlers and the users job, by the stack's names."""
    base_url, names = simulator
    name = f"tl{uuid.uuid4().hex[:8]}"
    bucket = f"{name}-lake"
    glue = boto3.client("glue", endpoint_url=moto_endpoint, region_name="us-east-1")
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    lake_uri = f"s3://{bucket}/lake"
    for base in ("users", "tweets"):
        glue.create_crawler(
            Name=f"{name}-{base}-crawler",
            Role="arn:aws:iam::123456789012:role/crawler",
            DatabaseName=f"{name}_raw",
            Targets={"S3Targets": [{"Path": f"{lake_uri}/raw/{base}/"}]},
        )
    glue.create_job(
        Name=f"{name}-users-job",
        Role="arn:aws:iam::123456789012:role/job",
        Command={"Name": "glueetl", "ScriptLocation": f"s3://{name}-artifacts/users_job.py"},
        GlueVersion="5.1",
        ExecutionProperty={"MaxConcurrentRuns": 1},
        DefaultArguments={"--lake_uri": lake_uri, "--db_schema": "twitter"},
    )
    env_cli = {
        **airflow_env(Path("/nonexistent")),
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    # --offline: recorded unresolved; the DAG's users run resolves them against the simulator
    added = subprocess.run(
        [sys.executable, "-m", "tweetlake.cli", "users", "add", *names, "--offline", "--lake", lake_uri],
        env=env_cli,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    # a job run is RUNNING for a few polls, so the operator must wait for it; moto's crawl moves on
    # only when its crawls are listed, which the crawler's trigger never does: it finishes at once
    set_transition(moto_endpoint, "glue::job_run", {"progression": "manual", "times": 3})
    set_transition(moto_endpoint, "glue::crawl", {"progression": "immediate"})
    yield {"name": name, "glue": glue, "lake_uri": lake_uri, "base_url": base_url, "bucket": bucket}
    set_transition(moto_endpoint, "glue::job_run", None)
    set_transition(moto_endpoint, "glue::crawl", None)


def glue_env(home: Path, moto_endpoint: str, stack: dict[str, Any]) -> dict[str, str]:
    return airflow_env(
        home,
        TWEETLAKE_AIRFLOW_TARGET="glue",
        TWEETLAKE_AIRFLOW_POLL_SECONDS="1",
        AIRFLOW_CONN_X_API=json.dumps({"conn_type": "http", "password": TOKEN, "host": stack["base_url"]}),
        AIRFLOW_CONN_AWS_DEFAULT=json.dumps(
            {"conn_type": "aws", "extra": {"endpoint_url": moto_endpoint, "region_name": "us-east-1"}}
        ),
        AIRFLOW_VAR_TWEETLAKE_LAKE=stack["lake_uri"],
        AIRFLOW_VAR_TWEETLAKE_STACK=stack["name"],
        AWS_ENDPOINT_URL=moto_endpoint,  # the ingest's S3 lake (tweetlake's own boto3 client)
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
    )


def print_summary_when_the_run_starts(glue: Any, logs: Any, job: str, stop: threading.Event) -> None:
    """Stands in for the entry script's last line (moto starts no Spark): once the job run exists,
    its output log gets the line :meth:`JobSummary.describe` prints."""
    while not stop.is_set():
        runs = glue.get_job_runs(JobName=job)["JobRuns"]
        if runs:
            run_id, group = runs[0]["Id"], runs[0]["LogGroupName"] + "/output"
            logs.create_log_group(logGroupName=group)
            logs.create_log_stream(logGroupName=group, logStreamName=run_id)
            logs.put_log_events(
                logGroupName=group,
                logStreamName=run_id,
                logEvents=[
                    {
                        "timestamp": int(time.time() * 1000),
                        "message": "users run glue-1: 1 new file in 1 partition; 2 rows loaded, "
                        "0 API error records, 0 lines quarantined",
                    }
                ],
            )
            return
        time.sleep(0.05)


def test_glue_users_dag_starts_the_stacks_crawler_and_job(
    airflow_home: Path, moto_endpoint: str, stack: dict[str, Any]
) -> None:
    glue, name = stack["glue"], stack["name"]
    logs = boto3.client("logs", endpoint_url=moto_endpoint, region_name="us-east-1")
    stop = threading.Event()
    watcher = threading.Thread(
        target=print_summary_when_the_run_starts, args=(glue, logs, f"{name}-users-job", stop), daemon=True
    )
    watcher.start()
    try:
        result = run(
            [str(AIRFLOW_VENV / "bin" / "airflow"), "dags", "test", "tweetlake_users"],
            glue_env(airflow_home, moto_endpoint, stack),
            timeout=240,
        )
    finally:
        stop.set()
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-6000:]
    assert TOKEN not in out

    # the ingest wrote the S3 lake
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=stack["bucket"], Prefix="lake/raw/users/")["Contents"]]
    assert len(keys) == 1 and keys[0].endswith(".jsonl.gz")
    # the users crawler ran once (and finished); the tweets crawler was left alone
    crawler = glue.get_crawler(Name=f"{name}-users-crawler")["Crawler"]
    assert crawler["LastCrawl"]["Status"] == "COMPLETED" and crawler["State"] == "READY"
    assert "LastCrawl" not in glue.get_crawler(Name=f"{name}-tweets-crawler")["Crawler"]
    # the users job ran once, with the ingest run's summary in its arguments, its settings unchanged
    (job_run,) = glue.get_job_runs(JobName=f"{name}-users-job")["JobRuns"]
    assert job_run["JobRunState"] == "SUCCEEDED"
    args = job_run["Arguments"]
    ingest_run_id = keys[0].rsplit("/", 1)[1].split("-")[0]
    assert args["--tweetlake_ingest_run_id"].startswith(ingest_run_id)
    assert args["--tweetlake_ingest_records"] == "2" and args["--tweetlake_ingest_files"] == "1"
    job = glue.get_job(JobName=f"{name}-users-job")["Job"]
    assert job["DefaultArguments"] == {"--lake_uri": stack["lake_uri"], "--db_schema": "twitter"}
    assert [j["Name"] for j in glue.get_jobs()["Jobs"] if j["Name"].startswith(name)] == [f"{name}-users-job"]
    # the job's summary line reached the task log
    assert "job summary: users run glue-1: 1 new file in 1 partition; 2 rows loaded" in out


def test_glue_tweets_dag_fails_when_the_stack_has_no_such_job(
    airflow_home: Path, moto_endpoint: str, stack: dict[str, Any]
) -> None:
    glue, name = stack["glue"], stack["name"]
    result = run(
        [str(AIRFLOW_VENV / "bin" / "airflow"), "dags", "test", "tweetlake_tweets"],
        glue_env(airflow_home, moto_endpoint, stack),
        timeout=240,
    )
    out = result.stdout + result.stderr
    assert f"Glue job {name}-tweets-job does not exist" in out, out[-6000:]
    # the callback's one line: which task, and the lake files this run's ingest published
    assert "tweetlake tweetlake_tweets.load failed" in out
    assert "lake files of this run's ingest: raw/tweets/dt=" in out
    # the operator created no job and the crawler did run before it
    assert not any(j["Name"] == f"{name}-tweets-job" for j in glue.get_jobs()["Jobs"])
    assert glue.get_crawler(Name=f"{name}-tweets-crawler")["Crawler"]["LastCrawl"]["Status"] == "COMPLETED"
