"""The API checks before it reads: the caller first, then a 64 KiB body limit enforced while the
body arrives — on the served app (uvicorn), at the ASGI level (to count what was read), and
through the Lambda handler."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from common.lake import Lake
from ingestion.registry import Registry
from tests.api.conftest import API_KEY, Api
from tests.api.test_lambda import CONTEXT, http_api_event
from tweetlake.api import ApiConfig, create_app, lambda_handler
from tweetlake.api.app import MAX_BODY_BYTES

PROBLEM = "application/problem+json"
TOO_LARGE = "urn:tweetlake:problem:body-too-large"
UNAUTHENTICATED = "urn:tweetlake:problem:unauthenticated"
OVER = 100_000  # bytes: over the 64 KiB limit


def padded(username: str, size: int) -> bytes:
    """A valid ``{"username": …}`` body of exactly ``size`` bytes (JSON whitespace as padding)."""
    body = json.dumps({"username": username}).encode()
    return body[:-1] + b" " * (size - len(body)) + b"}"


def problem_type(response: Any) -> str:
    assert response.headers["content-type"] == PROBLEM
    return str(response.json()["type"])


def chunks(body: bytes, size: int = 8192) -> Iterator[bytes]:
    """A generator: ``requests`` sends it chunked (no Content-Length)."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.fixture
def anonymous(api: Api) -> Api:
    return Api(api.base_url, key=None)


# -- the served app ---------------------------------------------------------------------------
def test_an_unauthenticated_malformed_post_is_a_401(api: Api, anonymous: Api) -> None:
    response = anonymous.post("/accounts", data=b'{"username": ', headers={"content-type": "application/json"})
    assert response.status_code == 401 and problem_type(response) == UNAUTHENTICATED
    authenticated = api.post("/accounts", data=b'{"username": ', headers={"content-type": "application/json"})
    assert authenticated.status_code == 400 and problem_type(authenticated) == "urn:tweetlake:problem:malformed-json"


@pytest.mark.parametrize("who", ["authenticated", "anonymous"])
def test_a_100_kb_body_is_a_413(api: Api, anonymous: Api, local_lake: Lake, who: str) -> None:
    client = api if who == "authenticated" else anonymous
    response = client.post("/accounts", data=padded("nasa", OVER), headers={"content-type": "application/json"})
    assert response.status_code == 413 and problem_type(response) == TOO_LARGE
    assert response.json()["instance"] == "/accounts"
    assert Registry(local_lake).list() == []


def test_a_chunked_body_over_the_limit_is_a_413(api: Api, anonymous: Api, local_lake: Lake) -> None:
    headers = {"content-type": "application/json"}
    response = api.post("/accounts", data=chunks(padded("nasa", OVER)), headers=headers)
    assert response.status_code == 413 and problem_type(response) == TOO_LARGE
    # without the key the body is never read, whatever its size
    response = anonymous.post("/accounts", data=chunks(padded("nasa", OVER)), headers=headers)
    assert response.status_code == 401 and problem_type(response) == UNAUTHENTICATED
    assert Registry(local_lake).list() == []


def test_bodies_up_to_the_limit_are_served_as_before(api: Api, local_lake: Lake) -> None:
    headers = {"content-type": "application/json"}
    assert api.post("/accounts", data=padded("nasa", MAX_BODY_BYTES), headers=headers).status_code == 201
    assert api.post("/accounts", data=chunks(padded("esa", MAX_BODY_BYTES)), headers=headers).status_code == 201
    too_many = api.post("/accounts", data=padded("jaxa", MAX_BODY_BYTES + 1), headers=headers)
    assert too_many.status_code == 413
    assert api.post("/accounts", json={"username": "nasa"}).status_code == 200
    assert api.get("/accounts").json()["count"] == 2
    assert api.delete("/accounts/esa").status_code == 204
    assert sorted(a.username for a in Registry(local_lake).list()) == ["nasa"]


def test_every_path_but_the_document_needs_the_key(api: Api, anonymous: Api) -> None:
    assert anonymous.get("/nowhere").status_code == 401
    assert anonymous.request("PUT", "/accounts").status_code == 401
    assert api.get("/nowhere").status_code == 404
    doc = anonymous.get("/openapi.json")
    assert doc.status_code == 200
    post = doc.json()["paths"]["/accounts"]["post"]
    assert list(post["responses"]["413"]["content"]) == [PROBLEM]


