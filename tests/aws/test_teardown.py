"""scripts/teardown.sh with the real AWS CLI against moto's server: it asks first, deletes the
stacks in order (the API, then the main stack after turning off the database's deletion
protection, then the deployment-bucket stack), and names what it keeps on purpose."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import boto3
import pytest

from tests.aws.conftest import SCRIPTS

PROTECTED_DB = {
    "Type": "AWS::RDS::DBInstance",
    "DeletionPolicy": "Snapshot",
    "Properties": {
        "Engine": "postgres",
        "DBInstanceClass": "db.t4g.micro",
        "AllocatedStorage": "20",
        "MasterUsername": "tweetlake",
        "MasterUserPassword": "not-a-real-one-1",
    },
}
MAIN = {
    "Resources": {
        "LakeBucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"},
        "ArtifactsBucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"},
        "AccessLogsBucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"},
        "DataKey": {
            "Type": "AWS::KMS::Key",
            "DeletionPolicy": "Retain",
            # a string: moto's KMS reads an object policy from CloudFormation as a dict and fails on it
            "Properties": {"KeyPolicy": json.dumps({"Version": "2012-10-17", "Statement": []})},
        },
        "Db": PROTECTED_DB,
    }
}
API = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
DEPLOY = {"Resources": {"DeployBucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"}}}


def client(aws_env: dict[str, str], service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=aws_env["AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def deployed(aws_env: dict[str, str]) -> dict[str, str]:
    """The three stacks, as deploy.sh leaves them, with the database's deletion protection on."""
    cfn = client(aws_env, "cloudformation")
    stack = aws_env["TWEETLAKE_STACK"]
    for name, template in ((stack, MAIN), (f"{stack}-api", API), (f"{stack}-deploy", DEPLOY)):
        cfn.create_stack(StackName=name, TemplateBody=json.dumps(template))
    resources = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cfn.describe_stack_resources(StackName=stack)["StackResources"]
    }
    resources["DeployBucket"] = cfn.describe_stack_resources(StackName=f"{stack}-deploy")["StackResources"][0][
        "PhysicalResourceId"
    ]
    client(aws_env, "rds").modify_db_instance(
        DBInstanceIdentifier=resources["Db"], DeletionProtection=True, ApplyImmediately=True
    )
    return resources


def teardown(aws_env: dict[str, str], *args: str, answer: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPTS / "teardown.sh"), *args],
        env=aws_env,
        input=answer,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def stacks(aws_env: dict[str, str]) -> set[str]:
    listed = client(aws_env, "cloudformation").list_stacks()["StackSummaries"]
    return {s["StackName"] for s in listed if s["StackStatus"] != "DELETE_COMPLETE"}


def test_nothing_is_deleted_unless_the_stack_name_is_typed(aws_env: dict[str, str], deployed: dict[str, str]) -> None:
    stack = aws_env["TWEETLAKE_STACK"]
    refused = teardown(aws_env, answer="yes\n")
    assert refused.returncode == 1
    assert "not confirmed: nothing was deleted" in refused.stderr
    assert {stack, f"{stack}-api", f"{stack}-deploy"} <= stacks(aws_env)
    assert deployed["LakeBucket"] in refused.stderr and "about to delete" in refused.stderr


def test_teardown_deletes_the_stacks_in_order_and_keeps_the_data(
    aws_env: dict[str, str], deployed: dict[str, str]
) -> None:
    stack = aws_env["TWEETLAKE_STACK"]
    result = teardown(aws_env, answer=f"{stack}\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert not {stack, f"{stack}-api", f"{stack}-deploy"} & stacks(aws_env)
    steps = [line for line in result.stderr.splitlines() if "/4 " in line]
    assert [s.split("==> ")[1].split(" ")[0] for s in steps] == ["1/4", "2/4", "3/4", "4/4"]
    assert f"deleting stack {stack}-api" in steps[0] and "deletion protection" in steps[1]
    s3 = client(aws_env, "s3")
    kept = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    for bucket in ("LakeBucket", "ArtifactsBucket", "AccessLogsBucket", "DeployBucket"):
        assert deployed[bucket] in kept  # retained on purpose
        assert deployed[bucket] in result.stdout
    key = client(aws_env, "kms").describe_key(KeyId=deployed["DataKey"])["KeyMetadata"]
    assert key["KeyState"] == "Enabled" and deployed["DataKey"] in result.stdout
    assert "$1 a month" in result.stdout and "per GB-month" in result.stdout


def test_without_a_stack_it_says_so(aws_env: dict[str, str]) -> None:
    result = teardown(aws_env, "--yes")
    assert result.returncode == 2
    assert (
        result.stderr.strip() == f"error: no stack {aws_env['TWEETLAKE_STACK']} in this account and region"
        " (TWEETLAKE_STACK, AWS_PROFILE, AWS_REGION?)"
    )
