"""scripts/package.sh, start_job_run.sh, start_crawler.sh and run_workflow.sh with the real AWS CLI
v1 against moto's server, and the contract between the template, the Glue scripts and package.sh.

Glue fixtures are made with boto3 (moto's CloudFormation does not create Glue resources). moto
never fails a job run; for the failure path a stand-in ``aws`` goes first on PATH in that test
only: it runs the real AWS CLI in-process with a botocore ``after-call`` hook that turns moto's
GetJobRun answer into FAILED with an error message. Everything else — the arguments the script
builds, --query/--output, the endpoint — stays real, which botocore's Stubber could not give: it
lives inside one Python process, and the scripts run the CLI as a separate program.
"""

from __future__ import annotations

import ast
import re
import stat
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

import common
from tests.aws import cfn
from tests.aws.conftest import ROOT, VENV_BIN, ScriptRunner
from tests.aws.glue_args import resolved_options

JOB_SCRIPTS = {"UsersJob": "users_job.py", "TweetsJob": "tweets_job.py", "TweetMetricsJob": "tweet_metrics_job.py"}
# Arguments Glue itself defines (https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-glue-arguments.html)
GLUE_SPECIAL = {
    "--additional-python-modules", "--python-modules-installer-option", "--extra-py-files", "--job-language",
    "--TempDir", "--job-bookmark-option", "--conf", "--datalake-formats", "--extra-jars", "--user-jars-first",
}