# -- the ASGI level: what the app read --------------------------------------------------------
def call(app: Any, *, headers: dict[str, str], messages: list[bytes]) -> tuple[int, dict[str, Any], int]:
    """POST /accounts with ``messages`` as the body's parts; (status, body, parts the app read)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/accounts",
        "raw_path": b"/accounts",
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
        "headers": [(k.lower().encode(), v.encode()) for k, v in {"host": "testserver", **headers}.items()],
    }
    read = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        if read == len(messages):
            await asyncio.sleep(3600)  # the client waits for the answer
        read += 1
        return {"type": "http.request", "body": messages[read - 1], "more_body": read < len(messages)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(asyncio.wait_for(app(scope, receive, send), 30))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(body) if body else {}, read


@pytest.fixture
def app(local_lake: Lake) -> Any:
    return create_app(ApiConfig(lake=local_lake, api_key=API_KEY))


def test_authentication_reads_no_byte_of_the_body(app: Any, local_lake: Lake) -> None:
    body = padded("nasa", 40_000)
    parts = [body[i : i + 10_000] for i in range(0, len(body), 10_000)]
    status, problem, read = call(
        app, headers={"content-type": "application/json", "content-length": str(len(body))}, messages=parts
    )
    assert (status, problem["type"], read) == (401, UNAUTHENTICATED, 0)
    status, _, read = call(
        app,
        headers={"content-type": "application/json", "content-length": str(len(body)), "x-api-key": API_KEY},
        messages=parts,
    )
    assert (status, read) == (201, 4)
    assert [a.username for a in Registry(local_lake).list()] == ["nasa"]


def test_a_content_length_that_lies_does_not_lift_the_limit(app: Any, local_lake: Lake) -> None:
    parts = [b" " * 16_384] * 6 + [b'{"username": "nasa"}']  # 98 KiB, announced as 20 bytes
    status, problem, read = call(
        app, headers={"content-type": "application/json", "content-length": "20", "x-api-key": API_KEY}, messages=parts
    )
    assert (status, problem["type"]) == (413, TOO_LARGE)
    assert read == 5  # stopped at the part that crossed 64 KiB, the rest never read
    status, problem, read = call(
        app,
        headers={"content-type": "application/json", "content-length": "many", "x-api-key": API_KEY},
        messages=[b"{}"],
    )
    assert (status, problem["type"], read) == (400, "urn:tweetlake:problem:bad-content-length", 0)
    assert Registry(local_lake).list() == []


# -- the Lambda handler -----------------------------------------------------------------------
def test_the_lambda_handler_checks_first(tmp_path: Any) -> None:
    handler = lambda_handler.build_handler({"TWEETLAKE_LAKE": (tmp_path / "lake").as_uri()})

    def invoke(body: str, *, iam: bool = True, b64: bool = False, length: bool = False) -> tuple[int, str, str]:
        event = http_api_event("POST", "/accounts", body, iam=iam, b64=b64)
        if length:  # API Gateway forwards the client's Content-Length
            event["headers"]["content-length"] = str(len(body))
        answer = handler(event, CONTEXT)
        return answer["statusCode"], answer["headers"]["content-type"], json.loads(answer["body"])["type"]

    assert invoke('{"username": ', iam=False) == (401, PROBLEM, UNAUTHENTICATED)
    large = padded("nasa", OVER).decode()
    for b64 in (False, True):
        assert invoke(large, b64=b64) == (413, PROBLEM, TOO_LARGE)  # counted: the event has no Content-Length
        assert invoke(large, iam=False, b64=b64) == (401, PROBLEM, UNAUTHENTICATED)
        assert invoke(large, iam=False, b64=b64, length=True) == (413, PROBLEM, TOO_LARGE)
    ok = handler(http_api_event("POST", "/accounts", padded("nasa", MAX_BODY_BYTES).decode()), CONTEXT)
    assert ok["statusCode"] == 201
    assert [a.username for a in Registry(Lake.from_uri((tmp_path / "lake").as_uri())).list()] == ["nasa"]


def test_a_smaller_limit_is_a_setting(start_api: Callable[..., Api], local_lake: Lake) -> None:
    api = start_api(local_lake, max_body_bytes=64)
    assert (
        api.post("/accounts", data=padded("nasa", 65), headers={"content-type": "application/json"}).status_code == 413
    )
    assert (
        api.post("/accounts", data=padded("nasa", 64), headers={"content-type": "application/json"}).status_code == 201
    )
