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
    "--additional-python-modules",
    "--python-modules-installer-option",
    "--extra-py-files",
    "--job-language",
    "--TempDir",
    "--job-bookmark-option",
    "--conf",
    "--datalake-formats",
    "--extra-jars",
    "--user-jars-first",
}


def glue(aws_env: dict[str, str], service: str = "glue") -> Any:
    return boto3.client(
        service,
        endpoint_url=aws_env["AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


# --------------------------------------------------------------------------- package.sh
@pytest.fixture(scope="module")
def packaged(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """package.sh run once against moto S3: the bucket and the keys it uploaded."""
    import os
    import subprocess

    template = cfn.load()
    keys = template["Mappings"]["Artifacts"]["Keys"]
    wheelhouse = tmp_path_factory.mktemp("wheelhouse")  # stand-ins for the Glue wheels: no PyPI in tests
    for name in (keys["PsycopgWheel"], keys["PsycopgBinaryWheel"], keys["VaderSentimentWheel"]):
        (wheelhouse / name).write_bytes(b"not really a wheel")
    bucket = f"artifacts-{uuid.uuid4().hex[:10]}"
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TWEETLAKE_"))}
    env.update(
        {
            "PATH": f"{VENV_BIN}{os.pathsep}{env['PATH']}",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": moto_endpoint,
            "TWEETLAKE_WHEELHOUSE": str(wheelhouse),
            "TWEETLAKE_PACKAGE_DIR": str(tmp_path_factory.mktemp("package")),
        }
    )
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "package.sh"), "--bucket", bucket],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
    return {"bucket": bucket, "keys": {o["Key"] for o in listed}, "stdout": result.stdout, "s3": s3}


def test_package_uploads_the_wheel_and_the_job_scripts(packaged: dict[str, Any]) -> None:
    version = common.__version__
    assert packaged["keys"] == {
        f"wheels/tweetlake-{version}-py3-none-any.whl",
        "wheels/psycopg-3.3.9-py3-none-any.whl",
        "wheels/psycopg_binary-3.3.9-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
        "wheels/vaderSentiment-3.3.2-py2.py3-none-any.whl",
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
        # the tweets job scores sentiment (VADER); the other jobs never import it
        assert any("/vaderSentiment-" in m for m in modules) == (job_id == "TweetsJob")
    user_data = resolver.resolve(template["Resources"]["IngestionHost"]["Properties"]["UserData"])
    wheel = re.search(r"TWEETLAKE_WHEEL=(\S+)", user_data)
    assert wheel and wheel.group(1) in uploaded


# What Glue 5.1 brings that our wheels' dependencies can use ("Python modules already provided in
# AWS Glue", AWS Glue developer guide): the job subnets have no route to PyPI.
GLUE_51_PROVIDED = {
    "boto3": "1.40.61",
    "botocore": "1.40.61",
    "requests": "2.32.5",
    "typing-extensions": "4.15.0",
    "urllib3": "2.5.0",
    "idna": "3.11",
    "charset-normalizer": "3.4.4",
    "certifi": "2025.10.5",
    "jmespath": "1.0.1",
    "s3transfer": "0.14.0",
    "python-dateutil": "2.9.0.post0",
    "six": "1.17.0",
}


def test_glue_installs_the_wheels_offline(packaged: dict[str, Any]) -> None:
    """--no-index, and every dependency of the tweetlake and psycopg wheels met by Glue 5.1's own modules."""
    import io
    import zipfile
    from importlib.metadata import distribution

    from packaging.requirements import Requirement

    template = cfn.load()
    for job_id in JOB_SCRIPTS:
        assert (
            template["Resources"][job_id]["Properties"]["DefaultArguments"]["--python-modules-installer-option"]
            == "--no-index"
        )
    version = common.__version__
    wheel = (
        packaged["s3"]
        .get_object(Bucket=packaged["bucket"], Key=f"wheels/tweetlake-{version}-py3-none-any.whl")["Body"]
        .read()
    )
    metadata = zipfile.ZipFile(io.BytesIO(wheel)).read(f"tweetlake-{version}.dist-info/METADATA").decode()
    requires = [line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    psycopg = distribution("psycopg")  # the venv's, the version the template ships as a wheel
    assert template["Mappings"]["Artifacts"]["Keys"]["PsycopgWheel"] == f"psycopg-{psycopg.version}-py3-none-any.whl"
    requires += psycopg.requires or []
    vader = distribution("vaderSentiment")  # the tweets job's sentiment model, shipped as a wheel too
    assert template["Mappings"]["Artifacts"]["Keys"]["VaderSentimentWheel"] == (
        f"vaderSentiment-{vader.version}-py2.py3-none-any.whl"
    )
    requires += vader.requires or []
    glue = {
        "python_version": "3.11",
        "python_full_version": "3.11.6",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "implementation_name": "cpython",
        "extra": "",
    }
    for text in requires:
        requirement = Requirement(text)
        if requirement.marker and not requirement.marker.evaluate(glue):
            continue  # another platform or an extra
        name = requirement.name.lower().replace("_", "-")
        assert name in GLUE_51_PROVIDED, f"{text}: not in Glue 5.1 and no PyPI from the job subnets"
        assert requirement.specifier.contains(GLUE_51_PROVIDED[name]), f"{text}: Glue 5.1 has {GLUE_51_PROVIDED[name]}"


def test_ingestion_host_runs_the_three_collectors_on_the_seed_schedules() -> None:
    template = cfn.load()
    user_data = cfn.Resolver(template, {"LakeBucket": "lake"}).resolve(
        template["Resources"]["IngestionHost"]["Properties"]["UserData"]
    )
    for dataset, calendar in (
        ("users", "*-*-* 01:00:00"),
        ("tweets", "*-*-* 00/4:10:00"),
        ("metrics", "*-*-* 01/2:20:00"),
    ):
        assert f"OnCalendar={calendar}" in user_data
        assert f"Unit=tweetlake-ingest@{dataset}.service" in user_data
    assert "tweetlake-run ingest %i --lake $TWEETLAKE_LAKE" in user_data
    assert "X_BEARER_TOKEN_SECRET_ARN=" in user_data
    host = template["Resources"]["IngestionHost"]["Properties"]
    assert host["MetadataOptions"]["HttpTokens"] == "required"
    ingestion_sg = template["Resources"]["IngestionSecurityGroup"]["Properties"]
    assert "SecurityGroupIngress" not in ingestion_sg  # no SSH, no inbound at all
    assert not [
        r
        for r in cfn.resources_of_type(template, "AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == {"Ref": "IngestionSecurityGroup"}
    ]


def test_each_workflow_crawls_then_loads_after_its_ingestion() -> None:
    template = cfn.load()
    params = cfn.Resolver(template, {}).params
    # ingestion (systemd, UTC) -> workflow (Glue cron, UTC): same cadence, the workflow after
    assert (params["UsersIngestOnCalendar"], params["UsersWorkflowSchedule"]) == (
        "*-*-* 01:00:00",
        "cron(30 2 * * ? *)",
    )
    assert (params["TweetsIngestOnCalendar"], params["TweetsWorkflowSchedule"]) == (
        "*-*-* 00/4:10:00",
        "cron(50 0/4 * * ? *)",
    )
    assert (params["MetricsIngestOnCalendar"], params["MetricsWorkflowSchedule"]) == (
        "*-*-* 01/2:20:00",
        "cron(0 0/2 * * ? *)",
    )
    triggers = cfn.resources_of_type(template, "AWS::Glue::Trigger")
    for dataset in ("Users", "Tweets", "TweetMetrics"):
        scheduled = triggers[f"{dataset}ScheduleTrigger"]["Properties"]
        conditional = triggers[f"{dataset}JobTrigger"]["Properties"]
        assert scheduled["Type"] == "SCHEDULED"
        assert scheduled["Actions"] == [{"CrawlerName": {"Ref": f"{dataset}Crawler"}}]
        assert conditional["Predicate"]["Conditions"] == [
            {"LogicalOperator": "EQUALS", "CrawlerName": {"Ref": f"{dataset}Crawler"}, "CrawlState": "SUCCEEDED"}
        ]
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
    glue(aws_env).create_job(
        Name=name,
        Role="arn:aws:iam::123456789012:role/tweetlake-job",
        Command={"Name": "glueetl", "ScriptLocation": "s3://artifacts/glue/scripts/users_job.py"},
        DefaultArguments={"--lake_uri": "s3://lake/lake", "--full_refresh": "false"},
        GlueVersion="5.1",
    )


def test_start_job_run_waits_for_success(
    aws_env: dict[str, str], run_script: ScriptRunner, moto_transitions: Any
) -> None:
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


HOOKED_AWS = '''#!{python}
"""A stand-in for `aws` in one test: the real AWS CLI, with an after-call hook on {event}."""
import sys

from awscli.clidriver import create_clidriver
{hook}

driver = create_clidriver()
driver.session.register("after-call.glue.{event}", hook)
sys.exit(driver.main(sys.argv[1:]))
'''


def _stand_in_aws(tmp_path: Path, event: str, hook: str, env: dict[str, str]) -> dict[str, str]:
    """``env`` with a stand-in ``aws`` first on PATH: the real AWS CLI (in-process, so everything the
    script asks stays real) whose answers to ``event`` pass through ``hook(parsed, **kwargs)`` first."""
    stand_in = tmp_path / "hooked-bin" / "aws"
    stand_in.parent.mkdir(exist_ok=True)
    stand_in.write_text(HOOKED_AWS.format(python=VENV_BIN / "python", event=event, hook=hook))
    stand_in.chmod(stand_in.stat().st_mode | stat.S_IEXEC)
    return {**env, "PATH": f"{stand_in.parent}:{env['PATH']}"}


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


def test_start_crawler_waits_until_ready(
    aws_env: dict[str, str], run_script: ScriptRunner, moto_transitions: Any, tmp_path: Path
) -> None:
    crawler = f"{aws_env['TWEETLAKE_STACK']}-tweet-metrics-crawler"
    glue(aws_env).create_crawler(
        Name=crawler,
        Role="arn:aws:iam::123456789012:role/tweetlake-crawler",
        DatabaseName="tweetlake_raw",
        Targets={"S3Targets": [{"Path": "s3://lake/lake/raw/tweet_metrics/"}]},
    )
    moto_transitions("glue::crawl", {"progression": "time", "seconds": 3})
    env = {
        **_stand_in_aws(tmp_path, "GetCrawler", CRAWLER_HOOK, aws_env),
        "HOOK_COUNTER": str(tmp_path / "reads"),
        "STALE_READS": "1",
        "RUNNING_READS": "2",
    }
    result = run_script("start_crawler.sh", "tweet_metrics", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "RUNNING" in result.stderr and "READY" in result.stderr
    assert f"crawler {crawler}: READY after" in result.stdout
    assert glue(aws_env).get_crawler(Name=crawler)["Crawler"]["State"] == "READY"


# Glue answers GetCrawler from a view that may lag StartCrawler: this hook plays that. Its first
# STALE_READS answers show the crawler as it was before the start (READY, an old failed crawl);
# the next RUNNING_READS show it crawling (moto's crawl runs on the wall clock, and on a loaded
# machine one AWS CLI call can outlast it: the hook makes the RUNNING polls certain);
# then the real (moto) answers follow, with moto's COMPLETED crawl turned into FINAL_STATUS.
CRAWLER_HOOK = """
import os
from pathlib import Path


def hook(parsed, **kwargs):
    crawler = parsed.get("Crawler") or {}
    counter = Path(os.environ["HOOK_COUNTER"])
    reads = int(counter.read_text() or 0) if counter.exists() else 0
    counter.write_text(str(reads + 1))
    if reads < int(os.environ.get("STALE_READS", "0")):
        crawler["State"] = "READY"
        crawler["LastCrawl"] = {"Status": "FAILED", "ErrorMessage": "an old failure", "StartTime": 1577836800,
                                "LogGroup": "/aws-glue/crawlers", "LogStream": crawler.get("Name")}
        return
    if reads < int(os.environ.get("STALE_READS", "0")) + int(os.environ.get("RUNNING_READS", "0")):
        crawler["State"] = "RUNNING"
        return
    last = crawler.get("LastCrawl") or {}
    if last.get("Status") == "COMPLETED":
        last["Status"] = os.environ.get("FINAL_STATUS", "SUCCEEDED")
        if os.environ.get("FINAL_MESSAGE"):
            last["ErrorMessage"] = os.environ["FINAL_MESSAGE"]
"""


def _crawler(aws_env: dict[str, str]) -> str:
    name = f"crawler-{uuid.uuid4().hex[:8]}"
    glue(aws_env).create_crawler(
        Name=name,
        Role="arn:aws:iam::123456789012:role/tweetlake-crawler",
        DatabaseName="tweetlake_raw",
        Targets={"S3Targets": [{"Path": "s3://lake/lake/raw/users/"}]},
    )
    return name


def test_start_crawler_does_not_take_a_stale_ready_for_the_end_of_its_crawl(
    aws_env: dict[str, str], run_script: ScriptRunner, moto_transitions: Any, tmp_path: Path
) -> None:
    crawler = _crawler(aws_env)
    moto_transitions("glue::crawl", {"progression": "time", "seconds": 2})
    env = {
        **_stand_in_aws(tmp_path, "GetCrawler", CRAWLER_HOOK, aws_env),
        "HOOK_COUNTER": str(tmp_path / "reads"),
        "STALE_READS": "3",  # the read before the start, then 2 polls
        "RUNNING_READS": "1",
    }
    result = run_script("start_crawler.sh", crawler, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"crawler {crawler}: READY after" in result.stdout and "last crawl SUCCEEDED" in result.stdout
    assert result.stderr.index("READY") < result.stderr.index("RUNNING")  # the stale READY came first
    assert "an old failure" not in result.stderr


@pytest.mark.parametrize(
    ("final", "message", "expected"),
    [
        (
            "FAILED",
            "Insufficient Lake Formation permission(s) on s3://lake/lake/raw/users/",
            "error: last crawl FAILED: Insufficient Lake Formation permission(s) on s3://lake/lake/raw/users/",
        ),
        ("CANCELLED", "", "error: last crawl CANCELLED\n"),
    ],
)
def test_start_crawler_exits_non_zero_with_the_message_when_the_crawl_did_not_succeed(
    aws_env: dict[str, str],
    run_script: ScriptRunner,
    moto_transitions: Any,
    tmp_path: Path,
    final: str,
    message: str,
    expected: str,
) -> None:
    crawler = _crawler(aws_env)
    moto_transitions("glue::crawl", {"progression": "time", "seconds": 1})
    env = {
        **_stand_in_aws(tmp_path, "GetCrawler", CRAWLER_HOOK, aws_env),
        "HOOK_COUNTER": str(tmp_path / "reads"),
        "FINAL_STATUS": final,
        "FINAL_MESSAGE": message,
    }
    result = run_script("start_crawler.sh", crawler, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"crawler {crawler}: READY after" in result.stdout and f"last crawl {final}" in result.stdout
    assert expected in result.stderr
    assert "None" not in result.stderr
    assert f"its log: CloudWatch Logs group /aws-glue/crawlers, stream {crawler}" in result.stderr


def test_start_crawler_gives_up_on_a_crawler_that_never_starts(
    aws_env: dict[str, str], run_script: ScriptRunner, tmp_path: Path
) -> None:
    crawler = _crawler(aws_env)
    env = {
        **_stand_in_aws(tmp_path, "GetCrawler", CRAWLER_HOOK, aws_env),
        "HOOK_COUNTER": str(tmp_path / "reads"),
        "STALE_READS": "1000",
        "TWEETLAKE_CRAWLER_START_SECONDS": "1",
    }
    result = run_script("start_crawler.sh", crawler, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"error: crawler {crawler} still READY with its previous crawl 1s after the start" in result.stderr


# Counts the script's GetWorkflowRun polls in a file, so a test can act after the script saw a state.
POLL_COUNTER_HOOK = """
import os
from pathlib import Path


def hook(parsed, **kwargs):
    counter = Path(os.environ["HOOK_COUNTER"])
    counter.write_text(str(int(counter.read_text() or 0) + 1 if counter.exists() else 1))
"""


def _finish_workflow_run(workflow: str, status: str, polls: Path | None = None, delay: float = 2.5) -> threading.Thread:
    """moto keeps workflow runs RUNNING for ever (its stop_workflow_run changes nothing): once the run
    exists — and, given ``polls`` (a :data:`POLL_COUNTER_HOOK` file), once the script has polled it —
    move it on in moto's backend (this process hosts the server) as Glue would."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.glue.models import glue_backends

    def finish() -> None:
        backend = glue_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
        for _ in range(2400):
            runs = list(backend.workflows[workflow].runs.values())
            if runs and polls is None:
                time.sleep(delay)  # let the script see RUNNING first
            if runs and (polls is None or (polls.exists() and polls.read_text())):
                runs[0].status = status  # the script saw it RUNNING (a loaded machine polls late)
                return
            time.sleep(0.05)

    thread = threading.Thread(target=finish, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize(("status", "exit_code"), [("COMPLETED", 0), ("STOPPED", 1)])
def test_run_workflow_waits_for_the_end_of_the_run(
    aws_env: dict[str, str], run_script: ScriptRunner, status: str, exit_code: int, tmp_path: Path
) -> None:
    workflow = f"{aws_env['TWEETLAKE_STACK']}-tweet-metrics"
    glue(aws_env).create_workflow(Name=workflow)
    polls = tmp_path / "polls"
    env = {**_stand_in_aws(tmp_path, "GetWorkflowRun", POLL_COUNTER_HOOK, aws_env), "HOOK_COUNTER": str(polls)}
    finisher = _finish_workflow_run(workflow, status, polls)
    result = run_script("run_workflow.sh", "tweet_metrics", env=env)
    finisher.join()
    assert result.returncode == exit_code, result.stdout + result.stderr
    assert f"workflow {workflow} run wr_" in result.stdout and f": {status} after" in result.stdout
    assert "RUNNING" in result.stderr


# moto's workflow runs have no Statistics: this hook gives a run the counts Glue would once it ends.
WORKFLOW_STATISTICS_HOOK = """
import json, os


def hook(parsed, **kwargs):
    run = parsed.get("Run") or {}
    if run.get("Status") == "COMPLETED":
        run["Statistics"] = json.loads(os.environ["WORKFLOW_STATISTICS"])
"""


@pytest.mark.parametrize(
    ("counts", "exit_code", "complaint"),
    [
        ({"SucceededActions": 2}, 0, None),
        ({"SucceededActions": 1, "ErroredActions": 1}, 1, "1 errored"),
        ({"SucceededActions": 1, "FailedActions": 1}, 1, "1 failed"),
        ({"SucceededActions": 1, "TimeoutActions": 1}, 1, "1 timed out"),
        ({"SucceededActions": 1, "StoppedActions": 1}, 1, "1 stopped"),
    ],
    ids=["all-succeeded", "errored", "failed", "timeout", "stopped"],
)
def test_run_workflow_fails_when_an_action_of_a_completed_run_did_not_succeed(
    aws_env: dict[str, str],
    run_script: ScriptRunner,
    tmp_path: Path,
    counts: dict[str, int],
    exit_code: int,
    complaint: str | None,
) -> None:
    """Glue calls a workflow run COMPLETED even when a job run in it ended in ERROR or FAILED."""
    import json

    workflow = f"wf-{uuid.uuid4().hex[:8]}"
    glue(aws_env).create_workflow(Name=workflow)
    statistics = {
        "TotalActions": 2,
        "SucceededActions": 0,
        "FailedActions": 0,
        "StoppedActions": 0,
        "TimeoutActions": 0,
        "RunningActions": 0,
        "WaitingActions": 0,
        **counts,
    }
    if "ErroredActions" not in counts:
        statistics.pop("ErroredActions", None)  # older answers leave it out: None, not a failure
    env = {
        **_stand_in_aws(tmp_path, "GetWorkflowRun", WORKFLOW_STATISTICS_HOOK, aws_env),
        "WORKFLOW_STATISTICS": json.dumps(statistics),
    }
    finisher = _finish_workflow_run(workflow, "COMPLETED", delay=0.5)
    result = run_script("run_workflow.sh", workflow, env=env)
    finisher.join()
    assert result.returncode == exit_code, result.stdout + result.stderr
    assert f"workflow {workflow} run wr_" in result.stdout and ": COMPLETED after" in result.stdout
    assert "actions: 2 total" in result.stdout
    if complaint:
        assert f"error: some actions did not succeed ({complaint})" in result.stderr
    else:
        assert "error" not in result.stderr


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
    result = run_script(
        "deploy.sh", "--email", "ops@example.org", "--accounts", "nasa,esa", "GlueExecutionClass=FLEX", env=env
    )
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


# --------------------------------------------------------------------------- AWS_PROFILE
def test_the_scripts_honour_aws_profile(aws_env: dict[str, str], run_script: ScriptRunner, tmp_path: Path) -> None:
    """Credentials and region from a named profile only (no AWS_ACCESS_KEY_ID, no AWS_REGION)."""
    job = f"job-{uuid.uuid4().hex[:8]}"
    boto3.client(
        "glue",
        endpoint_url=aws_env["AWS_ENDPOINT_URL"],
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_job(
        Name=job,
        Role="arn:aws:iam::123456789012:role/tweetlake-job",
        GlueVersion="5.1",
        Command={"Name": "glueetl", "ScriptLocation": "s3://artifacts/glue/scripts/users_job.py"},
    )
    config, credentials = tmp_path / "aws-config", tmp_path / "aws-credentials"
    config.write_text("[profile tweetlake-test]\nregion = eu-west-1\noutput = json\n")
    credentials.write_text(
        "[tweetlake-test]\naws_access_key_id = AKIAPROFILEONLY0000\naws_secret_access_key = profile-secret\n"
    )
    env = {
        k: v
        for k, v in aws_env.items()
        if k
        not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION")
    }
    env.update({"AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": str(credentials)})

    without = run_script("start_job_run.sh", job, env=env)
    assert without.returncode != 0  # the control: nothing but the profile could make it work

    result = run_script("start_job_run.sh", job, env={**env, "AWS_PROFILE": "tweetlake-test"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"job {job} run jr_" in result.stdout and ": SUCCEEDED after" in result.stdout
    eu_runs = boto3.client(
        "glue",
        endpoint_url=aws_env["AWS_ENDPOINT_URL"],
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).get_job_runs(JobName=job)
    assert len(eu_runs["JobRuns"]) == 1  # in the profile's region


# --------------------------------------------------------------------------- set_token.sh
PASS_THROUGH_AWS = """#!/usr/bin/env bash
# A stand-in for `aws` that records its arguments, then runs the real CLI with them.
printf '%s\\n' "$*" >> "$CALLS"
exec {real} "$@"
"""


def test_set_token_puts_the_token_in_the_secret_and_on_no_command_line(
    aws_env: dict[str, str], run_script: ScriptRunner, tmp_path: Path
) -> None:
    secrets = glue(aws_env, "secretsmanager")
    arn = secrets.create_secret(Name=f"tl-token-{uuid.uuid4().hex[:8]}", SecretString="placeholder")["ARN"]
    stand_in = tmp_path / "bin" / "aws"
    stand_in.parent.mkdir()
    stand_in.write_text(PASS_THROUGH_AWS.format(real=VENV_BIN / "aws"))
    stand_in.chmod(stand_in.stat().st_mode | stat.S_IEXEC)
    calls = tmp_path / "calls.txt"
    token = f"AAAA{uuid.uuid4().hex}%2Bsecret"
    env = {**aws_env, "PATH": f"{stand_in.parent}:{aws_env['PATH']}", "CALLS": str(calls), "X_BEARER_TOKEN": token}
    result = run_script("set_token.sh", "--secret-id", arn, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert secrets.get_secret_value(SecretId=arn)["SecretString"] == token
    recorded = calls.read_text()
    assert "put-secret-value" in recorded and "--secret-string file://" in recorded
    assert token not in recorded + result.stdout + result.stderr
    leftover = recorded.split("file://", 1)[1].split()[0]
    assert not Path(leftover).exists()  # the 0600 file is gone


def test_set_token_without_a_token_or_a_terminal_is_one_line_and_exit_2(
    aws_env: dict[str, str], run_script: ScriptRunner
) -> None:
    env = {k: v for k, v in aws_env.items() if k != "X_BEARER_TOKEN"}
    result = run_script("set_token.sh", "--secret-id", "arn:aws:secretsmanager:us-east-1:1:secret:x", env=env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: set X_BEARER_TOKEN, or run this on a terminal to type the token"
    ]