def glue(aws_env: dict[str, str], service: str = "glue") -> Any:
    return boto3.client(service, endpoint_url=aws_env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


# --------------------------------------------------------------------------- package.sh
@pytest.fixture(scope="module")
def packaged(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """package.sh run once against moto S3: the bucket and the keys it uploaded."""
    import os
    import subprocess

    template = cfn.load()
    keys = template["Mappings"]["Artifacts"]["Keys"]
    wheelhouse = tmp_path_factory.mktemp("wheelhouse")  # stand-ins for the psycopg wheels: no PyPI in tests
    for name in (keys["PsycopgWheel"], keys["PsycopgBinaryWheel"]):
        (wheelhouse / name).write_bytes(b"not really a wheel")
    bucket = f"artifacts-{uuid.uuid4().hex[:10]}"
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TWEETLAKE_"))}
    env.update({"PATH": f"{VENV_BIN}{os.pathsep}{env['PATH']}", "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": moto_endpoint,
                "TWEETLAKE_WHEELHOUSE": str(wheelhouse),
                "TWEETLAKE_PACKAGE_DIR": str(tmp_path_factory.mktemp("package"))})
    result = subprocess.run(["bash", str(ROOT / "scripts" / "package.sh"), "--bucket", bucket], env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
    return {"bucket": bucket, "keys": {o["Key"] for o in listed}, "stdout": result.stdout, "s3": s3}


def test_package_uploads_the_wheel_and_the_job_scripts(packaged: dict[str, Any]) -> None:
    version = common.__version__
    assert packaged["keys"] == {
        f"wheels/tweetlake-{version}-py3-none-any.whl",
        "wheels/psycopg-3.3.9-py3-none-any.whl",
        "wheels/psycopg_binary-3.3.9-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
        "glue/scripts/users_job.py",
        "glue/scripts/tweets_job.py",
        "glue/scripts/tweet_metrics_job.py",
    }
    s3 = packaged["s3"]
    script = s3.get_object(Bucket=packaged["bucket"], Key="glue/scripts/users_job.py")["Body"].read()
    assert script == (ROOT / "glue_jobs" / "users_job.py").read_bytes()
    wheel = s3.get_object(Bucket=packaged["bucket"], Key=f"wheels/tweetlake-{version}-py3-none-any.whl")["Body"].read()
    assert wheel[:2] == b"PK"  # a zip: a real wheel was built
    import io
    import zipfile

    names = zipfile.ZipFile(io.BytesIO(wheel)).namelist()
    assert "glue_jobs/runner.py" in names and "common/warehouse/db.py" in names
    assert not any(n.startswith("tests/") for n in names)


# --------------------------------------------------------------------------- the contract
def _jobs(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return cfn.resources_of_type(template, "AWS::Glue::Job")


def test_every_job_has_its_entry_script() -> None:
    assert set(_jobs(cfn.load())) == set(JOB_SCRIPTS)
    for script in JOB_SCRIPTS.values():
        tree = ast.parse((ROOT / "glue_jobs" / script).read_text())
        guarded = [n for n in tree.body if isinstance(n, ast.If) and "__main__" in ast.unparse(n.test)]
        assert guarded, f"{script} must run main() only under if __name__ == '__main__'"


@pytest.mark.parametrize(("job_id", "script"), sorted(JOB_SCRIPTS.items()))
def test_job_supplies_every_argument_its_script_reads(job_id: str, script: str) -> None:
    template = cfn.load()
    resolver = cfn.Resolver(template, {"ArtifactsBucket": "artifacts", "LakeBucket": "lake"})
    job = template["Resources"][job_id]["Properties"]
    supplied = set(job["DefaultArguments"])
    for trigger in cfn.resources_of_type(template, "AWS::Glue::Trigger").values():
        for action in trigger["Properties"]["Actions"]:
            if action.get("JobName") == {"Ref": job_id}:
                supplied |= set(action.get("Arguments", {}))
    options = resolved_options(ROOT / "glue_jobs" / script)
    assert options.calls >= 1, f"no getResolvedOptions call reachable from {script}"
    assert options.keys_read <= options.names, "the script reads arguments it never resolved"

    missing = {f"--{n}" for n in options.required - {"JOB_NAME"}} - supplied  # Glue passes --JOB_NAME itself
    assert not missing, f"{job_id}: the template does not supply {sorted(missing)}"
    unknown = {a for a in supplied if a not in GLUE_SPECIAL and not a.startswith("--enable-")} - {
        f"--{n}" for n in options.names
    }
    assert not unknown, f"{job_id}: DefaultArguments {sorted(unknown)} are read by no getResolvedOptions"

    # Credentials: exactly one way in, and it points at this stack's connection / secret.
    arguments = resolver.resolve(job["DefaultArguments"])
    ways = {"--connection_name", "--db_secret_arn"} & set(arguments)
    assert len(ways) == 1, "give --connection_name or --db_secret_arn (warehouse_target takes the secret first)"
    if "--connection_name" in arguments:
        assert arguments["--connection_name"] == resolver.ref("GlueConnection")
        assert arguments["--connection_name"] in resolver.resolve(job["Connections"]["Connections"])
    lake = f"s3://lake/{resolver.params['LakePrefix']}"
    assert arguments["--lake_uri"] == lake
    assert job["GlueVersion"] == "5.1"
    assert arguments["--full_refresh"].lower() in {"true", "false"}


def test_crawlers_read_the_lake_the_jobs_load() -> None:
    template = cfn.load()
    resolver = cfn.Resolver(template, {"LakeBucket": "lake"})
    prefix = resolver.params["LakePrefix"]
    paths = sorted(
        resolver.resolve(c["Properties"]["Targets"]["S3Targets"][0]["Path"])
        for c in cfn.resources_of_type(template, "AWS::Glue::Crawler").values()
    )
    assert paths == [f"s3://lake/{prefix}/raw/{d}/" for d in ("tweet_metrics", "tweets", "users")]
    for crawler in cfn.resources_of_type(template, "AWS::Glue::Crawler").values():
        props = crawler["Properties"]
        assert '"TableLevelConfiguration":3' in props["Configuration"]  # bucket/<prefix>=1/raw=2/<dataset>=3
        assert props["RecrawlPolicy"] == {"RecrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"}
        assert props["SchemaChangePolicy"] == {"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"}


def test_template_locations_are_what_package_uploads(packaged: dict[str, Any]) -> None:
    template = cfn.load()
    bucket = packaged["bucket"]
    resolver = cfn.Resolver(template, {"ArtifactsBucket": bucket, "LakeBucket": "lake"})
    assert resolver.params["TweetlakeVersion"] == common.__version__
    uploaded = {f"s3://{bucket}/{k}" for k in packaged["keys"]}
    for job_id, script in JOB_SCRIPTS.items():
        job = template["Resources"][job_id]["Properties"]
        location = resolver.resolve(job["Command"]["ScriptLocation"])
        assert location in uploaded and location.endswith(f"/{script}")
        modules = resolver.resolve(job["DefaultArguments"]["--additional-python-modules"]).split(",")
        assert set(modules) <= uploaded, set(modules) - uploaded
        assert any("/tweetlake-" in m for m in modules) and any("psycopg_binary-" in m for m in modules)
    user_data = resolver.resolve(template["Resources"]["IngestionHost"]["Properties"]["UserData"])
    wheel = re.search(r"TWEETLAKE_WHEEL=(\S+)", user_data)
    assert wheel and wheel.group(1) in uploaded


def test_ingestion_host_runs_the_three_collectors_on_the_seed_schedules() -> None:
    template = cfn.load()
    user_data = cfn.Resolver(template, {"LakeBucket": "lake"}).resolve(
        template["Resources"]["IngestionHost"]["Properties"]["UserData"])
    for dataset, calendar in (("users", "*-*-* 01:00:00"), ("tweets", "*-*-* 00/4:10:00"),
                              ("metrics", "*-*-* 01/2:20:00")):
        assert f"OnCalendar={calendar}" in user_data
        assert f"Unit=tweetlake-ingest@{dataset}.service" in user_data
    assert "tweetlake-run ingest %i --lake $TWEETLAKE_LAKE" in user_data
    assert "X_BEARER_TOKEN_SECRET_ARN=" in user_data
    host = template["Resources"]["IngestionHost"]["Properties"]
    assert host["MetadataOptions"]["HttpTokens"] == "required"
    ingestion_sg = template["Resources"]["IngestionSecurityGroup"]["Properties"]
    assert "SecurityGroupIngress" not in ingestion_sg  # no SSH, no inbound at all
    assert not [r for r in cfn.resources_of_type(template, "AWS::EC2::SecurityGroupIngress").values()
                if r["Properties"]["GroupId"] == {"Ref": "IngestionSecurityGroup"}]


def test_each_workflow_crawls_then_loads_after_its_ingestion() -> None:
    template = cfn.load()
    params = cfn.Resolver(template, {}).params
    # ingestion (systemd, UTC) -> workflow (Glue cron, UTC): same cadence, the workflow after
    assert (params["UsersIngestOnCalendar"], params["UsersWorkflowSchedule"]) == (
        "*-*-* 01:00:00", "cron(30 2 * * ? *)")
    assert (params["TweetsIngestOnCalendar"], params["TweetsWorkflowSchedule"]) == (
        "*-*-* 00/4:10:00", "cron(50 0/4 * * ? *)")
    assert (params["MetricsIngestOnCalendar"], params["MetricsWorkflowSchedule"]) == (
        "*-*-* 01/2:20:00", "cron(0 0/2 * * ? *)")
    triggers = cfn.resources_of_type(template, "AWS::Glue::Trigger")
    for dataset in ("Users", "Tweets", "TweetMetrics"):
        scheduled = triggers[f"{dataset}ScheduleTrigger"]["Properties"]
        conditional = triggers[f"{dataset}JobTrigger"]["Properties"]
        assert scheduled["Type"] == "SCHEDULED"
        assert scheduled["Actions"] == [{"CrawlerName": {"Ref": f"{dataset}Crawler"}}]
        assert conditional["Predicate"]["Conditions"] == [
            {"LogicalOperator": "EQUALS", "CrawlerName": {"Ref": f"{dataset}Crawler"}, "CrawlState": "SUCCEEDED"}]
        assert conditional["Actions"] == [{"JobName": {"Ref": f"{dataset}Job"}}]
        assert scheduled["WorkflowName"] == conditional["WorkflowName"] == {"Ref": f"{dataset}Workflow"}


def test_secrets_have_no_value_in_the_template() -> None:
    template = cfn.load()
    for secret in cfn.resources_of_type(template, "AWS::SecretsManager::Secret").values():
        assert "SecretString" not in secret["Properties"]
    db = template["Resources"]["Db"]["Properties"]
    assert db["ManageMasterUserPassword"] is True and "MasterUserPassword" not in db
    assert db["PubliclyAccessible"] is False and db["StorageEncrypted"] is True
    assert db["EngineVersion"].startswith("17.")


# --------------------------------------------------------------------------- job runs, crawls, workflows
def _make_job(aws_env: dict[str, str], name: str) -> None:
    glue(aws_env).create_job(Name=name, Role="arn:aws:iam::123456789012:role/tweetlake-job",
                             Command={"Name": "glueetl", "ScriptLocation": "s3://artifacts/glue/scripts/users_job.py"},
                             DefaultArguments={"--lake_uri": "s3://lake/lake", "--full_refresh": "false"},
                             GlueVersion="5.1")


def test_start_job_run_waits_for_success(aws_env: dict[str, str], run_script: ScriptRunner,
                                         moto_transitions: Any) -> None:
    job = f"{aws_env['TWEETLAKE_STACK']}-users-job"
    _make_job(aws_env, job)
    moto_transitions("glue::job_run", {"progression": "time", "seconds": 1})
    result = run_script("start_job_run.sh", "users", "--full_refresh", "true", "--note", 'a "quoted", value')
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(rf"job {job} run jr_\w+: SUCCEEDED after \dm \d\ds", result.stdout)
    assert "RUNNING" in result.stderr  # it really waited
    run = glue(aws_env).get_job_runs(JobName=job)["JobRuns"][0]
    assert run["Arguments"]["--full_refresh"] == "true"  # the run's arguments override the defaults
    assert run["Arguments"]["--note"] == 'a "quoted", value'


STAND_IN_AWS = '''#!{python}
"""A stand-in for `aws` in one test: the real AWS CLI, with moto's GetJobRun answer turned into FAILED."""
import sys

from awscli.clidriver import create_clidriver


def fail(parsed, **kwargs):
    run = parsed.get("JobRun") or {{}}
    if run.get("JobRunState") == "SUCCEEDED":
        run["JobRunState"] = "FAILED"
        run["ErrorMessage"] = "AnalysisException: Path does not exist: s3://lake/lake/raw/users/"


driver = create_clidriver()
driver.session.register("after-call.glue.GetJobRun", fail)
sys.exit(driver.main(sys.argv[1:]))
'''


def test_start_job_run_exits_non_zero_with_the_error_on_failure(
    aws_env: dict[str, str], run_script: ScriptRunner, tmp_path: Path
) -> None:
    job = f"job-{uuid.uuid4().hex[:8]}"
    _make_job(aws_env, job)
    stand_in = tmp_path / "bin" / "aws"
    stand_in.parent.mkdir()
    stand_in.write_text(STAND_IN_AWS.format(python=VENV_BIN / "python"))
    stand_in.chmod(stand_in.stat().st_mode | stat.S_IEXEC)
    env = {**aws_env, "PATH": f"{stand_in.parent}:{aws_env['PATH']}"}
    result = run_script("start_job_run.sh", job, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"job {job} run jr_" in result.stdout and ": FAILED after" in result.stdout
    assert "error: AnalysisException: Path does not exist: s3://lake/lake/raw/users/" in result.stderr


def test_start_job_run_reports_a_missing_job(run_script: ScriptRunner) -> None:
    result = run_script("start_job_run.sh", f"no-such-job-{uuid.uuid4().hex[:6]}")
    assert result.returncode != 0
    assert "EntityNotFoundException" in result.stderr


def test_start_crawler_waits_until_ready(aws_env: dict[str, str], run_script: ScriptRunner,
                                        moto_transitions: Any) -> None:
    crawler = f"{aws_env['TWEETLAKE_STACK']}-tweet-metrics-crawler"
    glue(aws_env).create_crawler(Name=crawler, Role="arn:aws:iam::123456789012:role/tweetlake-crawler",
                                 DatabaseName="tweetlake_raw",
                                 Targets={"S3Targets": [{"Path": "s3://lake/lake/raw/tweet_metrics/"}]})
    moto_transitions("glue::crawl", {"progression": "time", "seconds": 3})
    result = run_script("start_crawler.sh", "tweet_metrics")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "RUNNING" in result.stderr and "READY" in result.stderr
    assert f"crawler {crawler}: READY after" in result.stdout
    assert glue(aws_env).get_crawler(Name=crawler)["Crawler"]["State"] == "READY"


def _finish_workflow_run(workflow: str, status: str) -> threading.Thread:
    """moto keeps workflow runs RUNNING for ever (its stop_workflow_run changes nothing): once the run
    exists, move it on in moto's backend (this process hosts the server) as Glue would."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.glue.models import glue_backends

    def finish() -> None:
        backend = glue_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
        for _ in range(200):
            runs = list(backend.workflows[workflow].runs.values())
            if runs:
                time.sleep(2.5)  # let the script see RUNNING first
                runs[0].status = status
                return
            time.sleep(0.05)

    thread = threading.Thread(target=finish, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize(("status", "exit_code"), [("COMPLETED", 0), ("STOPPED", 1)])
def test_run_workflow_waits_for_the_end_of_the_run(
    aws_env: dict[str, str], run_script: ScriptRunner, status: str, exit_code: int
) -> None:
    workflow = f"{aws_env['TWEETLAKE_STACK']}-tweet-metrics"
    glue(aws_env).create_workflow(Name=workflow)
    finisher = _finish_workflow_run(workflow, status)
    result = run_script("run_workflow.sh", "tweet_metrics")
    finisher.join()
    assert result.returncode == exit_code, result.stdout + result.stderr
    assert f"workflow {workflow} run wr_" in result.stdout and f": {status} after" in result.stdout
    assert "RUNNING" in result.stderr


# --------------------------------------------------------------------------- deploy.sh
RECORDING_AWS = """#!/usr/bin/env bash
# A stand-in for `aws` that records its arguments (moto's CloudFormation gives change-set stacks no
# Outputs and creates no Glue resources, so deploy.sh is checked for the calls it makes).
printf '%s\\n' "$*" >> "$CALLS"
case "$*" in
  *describe-stacks*DeployBucketName*) echo tl-deploy-bucket-123 ;;
  *describe-stacks*) echo "| ArtifactsBucketName | artifacts-123 |" ;;
esac
"""


def test_deploy_creates_the_deployment_bucket_then_the_stack(
    aws_env: dict[str, str], run_script: ScriptRunner, tmp_path: Path
) -> None:
    stand_in = tmp_path / "bin" / "aws"
    stand_in.parent.mkdir()
    stand_in.write_text(RECORDING_AWS)
    stand_in.chmod(stand_in.stat().st_mode | stat.S_IEXEC)
    calls = tmp_path / "calls.txt"
    env = {**aws_env, "PATH": f"{stand_in.parent}:{aws_env['PATH']}", "CALLS": str(calls), "TWEETLAKE_STACK": "tl"}
    env.pop("AWS_ENDPOINT_URL")
    result = run_script("deploy.sh", "--email", "ops@example.org", "--accounts", "nasa,esa",
                        "GlueExecutionClass=FLEX", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    deploy_bucket_stack, output, stack, _outputs = calls.read_text().splitlines()
    root = ROOT / "cloudformation"
    assert deploy_bucket_stack == (
        f"--region us-east-1 cloudformation deploy --stack-name tl-deploy --template-file {root}/deploy-bucket.yaml "
        "--no-fail-on-empty-changeset"
    )
    assert "describe-stacks --stack-name tl-deploy" in output
    assert stack == (
        f"--region us-east-1 cloudformation deploy --stack-name tl --template-file {root}/tweetlake.yaml "
        "--no-fail-on-empty-changeset --s3-bucket tl-deploy-bucket-123 --s3-prefix tl --capabilities CAPABILITY_IAM "
        "--parameter-overrides AlertEmail=ops@example.org TrackedAccounts=nasa,esa GlueExecutionClass=FLEX"
    )
    assert "ArtifactsBucketName" in result.stdout
