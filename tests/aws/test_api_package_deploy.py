"""The REST API's way to AWS: ``scripts/package.sh --api`` builds the Lambda zip (pinned versions,
boto3 included) and uploads it at a key named by its content; ``scripts/deploy.sh --api`` deploys
cloudformation/api.yaml with the parameters taken from the main stack's outputs.

No PyPI here: the zip's dependencies come from a wheelhouse of small stand-in wheels at the versions
requirements.txt pins, next to newer decoys that pip would take if the pins were not applied.
moto's CloudFormation creates api.yaml's resources (Lambda function included, its code read from
moto's S3), so the deploy is checked for real, down to the function's code hash.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import subprocess
import uuid
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.aws import cfn
from tests.aws.conftest import ROOT, VENV_BIN, ScriptRunner

# moto's CloudFormation skips the HTTP API's resources (AWS::ApiGatewayV2::*) with a warning each
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS:UserWarning")

LAMBDA_DEPENDENCIES = ("fastapi", "mangum", "requests", "boto3", "botocore")


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if m := re.match(r"([A-Za-z0-9_.-]+)==(\S+)", line.strip()):
            pins[m[1].lower().replace("_", "-")] = m[2]
    return pins


def fake_wheel(folder: Path, name: str, version: str, requires: tuple[str, ...] = ()) -> None:
    """A minimal pure-Python wheel of ``name`` (one package that knows its version)."""
    dist = re.sub(r"[-.]+", "_", name)
    info = f"{dist}-{version}.dist-info"
    files = {
        f"{dist.lower()}/__init__.py": f'__version__ = "{version}"\n',
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        + "".join(f"Requires-Dist: {r}\n" for r in requires),
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: tweetlake-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    files[f"{info}/RECORD"] = "".join(f"{path},,\n" for path in [*files, f"{info}/RECORD"])
    with zipfile.ZipFile(folder / f"{dist}-{version}-py3-none-any.whl", "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)


def wheelhouse(folder: Path, extra: dict[str, tuple[str, tuple[str, ...]]] | None = None) -> Path:
    """Stand-ins for the Glue wheels (only copied) and for the Lambda zip's dependencies."""
    folder.mkdir(parents=True, exist_ok=True)
    keys = cfn.load()["Mappings"]["Artifacts"]["Keys"]
    for name in (keys["PsycopgWheel"], keys["PsycopgBinaryWheel"], keys["VaderSentimentWheel"]):
        (folder / name).write_bytes(b"not really a wheel")
    pins = _pins()
    for name in LAMBDA_DEPENDENCIES:
        version, requires = (extra or {}).get(name, (pins[name], ()))
        fake_wheel(folder, name, version, requires)
        fake_wheel(folder, name, "99.0.0")  # what pip would pick without the pins
    return folder


def _env(moto_endpoint: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TWEETLAKE_"))}
    env.update(
        {
            "PATH": f"{VENV_BIN}{os.pathsep}{env['PATH']}",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": moto_endpoint,
            **extra,
        }
    )
    return env


def _package(moto_endpoint: str, bucket: str, house: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "package.sh"), "--bucket", bucket, "--api"],
        env=_env(moto_endpoint, TWEETLAKE_WHEELHOUSE=str(house), TWEETLAKE_PACKAGE_DIR=str(out)),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture(scope="module")
def packaged_api(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    bucket = f"artifacts-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    house = wheelhouse(tmp_path_factory.mktemp("wheelhouse"))
    result = _package(moto_endpoint, bucket, house, tmp_path_factory.mktemp("package"))
    assert result.returncode == 0, result.stdout + result.stderr
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="lambda/")["Contents"]}
    return {"bucket": bucket, "keys": keys, "result": result, "s3": s3, "house": house}


def _zip_key(keys: set[str]) -> str:
    zips = [k for k in keys if re.fullmatch(r"lambda/tweetlake-api-[0-9a-f]{16}\.zip", k)]
    assert len(zips) == 1, keys
    return zips[0]


def test_package_api_uploads_the_zip_at_a_key_named_by_its_content(packaged_api: dict[str, Any]) -> None:
    s3, bucket = packaged_api["s3"], packaged_api["bucket"]
    key = _zip_key(packaged_api["keys"])
    assert packaged_api["keys"] == {key, "lambda/tweetlake-api.latest"}  # never the old fixed lambda/tweetlake-api.zip
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert key == f"lambda/tweetlake-api-{hashlib.sha256(body).hexdigest()[:16]}.zip"
    assert s3.get_object(Bucket=bucket, Key="lambda/tweetlake-api.latest")["Body"].read().decode().strip() == key
    assert f"s3://{bucket}/{key}" in packaged_api["result"].stdout


