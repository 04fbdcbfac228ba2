"""The simulator answers in the shapes the API's documentation records (tests/fixtures/xapi/).

Each fixture's request is asked of the simulator, over HTTP, for many of its accounts and posts,
and every answer must have the fixture's shape (tests/simulator/shapes.py) and its rate-limit
headers. The client is checked against the very same files (tests/ingestion/test_recorded_shapes.py),
so neither can drift away from the recorded API alone, nor both together.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
import requests

from tests.fixtures import Recorded, all_recorded, recorded
from tests.simulator.conftest import NOW
from tests.simulator.shapes import Shapes, header_mismatches
from xsim import SimulatorServer, World

FIXTURES = {fixture.name: fixture for fixture in all_recorded()}
SHAPES = Shapes.learn(list(FIXTURES.values()))
MISSING_USERNAME = "not_a_user_x1"

Answers = Callable[[SimulatorServer, requests.Session], list[requests.Response]]


def _ask(
    sim: SimulatorServer, http: requests.Session, like: Recorded, path: str | None = None, **query: str
) -> requests.Response:
    return http.get(f"{sim.root_url}{path or like.path}", params={**like.query, **query}, timeout=30)


def _active(world: World) -> list[Any]:
    return [acc for acc in world.accounts if acc.status == "active"]


def _users_by(sim: SimulatorServer, http: requests.Session) -> list[requests.Response]:
    names = [acc.username for acc in sim.world.accounts] + [MISSING_USERNAME]
    return [_ask(sim, http, FIXTURES["users_by"], usernames=",".join(names))]


@functools.cache
def _timelines(sim: SimulatorServer, http: requests.Session) -> tuple[list[requests.Response], list[requests.Response]]:
    """Timeline pages (100 a page) of the accounts with more than one: (first pages, the others);
    the others of the timelines up to 1,000 posts only, to stay quick."""
    like = FIXTURES["user_tweets_first_page"]
    size, walk_up_to = 100, 1000
    firsts: list[requests.Response] = []
    others: list[requests.Response] = []
    for acc in _active(sim.world):
        posts = len(sim.world.timeline_ids(acc.user_id))
        if posts <= size:
            continue
        path, token = f"/2/users/{acc.user_id}/tweets", None
        while True:
            paging = {"pagination_token": token} if token else {}
            response = _ask(sim, http, like, path, max_results=str(size), **paging)
            (others if token else firsts).append(response)
            token = response.json().get("meta", {}).get("next_token")
            if not token or posts > walk_up_to:
                break
    assert others, "some timelines are walked to their last page"
    return firsts, others


def _first_pages(sim: SimulatorServer, http: requests.Session) -> list[requests.Response]:
    return _timelines(sim, http)[0]


def _last_pages(sim: SimulatorServer, http: requests.Session) -> list[requests.Response]:
    """The pages after the first: the last ones carry no next_token (compared with the last page),
    the ones between do (compared with the first page by `_middle_pages`)."""
    return [r for r in _timelines(sim, http)[1] if "next_token" not in r.json()["meta"] and r.json().get("data")]


def _middle_pages(sim: SimulatorServer, http: requests.Session) -> list[requests.Response]:
    """Pages between the first and the last: a first page's shape plus the `previous_token` of a
    page reached by a token (the last page shows it); `_body` takes that token off to compare."""
    return [r for r in _timelines(sim, http)[1] if "next_token" in r.json()["meta"]]


def _body(response: requests.Response, like: Recorded) -> Any:
    body = response.json()
    if like.name == "user_tweets_first_page" and "pagination_token" in response.request.url:  # type: ignore[operator]
        assert isinstance(body["meta"].pop("previous_token"), str)
    return body


def _not_served_timelines(sim: SimulatorServer, http: requests.Session) -> list[requests.Response]:
    """A suspended, a protected and an unknown account: a 200 with only `errors`."""
    like = FIXTURES["user_tweets_suspended"]
    ids = [sim.world.suspended.user_id, sim.world.protected.user_id, "1"]
    return [_ask(sim, http, like, f"/2/users/{user_id}/tweets") for user_id in ids]


def _deleted_before(world: World, now: datetime) -> list[str]:
    return [
        tid
        for acc in _active(world)
        for tid, deleted_at in world.deleted_tweets(acc.user_id)
        if deleted_at <= now and world.tweet_status(tid) == "not_found"
    ]


def _tweets_lookup(sim: SimulatorServer, http: requests.Session) -> list[requests.Response]:
    """Posts of every kind (replies, retweets, quotes, long and edited ones), with deleted ids."""
    world = sim.world
    found = [tid for acc in _active(world) for tid in world.timeline_ids(acc.user_id)[:25]]
    found += [
        version
        for acc in _active(world)
        for chain in world.edited_tweets(acc.user_id)[-3:]
        for version in chain
        if world.tweet_status(version) == "ok"
    ]
    deleted = _deleted_before(world, world.now())[:10]
    assert deleted, "the world has deleted posts to look up"
    like = FIXTURES["tweets_lookup"]
    return [_ask(sim, http, like, ids=",".join(found[i : i + 95] + deleted[:5])) for i in range(0, len(found), 95)]


def _rate_limited(sim: SimulatorServer, http: requests.Session) -> list[requests.Response]:
    like = FIXTURES["rate_limited"]
    with SimulatorServer(seed=42, accounts=20, now=NOW, rate_limits={"GET /2/users/:id/tweets": 1}) as limited:
        path = f"/2/users/{limited.world.heavy.user_id}/tweets"
        assert _ask(limited, http, like, path).status_code == 200
        return [_ask(limited, http, like, path)]


def _unauthorized(sim: SimulatorServer, http: requests.Session) -> list[requests.Response]:
    like = FIXTURES["unauthorized"]
    return [
        requests.get(f"{sim.root_url}{like.path}", params=like.query, timeout=30),
        requests.get(f"{sim.root_url}{like.path}", params=like.query, headers={"Authorization": "Basic x"}, timeout=30),
    ]


def _usage_capped(sim: SimulatorServer, http: requests.Session) -> list[requests.Response]:
    like = FIXTURES["usage_capped"]
    with SimulatorServer(seed=42, accounts=20, now=NOW) as capped:
        capped.faults.usage_cap_next(1)
        return [_ask(capped, http, like, ids=capped.world.timeline_ids(capped.world.heavy.user_id)[0])]


SIMULATED: dict[str, list[Answers]] = {
    "users_by": [_users_by],
    "user_tweets_first_page": [_first_pages, _middle_pages],
    "user_tweets_last_page": [_last_pages],
    "user_tweets_suspended": [_not_served_timelines],
    "tweets_lookup": [_tweets_lookup],
    "rate_limited": [_rate_limited],
    "unauthorized": [_unauthorized],
    "usage_capped": [_usage_capped],
}


def test_every_fixture_is_asked_of_the_simulator() -> None:
    assert set(SIMULATED) == set(FIXTURES)


@pytest.mark.parametrize("name", sorted(SIMULATED))
def test_the_simulator_answers_in_the_recorded_shape(
    name: str, shared_sim: SimulatorServer, http: requests.Session
) -> None:
    like = FIXTURES[name]
    answers = [response for produce in SIMULATED[name] for response in produce(shared_sim, http)]
    assert answers
    for response in answers:
        assert response.status_code == like.status, response.text
        problems = SHAPES.mismatches(_body(response, like), like) + header_mismatches(dict(response.headers), like)
        assert problems == [], f"{response.url.split('?')[0]}: {problems}"


def test_the_answers_cover_every_kind_of_recorded_post_and_user(
    shared_sim: SimulatorServer, http: requests.Session
) -> None:
    """The simulator's side of the comparison is no weaker than the fixtures: its answers hold
    every optional field the fixtures show (except those the simulator never fills, named here)."""
    never_filled = {"entities": {"annotations"}, "entities.urls.[]": {"status", "title", "description", "unwound_url"}}
    seen: dict[str, set[str]] = {}

    def collect(label: str, value: Any) -> None:
        if isinstance(value, dict):
            seen.setdefault(label, set()).update(value)

    for name, produce in (
        ("user_tweets_first_page", _first_pages),
        ("tweets_lookup", _tweets_lookup),
        ("users_by", _users_by),
    ):
        for response in produce(shared_sim, http):
            SHAPES.walk(response.json(), FIXTURES[name], collect)
    for label in (
        "tweet",
        "tweet.public_metrics",
        "tweet.edit_controls",
        "entities",
        "entities.urls.[]",
        "user",
        "user.public_metrics",
        "user.entities",
    ):
        expected = SHAPES.allowed(label) - never_filled.get(label, set())
        assert expected <= seen.get(label, set()), (label, sorted(expected - seen.get(label, set())))


def test_the_shape_check_finds_a_missing_an_extra_and_a_retyped_key() -> None:
    like = FIXTURES["users_by"]
    body = recorded("users_by").body
    assert SHAPES.mismatches(body, like) == []
    user = body["data"][0]
    del user["username"]
    user["followers"] = 3
    user["protected"] = "false"
    body["errors"][0]["section"] = "includes"
    problems = SHAPES.mismatches(body, like)
    assert any("lacks ['username']" in p for p in problems)
    assert any("['followers']" in p for p in problems)
    assert any(p.startswith("user.protected: string") for p in problems)
    assert any(p.startswith("partial_error: keys ['section']") for p in problems)
