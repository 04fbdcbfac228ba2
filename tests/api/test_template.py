"""cloudformation/api.yaml: cfn-lint-clean, and never an open endpoint nor a broad role."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file
from cfnlint.decode import decode

TEMPLATE = Path(__file__).resolve().parents[2] / "cloudformation" / "api.yaml"


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    template, matches = decode(str(TEMPLATE))
    assert not matches
    return template["Resources"]


def test_cfn_lint_reports_nothing() -> None:
    """No error, no warning (the same rules as the ``cfn-lint`` command)."""
    assert [str(match) for match in lint_file(TEMPLATE, config=ManualArgs())] == []


def test_every_route_needs_iam_auth_and_reaches_the_function(resources: dict[str, Any]) -> None:
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::ApiGatewayV2::Route"
    }
    assert set(routes) == {
        "GET /accounts",
        "POST /accounts",
        "GET /accounts/{username}",
        "DELETE /accounts/{username}",
        "GET /openapi.json",
    }
    assert all(route["AuthorizationType"] == "AWS_IAM" for route in routes.values())
    integration = resources["Integration"]["Properties"]
    assert integration["PayloadFormatVersion"] == "2.0" and integration["IntegrationType"] == "AWS_PROXY"
    function = resources["Function"]["Properties"]
    assert function["Handler"] == "tweetlake.api.lambda_handler.handler"
    assert function["Timeout"] * 1000 < integration["TimeoutInMillis"]


def test_the_stage_throttles_and_logs_access(resources: dict[str, Any]) -> None:
    stage = resources["Stage"]["Properties"]
    assert {"ThrottlingRateLimit", "ThrottlingBurstLimit"} <= set(stage["DefaultRouteSettings"])
    assert stage["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": ["AccessLogGroup", "Arn"]}
    fields = json.loads(stage["AccessLogSettings"]["Format"])
    assert "userArn" in fields and "status" in fields
    assert not any("header" in value.lower() for value in fields.values())


def _statements(policy: Any) -> list[dict[str, Any]]:
    if "Fn::If" in policy:  # a conditional policy: its "then" branch
        policy = policy["Fn::If"][1]
    return policy["PolicyDocument"]["Statement"]


def test_the_role_reaches_only_the_state_prefix(resources: dict[str, Any]) -> None:
    statements = [s for p in resources["FunctionRole"]["Properties"]["Policies"] for s in _statements(p)]
    s3 = [
        s
        for s in statements
        if any(str(a).startswith("s3:") for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]]))
    ]
    writable = [s for s in s3 if "s3:PutObject" in s["Action"]]
    assert [w["Resource"] for w in writable] == [
        {"Fn::Sub": "arn:${AWS::Partition}:s3:::${LakeBucketName}/${LakePrefix}/state/*"}
    ]
    for statement in s3:
        resource = statement["Resource"]["Fn::Sub"]
        assert resource.endswith(("/state/*", "/raw/users/*")) or (
            resource.endswith("${LakeBucketName}") and statement["Action"] == "s3:ListBucket"
        ), resource
    assert all(s["Resource"] != "*" for s in statements)
    assert all("s3:*" not in str(s["Action"]) and "s3:DeleteObject" not in str(s["Action"]) for s in statements)


def _role_s3_resources(**params: str) -> list[str]:
    """The S3 resources the function's role reaches when deployed with ``params`` (else the defaults)."""
    from tests.aws import cfn

    template = cfn.load(TEMPLATE)
    resolver = cfn.Resolver(template, {"FunctionLogGroup": "log-group"})
    resolver.params.update({"LakeBucketName": "lake", "CodeBucket": "artifacts", **params})
    policies = resolver.resolve(template["Resources"]["FunctionRole"]["Properties"]["Policies"])
    return sorted(
        statement["Resource"]
        for policy in policies
        for statement in policy["PolicyDocument"]["Statement"]
        if str(statement["Action"]).startswith(("s3:", "['s3:"))
    )


def test_by_default_the_role_reaches_state_only() -> None:
    """Least privilege by default (issue 5): raw/users/ only when ProfileSnapshotDates=true asks for it."""
    assert _role_s3_resources() == ["arn:aws:s3:::lake", "arn:aws:s3:::lake/lake/state/*"]
    assert _role_s3_resources(ProfileSnapshotDates="true") == [
        "arn:aws:s3:::lake",
        "arn:aws:s3:::lake/lake/raw/users/*",
        "arn:aws:s3:::lake/lake/state/*",
    ]


def test_the_code_key_is_given_at_each_deploy() -> None:
    """No fixed default key: a zip re-uploaded under the same key would never reach the function
    (CloudFormation sees no change); package.sh --api names each zip by its content."""
    decoded, _ = decode(str(TEMPLATE))
    code_key = decoded["Parameters"]["CodeKey"]
    assert "Default" not in code_key
    assert "package.sh --api" in code_key["Description"]