def test_the_lambda_zip_holds_the_app_and_boto3_at_the_pinned_versions(packaged_api: dict[str, Any]) -> None:
    body = packaged_api["s3"].get_object(Bucket=packaged_api["bucket"], Key=_zip_key(packaged_api["keys"]))["Body"]
    archive = zipfile.ZipFile(io.BytesIO(body.read()))
    names = set(archive.namelist())
    pins = _pins()
    for name in LAMBDA_DEPENDENCIES:  # boto3/botocore too: the runtime's may predate S3 conditional writes
        assert f"{name}-{pins[name]}.dist-info/METADATA" in names, name
        assert archive.read(f"{name}/__init__.py").decode() == f'__version__ = "{pins[name]}"\n'
    assert not [n for n in names if "99.0.0" in n]
    for module in (
        "tweetlake/api/lambda_handler.py",
        "tweetlake/api/app.py",
        "common/lake.py",
        "ingestion/registry.py",
    ):
        assert module in names, module
    assert not [n for n in names if "__pycache__" in n or n.startswith("bin/") or n.endswith(".pyc")]
    handler = archive.getinfo("tweetlake/api/lambda_handler.py")
    assert handler.external_attr >> 16 & 0o444 == 0o444  # readable by the Lambda runtime's user


def test_package_api_gives_the_same_key_for_the_same_content(
    packaged_api: dict[str, Any], moto_endpoint: str, tmp_path: Path
) -> None:
    result = _package(moto_endpoint, packaged_api["bucket"], packaged_api["house"], tmp_path / "again")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"s3://{packaged_api['bucket']}/{_zip_key(packaged_api['keys'])}" in result.stdout


def test_package_api_refuses_a_dependency_requirements_txt_does_not_pin(moto_endpoint: str, tmp_path: Path) -> None:
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    bucket = f"artifacts-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    house = wheelhouse(tmp_path / "house", {"mangum": (_pins()["mangum"], ("left-pad-xyz",))})
    fake_wheel(house, "left-pad-xyz", "1.0")
    result = _package(moto_endpoint, bucket, house, tmp_path / "package")
    assert result.returncode != 0
    assert "requirements.txt does not pin: left_pad_xyz==1.0" in result.stderr
    assert not s3.list_objects_v2(Bucket=bucket, Prefix="lambda/").get("Contents")


# --------------------------------------------------------------------------- deploy.sh --api
MAIN_OUTPUTS = {
    "LakeBucketName": "tl-lake-bucket",
    "LakeUri": "s3://tl-lake-bucket/lake",
    "LakeKmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "XBearerTokenSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:tl-x-token-AbCdEf",
}


def _main_stack(aws_env: dict[str, str], artifacts_bucket: str, omit: str = "") -> Any:
    """A stand-in for the main stack with its outputs (moto's CloudFormation makes no Glue or RDS)."""
    import json

    outputs = {k: v for k, v in {**MAIN_OUTPUTS, "ArtifactsBucketName": artifacts_bucket}.items() if k != omit}
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {k: {"Value": v} for k, v in outputs.items()},
    }
    cloudformation = boto3.client("cloudformation", endpoint_url=aws_env["AWS_ENDPOINT_URL"], region_name="us-east-1")
    cloudformation.create_stack(StackName=aws_env["TWEETLAKE_STACK"], TemplateBody=json.dumps(template))
    return cloudformation


def _parameters(cloudformation: Any, stack: str) -> dict[str, str]:
    found = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["Parameters"]
    return {p["ParameterKey"]: p["ParameterValue"] for p in found}


def _function_code_sha(aws_env: dict[str, str], stack: str) -> str:
    """The code hash of the stack's function (found by its name: moto's DescribeStackResource fails
    after an update of a stack with resources it does not model, such as the HTTP API)."""
    lambda_ = boto3.client("lambda", endpoint_url=aws_env["AWS_ENDPOINT_URL"], region_name="us-east-1")
    functions = lambda_.list_functions()["Functions"]
    (function,) = [f for f in functions if f["FunctionName"].startswith(f"{stack}-Function-")]
    assert function["Handler"] == "tweetlake.api.lambda_handler.handler"
    return function["CodeSha256"]


