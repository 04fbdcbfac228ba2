"""The Lambda handler, invoked with API Gateway HTTP API events (payload format 2.0, shaped as AWS
documents them), answers exactly as the local server does."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from common.lake import Lake, LocalLake
from ingestion.registry import Registry
from tests.api.conftest import Api
from tests.support import TOKEN
from tweetlake.api import lambda_handler
from xsim import SimulatorServer

# https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
# (format 2.0), with the "iam" authorizer block API Gateway adds for routes with AWS_IAM auth.
DOCUMENTED_EVENT: dict[str, Any] = {
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": "/my/path",
    "rawQueryString": "parameter1=value1&parameter1=value2&parameter2=value",
    "cookies": ["cookie1", "cookie2"],
    "headers": {
        "header1": "value1",
        "header2": "value1,value2",
        "host": "id.execute-api.us-east-1.amazonaws.com",
        "x-forwarded-proto": "https",
        "x-forwarded-port": "443",
    },
    "queryStringParameters": {"parameter1": "value1,value2", "parameter2": "value"},
    "requestContext": {
        "accountId": "123456789012",
        "apiId": "api-id",
        "authorizer": {
            "iam": {
                "accessKey": "AKIAIOSFODNN7EXAMPLE",
                "accountId": "123456789012",
                "callerId": "AIDACKCEVSQ6C2EXAMPLE",
                "cognitoIdentity": None,
                "principalOrgId": None,
                "userArn": "arn:aws:iam::123456789012:user/analyst",
                "userId": "AIDACKCEVSQ6C2EXAMPLE",
            }
        },
        "domainName": "id.execute-api.us-east-1.amazonaws.com",
        "domainPrefix": "id",
        "http": {
            "method": "POST",
            "path": "/my/path",
            "protocol": "HTTP/1.1",
            "sourceIp": "192.0.2.1",
            "userAgent": "agent",
        },
        "requestId": "id",
        "routeKey": "$default",
        "stage": "$default",
        "time": "12/Mar/2020:19:03:58 +0000",
        "timeEpoch": 1583348638390,
    },
    "body": "Hello from Lambda",
    "pathParameters": {"parameter1": "value1"},
    "isBase64Encoded": False,
    "stageVariables": {"stageVariable1": "value1", "stageVariable2": "value2"},
}


def http_api_event(method: str, path: str, body: Any = None, *, iam: bool = True, b64: bool = False) -> dict:
    event = copy.deepcopy(DOCUMENTED_EVENT)
    event["rawPath"] = path
    event["rawQueryString"] = ""
    del event["queryStringParameters"], event["cookies"], event["pathParameters"]
    event["requestContext"]["http"].update(method=method, path=path)
    if not iam:
        del event["requestContext"]["authorizer"]
    if body is None:
        del event["body"]
    else:
        text = body if isinstance(body, str) else json.dumps(body)
        event["headers"]["content-type"] = "application/json"
        event["body"] = base64.b64encode(text.encode()).decode() if b64 else text
        event["isBase64Encoded"] = b64
    return event


CONTEXT = SimpleNamespace(
    function_name="tweetlake-api", aws_request_id="id", get_remaining_time_in_millis=lambda: 29000
)

SCRIPT: list[tuple[str, str, Any]] = [
    ("GET", "/accounts", None),
    ("POST", "/accounts", {"username": "NASA"}),
    ("POST", "/accounts", {"username": "nasa"}),
    ("POST", "/accounts", {"username": "esa_int"}),
    ("POST", "/accounts", {"username": "not-valid"}),
    ("POST", "/accounts", '{"username": '),
    ("GET", "/accounts", None),
    ("GET", "/accounts/nasa", None),
    ("GET", "/accounts/nobody", None),
    ("DELETE", "/accounts/NASA", None),
    ("DELETE", "/accounts/NASA", None),
    ("GET", "/accounts", None),
]


def comparable(status: int, headers: dict[str, str], body: str) -> tuple:
    headers = {k.lower(): v for k, v in headers.items()}
    parsed = json.loads(body) if body else None

    def mask(value: Any) -> Any:  # two runs are a second apart at most: added_at is the one difference
        if isinstance(value, dict):
            return {k: ("<time>" if k == "added_at" else mask(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [mask(v) for v in value]
        return value

    # an empty body has no media type (Mangum labels empty v2 bodies application/json, as API Gateway would)
    content_type = headers.get("content-type") if body else None
    return status, content_type, headers.get("location"), mask(parsed)


def test_lambda_answers_like_the_local_server(start_api: Callable[..., Api], tmp_path: Path) -> None:
    local = start_api(Lake.from_uri((tmp_path / "local").as_uri()))
    handler = lambda_handler.build_handler({"TWEETLAKE_LAKE": (tmp_path / "lambda").as_uri()})
    for number, (method, path, body) in enumerate(SCRIPT):
        kwargs = (
            {"data": body, "headers": {"content-type": "application/json"}} if isinstance(body, str) else {"json": body}
        )
        served = local.request(method, path, **kwargs)
        invoked = handler(http_api_event(method, path, body, b64=number % 2 == 1), CONTEXT)
        assert set(invoked) >= {"statusCode", "headers", "body", "isBase64Encoded"}
        assert invoked["isBase64Encoded"] is False
        expected = comparable(served.status_code, dict(served.headers), served.text)
        assert comparable(invoked["statusCode"], invoked["headers"], invoked["body"]) == expected, (method, path)
    final = json.loads(handler(http_api_event("GET", "/accounts"), CONTEXT)["body"])
    assert [a["username"] for a in final["accounts"]] == ["esa_int"]


def test_lambda_refuses_events_without_iam_auth(tmp_path: Path) -> None:
    handler = lambda_handler.build_handler({"TWEETLAKE_LAKE": tmp_path.as_uri()})
    for method, path, body in [
        ("GET", "/accounts", None),
        ("POST", "/accounts", {"username": "nasa"}),
        ("DELETE", "/accounts/nasa", None),
    ]:
        response = handler(http_api_event(method, path, body, iam=False), CONTEXT)
        assert response["statusCode"] == 401
        assert response["headers"]["content-type"] == "application/problem+json"
        assert json.loads(response["body"])["type"] == "urn:tweetlake:problem:unauthenticated"
    assert not (tmp_path / "state" / "registry.json").exists()
    doc = json.loads(handler(http_api_event("GET", "/openapi.json"), CONTEXT)["body"])
    assert "sigv4" in doc["components"]["securitySchemes"]


def test_module_handler_reads_its_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(lambda_handler, "_handler", None)
    monkeypatch.setenv("TWEETLAKE_LAKE", tmp_path.as_uri())
    monkeypatch.delenv("X_BEARER_TOKEN", raising=False)
    monkeypatch.delenv("X_BEARER_TOKEN_SECRET_ARN", raising=False)
    response = lambda_handler.handler(http_api_event("POST", "/accounts", {"username": "nasa"}), CONTEXT)
    assert response["statusCode"] == 201
    found = Registry(LocalLake(tmp_path)).get("nasa")
    assert found is not None and found.username == "nasa"
    monkeypatch.setattr(lambda_handler, "_handler", None)
    monkeypatch.delenv("TWEETLAKE_LAKE")
    with pytest.raises(RuntimeError, match="TWEETLAKE_LAKE"):
        lambda_handler.handler(http_api_event("GET", "/accounts"), CONTEXT)


def test_the_handler_resolves_accounts_with_the_token_of_its_environment(
    tmp_path: Path, sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The settings come from the mapping it is built with (the function's environment), not from
    whatever else the process holds."""
    monkeypatch.delenv("X_BEARER_TOKEN", raising=False)
    monkeypatch.setenv("X_API_BASE_URL", "http://127.0.0.1:9/2")  # nothing there: must not be used
    account = sim.world.accounts[5]
    handler = lambda_handler.build_handler(
        {"TWEETLAKE_LAKE": tmp_path.as_uri(), "X_BEARER_TOKEN": TOKEN, "X_API_BASE_URL": sim.base_url}
    )
    response = handler(http_api_event("POST", "/accounts", {"username": account.username}), CONTEXT)
    assert response["statusCode"] == 201, response["body"]
    assert json.loads(response["body"])["user_id"] == account.user_id
    assert sim.stats.counts() == {"GET /2/users/by": 1}
    unresolved = lambda_handler.build_handler({"TWEETLAKE_LAKE": (tmp_path / "other").as_uri()})
    created = unresolved(http_api_event("POST", "/accounts", {"username": account.username}), CONTEXT)
    assert json.loads(created["body"])["user_id"] is None  # no token in its environment: added unresolved
