"""Auth, routing and every 400 the simulator must give, in the real v2 shapes."""

from __future__ import annotations

import pytest
import requests

from xsim import SimulatorServer

INVALID = {
    "title": "Invalid Request",
    "detail": "One or more parameters to your request was invalid.",
    "type": "https://api.twitter.com/2/problems/invalid-request",
}


def assert_invalid(response: requests.Response, parameter: str) -> dict:
    assert response.status_code == 400, response.text
    body = response.json()
    assert {k: body[k] for k in INVALID} == INVALID
    assert any(parameter in error["parameters"] for error in body["errors"]), body
    assert all(isinstance(error["message"], str) for error in body["errors"])
    return body


def test_max_results_out_of_range_has_the_exact_real_body(shared_sim: SimulatorServer, http: requests.Session) -> None:
    uid = shared_sim.world.heavy.user_id
    response = http.get(f"{shared_sim.base_url}/users/{uid}/tweets", params={"max_results": "1000"})
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "parameters": {"max_results": ["1000"]},
                "message": "The `max_results` query parameter value [1000] is not between 5 and 100",
            }
        ],
        **INVALID,
    }


@pytest.mark.parametrize("value", ["4", "101", "0", "-5", "ten", ""])
def test_max_results_bounds(shared_sim: SimulatorServer, http: requests.Session, value: str) -> None:
    uid = shared_sim.world.heavy.user_id
    assert_invalid(http.get(f"{shared_sim.base_url}/users/{uid}/tweets", params={"max_results": value}), "max_results")


@pytest.mark.parametrize("value", ["5", "100"])
def test_max_results_edges_are_accepted(shared_sim: SimulatorServer, http: requests.Session, value: str) -> None:
    uid = shared_sim.world.heavy.user_id
    response = http.get(f"{shared_sim.base_url}/users/{uid}/tweets", params={"max_results": value})
    assert response.status_code == 200
    assert len(response.json()["data"]) == int(value)


@pytest.mark.parametrize(
    ("path", "params", "parameter"),
    [
        ("/tweets", {"ids": ",".join(str(10**18 + i) for i in range(101))}, "ids"),
        ("/users", {"ids": ",".join(str(1000 + i) for i in range(101))}, "ids"),
        ("/users/by", {"usernames": ",".join(f"user{i}" for i in range(101))}, "usernames"),
        ("/users/by", {"usernames": "bad-name"}, "usernames"),
        ("/users/by", {"usernames": "a_name_that_is_too_long"}, "usernames"),
        ("/users/by", {}, "usernames"),
        ("/tweets", {}, "ids"),
        ("/tweets", {"ids": "12a"}, "ids"),
        ("/users", {"ids": "-1"}, "ids"),
        ("/tweets", {"ids": "1", "foo": "bar"}, "foo"),
        ("/tweets", {"ids": "1", "tweet.fields": "created_at,favorites"}, "tweet.fields"),
        ("/tweets", {"ids": "1", "user.fields": "followers"}, "user.fields"),
        ("/tweets", {"ids": "1", "expansions": "author"}, "expansions"),
        ("/tweets", {"ids": "1", "media.fields": "nope"}, "media.fields"),
        ("/users/by", {"usernames": "abc", "expansions": "author_id"}, "expansions"),
        ("/users/by", {"usernames": "abc", "exclude": "replies"}, "exclude"),
    ],
)
def test_lookup_validation(
    shared_sim: SimulatorServer, http: requests.Session, path: str, params: dict, parameter: str
) -> None:
    assert_invalid(http.get(shared_sim.base_url + path, params=params), parameter)


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"since_id": "abc"}, "since_id"),
        ({"until_id": "12345678901234567890"}, "until_id"),
        ({"start_time": "2024-13-01T00:00:00Z"}, "start_time"),
        ({"start_time": "2024-05-01"}, "start_time"),
        ({"end_time": "yesterday"}, "end_time"),
        ({"start_time": "2009-01-01T00:00:00Z"}, "start_time"),
        ({"start_time": "2025-01-02T00:00:00Z", "end_time": "2025-01-01T00:00:00Z"}, "end_time"),
        ({"exclude": "quotes"}, "exclude"),
        ({"pagination_token": "7140dibdnow9c7btw4"}, "pagination_token"),
        ({"pagination_token": "2"}, "pagination_token"),
        ({"next_token": "abc"}, "next_token"),
        ({"tweet.fields": ""}, "tweet.fields"),
    ],
)
def test_timeline_validation(shared_sim: SimulatorServer, http: requests.Session, params: dict, parameter: str) -> None:
    uid = shared_sim.world.heavy.user_id
    assert_invalid(http.get(f"{shared_sim.base_url}/users/{uid}/tweets", params=params), parameter)


def test_malformed_path_ids(shared_sim: SimulatorServer, http: requests.Session) -> None:
    assert_invalid(http.get(f"{shared_sim.base_url}/users/abc/tweets"), "id")
    assert_invalid(http.get(f"{shared_sim.base_url}/users/12x"), "id")


def test_several_errors_are_reported_together(shared_sim: SimulatorServer, http: requests.Session) -> None:
    uid = shared_sim.world.heavy.user_id
    body = assert_invalid(
        http.get(f"{shared_sim.base_url}/users/{uid}/tweets", params={"max_results": "1", "since_id": "x"}), "since_id"
    )
    assert len(body["errors"]) == 2


def test_a_token_of_another_user_is_not_accepted(shared_sim: SimulatorServer, http: requests.Session) -> None:
    world = shared_sim.world
    first = http.get(f"{shared_sim.base_url}/users/{world.heavy.user_id}/tweets").json()
    token = first["meta"]["next_token"]
    other = world.accounts[6].user_id
    assert_invalid(
        http.get(f"{shared_sim.base_url}/users/{other}/tweets", params={"pagination_token": token}), "pagination_token"
    )
    tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    assert_invalid(
        http.get(f"{shared_sim.base_url}/users/{world.heavy.user_id}/tweets", params={"pagination_token": tampered}),
        "pagination_token",
    )


UNAUTHORIZED = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}


@pytest.mark.parametrize("header", [None, "", "Bearer ", "Basic dXNlcjpwYXNz", "bearer"])
def test_missing_or_malformed_bearer_is_401(shared_sim: SimulatorServer, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = requests.get(f"{shared_sim.base_url}/tweets", params={"ids": "1"}, headers=headers, timeout=5)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_a_configured_token_must_match() -> None:
    with SimulatorServer(seed=1, accounts=6, token="s3cret") as sim:
        url = f"{sim.base_url}/users/by"
        wrong = requests.get(url, params={"usernames": "abc"}, headers={"Authorization": "Bearer nope"}, timeout=5)
        right = requests.get(url, params={"usernames": "abc"}, headers={"Authorization": "Bearer s3cret"}, timeout=5)
        assert wrong.status_code == 401 and wrong.json() == UNAUTHORIZED
        assert right.status_code == 200


def test_unknown_routes_are_404(shared_sim: SimulatorServer, http: requests.Session) -> None:
    assert http.get(f"{shared_sim.base_url}/tweets/search/recent", params={"query": "x"}).status_code == 404
    assert http.get(f"{shared_sim.root_url}/1.1/statuses/user_timeline.json").status_code == 404
    assert http.post(f"{shared_sim.base_url}/tweets", json={"text": "hi"}).status_code == 404
    assert http.get(f"{shared_sim.base_url}/users/by/").status_code == 404
