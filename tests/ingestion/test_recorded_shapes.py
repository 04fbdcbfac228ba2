"""The client reads the API's recorded shapes right (tests/fixtures/xapi/), with no simulator.

Each fixture is served verbatim — its status, headers and body bytes — by a small local HTTP
server, to the real ``XClient``. The simulator is checked against the same files
(tests/simulator/test_recorded_shapes.py), so a misreading cannot hide in what both share.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from ingestion.client import XClient
from ingestion.errors import RateLimitError, UnauthorizedError, UsageCapExceeded
from tests.fixtures import Recorded, all_recorded, recorded
from tests.support import TOKEN, FakeClock

COVERED = {
    "users_by",
    "user_tweets_first_page",
    "user_tweets_last_page",
    "user_tweets_suspended",
    "tweets_lookup",
    "rate_limited",
    "unauthorized",
    "usage_capped",
}
FIRST = recorded("user_tweets_first_page")
LAST = recorded("user_tweets_last_page")
RATE_LIMITED = recorded("rate_limited")
RESET = float(RATE_LIMITED.headers["x-rate-limit-reset"])


class Replay(ThreadingHTTPServer):
    """Answers each (path, pagination_token) with its queue of fixtures, the last one repeating;
    anything else is a 404 the test sees. Every request is kept: (path, query)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[tuple[str, str | None], list[Recorded]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []

    def serve(self, *fixtures: Recorded, token: str | None = None) -> None:
        self.routes.setdefault((fixtures[0].path, token), []).extend(fixtures)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/2"


class _Handler(BaseHTTPRequestHandler):
    server: Replay

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query))
        self.server.requests.append((parts.path, query))
        queue = self.server.routes.get((parts.path, query.get("pagination_token")), [])
        fixture = (queue.pop(0) if len(queue) > 1 else queue[0]) if queue else None
        status, headers = (fixture.status, fixture.headers) if fixture else (404, {})
        body = json.dumps(fixture.body if fixture else {"title": "not in the replay"}).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def replay() -> Iterator[Replay]:
    server = Replay()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.fromtimestamp(RESET - 100, UTC))  # 100 s before the recorded window resets


def _client(replay: Replay, clock: FakeClock, **options: Any) -> XClient:
    return XClient(
        TOKEN, replay.base_url, clock=clock, sleep=clock.sleep, rng=random.Random(1), timeout=(2.0, 5.0), **options
    )


def _user_id(fixture: Recorded) -> str:
    return fixture.path.split("/")[3]  # /2/users/:id/tweets


def test_every_fixture_is_read_by_the_client() -> None:
    assert {fixture.name for fixture in all_recorded()} == COVERED


def test_a_user_lookup_keeps_the_users_found_and_the_unknown_name_as_a_partial_error(
    replay: Replay, clock: FakeClock
) -> None:
    fixture = recorded("users_by")
    replay.serve(fixture)
    names = fixture.query["usernames"].split(",")
    page = _client(replay, clock).users_by_usernames(names)
    assert page.endpoint == "GET /2/users/by"
    assert page.body == fixture.body  # the raw page, untouched
    assert [user["username"] for user in page.data] == [user["username"] for user in fixture.body["data"]]
    assert [(e["title"], e["value"]) for e in page.errors] == [("Not Found Error", names[-1])]
    ((path, query),) = replay.requests
    assert path == "/2/users/by" and query["usernames"] == ",".join(names)


def test_a_timeline_is_paged_by_next_token_until_the_last_page(replay: Replay, clock: FakeClock) -> None:
    replay.serve(FIRST)
    replay.serve(LAST, token=FIRST.body["meta"]["next_token"])
    pages = list(_client(replay, clock).user_tweets(_user_id(FIRST)))
    assert [page.body for page in pages] == [FIRST.body, LAST.body]
    assert [page.meta.get("next_token") for page in pages] == [FIRST.body["meta"]["next_token"], None]
    assert [page.includes["users"][0]["id"] for page in pages] == [_user_id(FIRST)] * 2
    ids = [tweet["id"] for page in pages for tweet in page.data]
    assert ids == [t["id"] for t in FIRST.body["data"] + LAST.body["data"]]
    assert [query.get("pagination_token") for _, query in replay.requests] == [None, FIRST.body["meta"]["next_token"]]


def test_a_suspended_timeline_is_one_page_of_errors_only(replay: Replay, clock: FakeClock) -> None:
    fixture = recorded("user_tweets_suspended")
    replay.serve(fixture)
    (page,) = list(_client(replay, clock).user_tweets(_user_id(fixture)))
    assert page.data == [] and page.meta == {} and page.includes == {}
    assert [(e["title"], e["resource_id"]) for e in page.errors] == [("Forbidden", _user_id(fixture))]
    assert len(replay.requests) == 1


def test_a_post_lookup_keeps_the_deleted_id_as_a_partial_error(replay: Replay, clock: FakeClock) -> None:
    fixture = recorded("tweets_lookup")
    replay.serve(fixture)
    ids = fixture.query["ids"].split(",")
    page = _client(replay, clock).tweets_by_ids(ids)
    assert page.endpoint == "GET /2/tweets"
    assert [tweet["id"] for tweet in page.data] == [tweet["id"] for tweet in fixture.body["data"]]
    assert [(e["title"], e["resource_type"], e["value"]) for e in page.errors] == [("Not Found Error", "tweet", ids[1])]
    assert replay.requests[0][1]["ids"] == ",".join(ids)


def test_a_spent_window_says_when_it_resets(replay: Replay, clock: FakeClock) -> None:
    replay.serve(RATE_LIMITED)
    with pytest.raises(RateLimitError) as raised:
        list(_client(replay, clock, max_rate_limit_retries=0).user_tweets(_user_id(RATE_LIMITED)))
    assert raised.value.status == 429
    assert raised.value.reset_at == RESET and raised.value.retry_after is None
    assert clock.sleeps == []


def test_a_spent_window_is_waited_out_until_its_reset_then_paging_goes_on(replay: Replay, clock: FakeClock) -> None:
    replay.serve(RATE_LIMITED, FIRST)
    replay.serve(LAST, token=FIRST.body["meta"]["next_token"])
    client = _client(replay, clock)
    pages = list(client.user_tweets(_user_id(FIRST)))
    assert [page.body for page in pages] == [FIRST.body, LAST.body]
    assert clock() >= RESET and sum(clock.sleeps) == pytest.approx(101.0)  # up to the reset second, +1
    assert client.stats.rate_limit_hits == 1
    assert len(replay.requests) == 3


@pytest.mark.parametrize(("name", "error"), [("unauthorized", UnauthorizedError), ("usage_capped", UsageCapExceeded)])
def test_a_fatal_answer_is_raised_at_once_with_its_title(
    replay: Replay, clock: FakeClock, name: str, error: type[Exception]
) -> None:
    fixture = recorded(name)
    replay.serve(fixture)
    with pytest.raises(error, match=fixture.body["title"]) as raised:
        _client(replay, clock).get(f"GET {fixture.path}", fixture.path.removeprefix("/2"), fixture.query)
    assert getattr(raised.value, "status", None) == fixture.status
    assert len(replay.requests) == 1 and clock.sleeps == []
    assert TOKEN not in str(raised.value)