def test_deploy_api_fills_the_parameters_from_the_main_stack_and_updates_the_code(
    packaged_api: dict[str, Any], aws_env: dict[str, str], run_script: ScriptRunner
) -> None:
    cloudformation = _main_stack(aws_env, packaged_api["bucket"])
    api_stack = f"{aws_env['TWEETLAKE_STACK']}-api"
    key = _zip_key(packaged_api["keys"])
    # ProfileSnapshotDates=true: moto's IAM fails on a role policy that is !If [..., AWS::NoValue]
    # (the default false); real CloudFormation drops it. It also shows a caller's value winning.
    result = run_script("deploy.sh", "--api", "ThrottlingRateLimit=5", "ProfileSnapshotDates=true", timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    parameters = _parameters(cloudformation, api_stack)
    assert parameters == {
        **parameters,
        "LakeBucketName": "tl-lake-bucket",
        "LakePrefix": "lake",
        "LakeKmsKeyArn": MAIN_OUTPUTS["LakeKmsKeyArn"],
        "XBearerTokenSecretArn": MAIN_OUTPUTS["XBearerTokenSecretArn"],
        "CodeBucket": packaged_api["bucket"],
        "CodeKey": key,
        "ThrottlingRateLimit": "5",
        "ProfileSnapshotDates": "true",
    }
    zip_body = packaged_api["s3"].get_object(Bucket=packaged_api["bucket"], Key=key)["Body"].read()
    assert _function_code_sha(aws_env, api_stack) == base64.b64encode(hashlib.sha256(zip_body).digest()).decode()

    # new code (what package.sh --api does after a change): a new key, and a deploy replaces the code
    new_zip = io.BytesIO()
    with zipfile.ZipFile(new_zip, "w") as archive:
        archive.writestr("tweetlake/api/lambda_handler.py", "def handler(event, context):\n    return {}\n")
    new_key = f"lambda/tweetlake-api-{hashlib.sha256(new_zip.getvalue()).hexdigest()[:16]}.zip"
    packaged_api["s3"].put_object(Bucket=packaged_api["bucket"], Key=new_key, Body=new_zip.getvalue())
    result = run_script(
        "deploy.sh", "--api", "ThrottlingRateLimit=5", "ProfileSnapshotDates=true", f"CodeKey={new_key}", timeout=180
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert _parameters(cloudformation, api_stack)["CodeKey"] == new_key
    assert (
        _function_code_sha(aws_env, api_stack) == base64.b64encode(hashlib.sha256(new_zip.getvalue()).digest()).decode()
    )


def test_deploy_api_dry_run_prints_the_command_with_the_callers_values_winning(
    packaged_api: dict[str, Any], aws_env: dict[str, str], run_script: ScriptRunner
) -> None:
    cloudformation = _main_stack(aws_env, packaged_api["bucket"])
    result = run_script("deploy.sh", "--api", "--dry-run", "LakePrefix=other", "ProfileSnapshotDates=true")
    assert result.returncode == 0, result.stdout + result.stderr
    (command,) = result.stdout.splitlines()
    stack = aws_env["TWEETLAKE_STACK"]
    assert command == (
        f"aws cloudformation deploy --stack-name {stack}-api --template-file {ROOT}/cloudformation/api.yaml "
        "--no-fail-on-empty-changeset --capabilities CAPABILITY_IAM --parameter-overrides "
        f"LakeBucketName=tl-lake-bucket LakeKmsKeyArn={MAIN_OUTPUTS['LakeKmsKeyArn']} "
        f"XBearerTokenSecretArn={MAIN_OUTPUTS['XBearerTokenSecretArn']} CodeBucket={packaged_api['bucket']} "
        f"CodeKey={_zip_key(packaged_api['keys'])} LakePrefix=other ProfileSnapshotDates=true"
    )
    assert [
        s["StackName"] for s in cloudformation.describe_stacks()["Stacks"] if s["StackName"] == f"{stack}-api"
    ] == []  # nothing deployed


def test_deploy_api_asks_for_package_first_when_there_is_no_zip(
    aws_env: dict[str, str], run_script: ScriptRunner
) -> None:
    bucket = f"artifacts-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=aws_env["AWS_ENDPOINT_URL"], region_name="us-east-1").create_bucket(Bucket=bucket)
    _main_stack(aws_env, bucket)
    result = run_script("deploy.sh", "--api")
    assert result.returncode == 2
    assert f"no s3://{bucket}/lambda/tweetlake-api.latest" in result.stderr
    assert "scripts/package.sh --api" in result.stderr


@pytest.mark.parametrize("option", ["--email", "--accounts"])
def test_deploy_api_refuses_the_main_stacks_options(run_script: ScriptRunner, option: str) -> None:
    result = run_script("deploy.sh", "--api", option, "x", "--dry-run")
    assert result.returncode != 0
    assert f"{option} is for the main stack" in result.stderr


def test_deploy_api_needs_the_main_stack(run_script: ScriptRunner) -> None:
    result = run_script("deploy.sh", "--api", "--dry-run")
    assert result.returncode != 0
    assert "does not exist" in result.stderr


def test_deploy_api_names_a_missing_output_of_the_main_stack(
    packaged_api: dict[str, Any], aws_env: dict[str, str], run_script: ScriptRunner
) -> None:
    _main_stack(aws_env, packaged_api["bucket"], omit="LakeKmsKeyArn")
    result = run_script("deploy.sh", "--api", "--dry-run")
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"stack {aws_env['TWEETLAKE_STACK']} has no output LakeKmsKeyArn" in result.stderr
    assert result.stdout == ""
