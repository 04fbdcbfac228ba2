"""Every endpoint and every error code of the accounts API, served by uvicorn as ``tweetlake api`` does."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable

import pytest

from common.lake import ConflictError, Lake
from ingestion.client import XClient
from ingestion.registry import Registry
from tests.api.conftest import API_KEY, Api
from tweetlake.cli import main as tweetlake
from xsim import SimulatorServer

PROBLEM = "application/problem+json"


def assert_problem(response, status: int, type_suffix: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["title"] and "detail" in body
    assert body["instance"] == response.request.path_url.split("?")[0]
    if type_suffix:
        assert body["type"] == f"urn:tweetlake:problem:{type_suffix}"
    return body


# -- the happy paths --------------------------------------------------------------------------
def test_post_creates_then_is_idempotent(api: Api, local_lake: Lake) -> None:
    first = api.post("/accounts", json={"username": "NASA"})
    assert first.status_code == 201
    assert first.headers["location"] == "/accounts/NASA"
    body = first.json()
    assert body["username"] == "NASA" and body["user_id"] is None and body["added_at"].endswith("Z")
    again = api.post("/accounts", json={"username": "nasa"})  # usernames are case-insensitive
    assert again.status_code == 200
    assert again.json() == body
    assert [a.username for a in Registry(local_lake).list()] == ["NASA"]


def test_a_leading_at_is_dropped_as_the_cli_drops_it(api: Api, local_lake: Lake) -> None:
    created = api.post("/accounts", json={"username": "@NASA"})
    assert created.status_code == 201, created.text
    assert created.json()["username"] == "NASA"
    assert api.get("/accounts/@nasa").json()["username"] == "NASA"
    assert api.delete("/accounts/@NASA").status_code == 204
    assert Registry(local_lake).list() == []


def test_list_get_and_delete(api: Api, local_lake: Lake) -> None:
    assert api.get("/accounts").json() == {"accounts": [], "count": 0}
    for name in ("zeta", "Alpha", "mid_1"):
        assert api.post("/accounts", json={"username": name}).status_code == 201
    listed = api.get("/accounts").json()
    assert listed["count"] == 3
    assert [a["username"] for a in listed["accounts"]] == ["Alpha", "mid_1", "zeta"]
    one = api.get("/accounts/ALPHA")
    assert one.status_code == 200
    assert one.json() == listed["accounts"][0]
    assert one.json()["tweets"] == {
        "newest_id": None,
        "cursor_updated_at": None,
        "backfill_pending": False,
        "collected": None,
    }
    local_lake.put_bytes("raw/users/dt=2026-11-01/run-00000.jsonl.gz", b"kept")  # "already collected"
    removed = api.delete("/accounts/alpha")
    assert removed.status_code == 204 and removed.content == b""
    assert [a.username for a in Registry(local_lake).list()] == ["mid_1", "zeta"]
    assert local_lake.get_bytes("raw/users/dt=2026-11-01/run-00000.jsonl.gz") == b"kept"
    assert_problem(api.get("/accounts/alpha"), 404, "not-tracked")
    assert_problem(api.delete("/accounts/alpha"), 404, "not-tracked")


def test_openapi_document_is_served(api: Api) -> None:
    doc = api.get("/openapi.json").json()
    assert set(doc["paths"]) == {"/accounts", "/accounts/{username}"}
    assert doc["components"]["securitySchemes"]["apiKey"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    post = doc["paths"]["/accounts"]["post"]
    assert set(post["responses"]) >= {"200", "201", "400", "401", "404", "409", "422"}
    assert list(post["responses"]["422"]["content"]) == [PROBLEM]


# -- errors ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "problem"),
    [
        (
            "POST",
            "/accounts",
            {"data": b'{"username": ', "headers": {"content-type": "application/json"}},
            400,
            "malformed-json",
        ),
        ("POST", "/accounts", {"json": {"username": "has-dash"}}, 422, "invalid-request"),
        ("POST", "/accounts", {"json": {"username": "sixteen_chars_xx"}}, 422, "invalid-request"),
        ("POST", "/accounts", {"json": {"username": ""}}, 422, "invalid-request"),
        ("POST", "/accounts", {"json": {"username": "@@nasa"}}, 422, "invalid-request"),
        ("POST", "/accounts", {"json": {"username": 42}}, 422, "invalid-request"),
        ("POST", "/accounts", {"json": {}}, 422, "invalid-request"),
        ("POST", "/accounts", {"json": {"username": "nasa", "extra": 1}}, 422, "invalid-request"),
        ("POST", "/accounts", {"json": ["nasa"]}, 422, "invalid-request"),
        ("GET", "/accounts/has-dash", {}, 422, "invalid-request"),
        ("DELETE", "/accounts/%C3%A9mile", {}, 422, "invalid-request"),
        ("GET", "/accounts/nobody", {}, 404, "not-tracked"),
        ("DELETE", "/accounts/nobody", {}, 404, "not-tracked"),
        ("GET", "/nowhere", {}, 404, None),
        ("PUT", "/accounts", {}, 405, None),
    ],
)
def test_errors_are_problem_details(
    api: Api, method: str, path: str, kwargs: dict, status: int, problem: str | None
) -> None:
    body = assert_problem(api.request(method, path, **kwargs), status, problem)
    if status == 422:
        assert body["errors"] and all({"location", "message", "type"} <= set(e) for e in body["errors"])
    assert api.get("/accounts").json()["count"] == 0


def test_registry_giving_up_under_contention_is_a_409(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    def always_conflict(*args, **kwargs):
        raise ConflictError("state/registry.json: gave up after 100 conflicting concurrent updates")

    monkeypatch.setattr(Registry, "add", always_conflict)
    monkeypatch.setattr(Registry, "remove", always_conflict)
    assert_problem(api.post("/accounts", json={"username": "nasa"}), 409, "concurrent-update")
    response = api.delete("/accounts/nasa")
    assert_problem(response, 409, "concurrent-update")
    assert response.headers["retry-after"] == "1"


# -- auth -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-API-Key": ""},
        {"X-API-Key": "wrong-key-0123456789abcdef"},
        {"X-API-Key": API_KEY + "x"},
        {"X-API-Key": API_KEY[:-1]},
        {"Authorization": f"Bearer {API_KEY}"},
    ],
)
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/accounts", None),
        ("POST", "/accounts", {"username": "a"}),
        ("GET", "/accounts/a", None),
        ("DELETE", "/accounts/a", None),
    ],
)
def test_every_endpoint_needs_the_key(
    start_api: Callable[..., Api], local_lake: Lake, headers: dict, method: str, path: str, body: dict | None
) -> None:
    Registry(local_lake).add("a")
    anonymous = Api(start_api(local_lake).base_url, key=None)
    response = anonymous.request(method, path, json=body, headers=headers)
    assert_problem(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"].startswith("ApiKey")
    assert [a.username for a in Registry(local_lake).list()] == ["a"]  # nothing changed


def test_the_key_is_compared_in_constant_time_and_never_logged(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    caplog.set_level(logging.DEBUG)
    logging.getLogger("tweetlake.api").info("configured key is %s", API_KEY)  # the redactor catches even this
    assert api.post("/accounts", json={"username": "nasa"}).status_code == 201
    assert api.get("/accounts", headers={"X-API-Key": "wrong-key-0123456789abcdef"}).status_code == 401
    assert calls and all(b == API_KEY.encode() for _, b in calls)
    assert API_KEY not in caplog.text
    assert "***" in caplog.text


def test_auth_off_needs_no_key(start_api: Callable[..., Api], local_lake: Lake) -> None:
    api = start_api(local_lake, key=None)
    assert "X-API-Key" not in api.session.headers
    assert api.post("/accounts", json={"username": "nasa"}).status_code == 201
    assert api.get("/accounts").json()["count"] == 1
    assert api.delete("/accounts/nasa").status_code == 204
    assert "securitySchemes" not in api.get("/openapi.json").json().get("components", {})


def test_cli_refuses_to_start_without_a_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, tmp_path
) -> None:
    monkeypatch.delenv("TWEETLAKE_API_KEY", raising=False)
    assert tweetlake(["api", "--lake", tmp_path.as_uri(), "--port", "0"]) == 2
    assert "TWEETLAKE_API_KEY" in capsys.readouterr().err
    monkeypatch.setenv("TWEETLAKE_API_KEY", "short")
    assert tweetlake(["api", "--lake", tmp_path.as_uri(), "--port", "0"]) == 2
    assert "at least 16" in capsys.readouterr().err


def test_cli_serves_with_a_key(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """``tweetlake api`` hands the configured app to uvicorn (not started here)."""
    import uvicorn

    served = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.update(app=app, **kw))
    monkeypatch.setenv("TWEETLAKE_API_KEY", API_KEY)
    monkeypatch.delenv("X_BEARER_TOKEN", raising=False)
    monkeypatch.delenv("X_BEARER_TOKEN_SECRET_ARN", raising=False)
    assert tweetlake(["api", "--lake", tmp_path.as_uri(), "--port", "8089"]) == 0
    config = served["app"].state.config
    assert (served["port"], served["host"]) == (8089, "127.0.0.1")
    assert config.auth == "api_key" and config.api_key == API_KEY and config.client_factory is None
    assert tweetlake(["api", "--lake", tmp_path.as_uri(), "--no-auth"]) == 0
    assert served["app"].state.config.auth == "none"


# -- resolving on the X API (the project's simulator) ----------------------------------------
@pytest.fixture
def x_api(start_api: Callable[..., Api], local_lake: Lake, x_client_factory) -> Api:
    return start_api(local_lake, client_factory=x_client_factory)


def test_post_resolves_the_account_on_x(x_api: Api, sim: SimulatorServer, local_lake: Lake) -> None:
    account = sim.world.accounts[5]
    response = x_api.post("/accounts", json={"username": account.username.upper()})
    assert response.status_code == 201
    assert response.json()["user_id"] == account.user_id
    assert Registry(local_lake).get(account.username).user_id == account.user_id
    lookups = sim.stats.counts()["GET /2/users/by"]
    assert x_api.post("/accounts", json={"username": account.username}).status_code == 200
    assert sim.stats.counts()["GET /2/users/by"] == lookups  # already tracked: no lookup


def test_post_unknown_or_suspended_account_is_a_404(x_api: Api, sim: SimulatorServer, local_lake: Lake) -> None:
    body = assert_problem(x_api.post("/accounts", json={"username": "nobody_at_all_1"}), 404, "x-account-not-found")
    assert "nobody_at_all_1" in body["detail"]
    body = assert_problem(
        x_api.post("/accounts", json={"username": sim.world.suspended.username}), 404, "x-account-suspended"
    )
    assert "suspended" in body["detail"]
    assert Registry(local_lake).list() == []


def test_post_protected_account_is_tracked_with_its_status(x_api: Api, sim: SimulatorServer) -> None:
    response = x_api.post("/accounts", json={"username": sim.world.protected.username})
    assert response.status_code == 201
    assert response.json()["status"] == "protected"


def test_post_of_an_account_tracked_under_its_old_name_is_a_409(
    x_api: Api, sim: SimulatorServer, local_lake: Lake
) -> None:
    account = sim.world.accounts[6]
    Registry(local_lake).add("its_old_name", user_id=account.user_id)
    body = assert_problem(
        x_api.post("/accounts", json={"username": account.username}), 409, "already-tracked-under-another-name"
    )
    assert "its_old_name" in body["detail"]
    assert [a.username for a in Registry(local_lake).list()] == ["its_old_name"]


def test_x_api_failures_are_502_and_503(
    x_api: Api, sim: SimulatorServer, start_api: Callable[..., Api], local_lake: Lake
) -> None:
    sim.faults.fail_next(n=5, status=503)
    response = x_api.post("/accounts", json={"username": sim.world.accounts[5].username})
    assert_problem(response, 503, "x-api-unavailable")
    assert response.headers["retry-after"]
    bad_token = start_api(
        local_lake, client_factory=lambda: XClient("wrong-token-0123456789", sim.base_url, max_retries=0)
    )
    assert_problem(bad_token.post("/accounts", json={"username": sim.world.accounts[5].username}), 502, "x-api-error")
    assert Registry(local_lake).list() == []
