"""GET /2/tweets/search/all and /2/tweets/counts/all: the query language, bounds, paging, the
1-request-per-second rule, the 300-per-window limit, the legacy plan's 403 and strict validation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from xsim import BillingConfig, SimulatorServer
from xsim.timeutil import from_ms, id_from_ms, id_from_time, ms_from_id, parse_when

NOW = "2026-11-22T12:00:00Z"
SINCE_2022 = "2022-01-01T00:00:00Z"
T2022_ID = id_from_time(parse_when(SINCE_2022))


class StepClock:
    """Epoch seconds for the simulator's rate limits that move only when a test says so."""

    def __init__(self) -> None:
        self.now = parse_when(NOW).timestamp()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> StepClock:
    return StepClock()


@pytest.fixture
def archive(clock: StepClock) -> Iterator[SimulatorServer]:
    with SimulatorServer(seed=42, accounts=20, now=NOW, rate_clock=clock) as sim:
        yield sim


def search(sim: SimulatorServer, http: requests.Session, clock: StepClock, **params: Any) -> requests.Response:
    clock.now += 1.0  # the 1-request-per-second rule: every test request comes a second later
    return http.get(f"{sim.base_url}/tweets/search/all", params=params)


def walk(sim: SimulatorServer, http: requests.Session, clock: StepClock, **params: Any) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    token = None
    while True:
        query = dict(params)
        if token:
            query["next_token"] = token
        response = search(sim, http, clock, **query)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        token = pages[-1]["meta"].get("next_token")
        if token is None:
            return pages
        assert len(pages) < 100, "pagination does not terminate"


def ids_of(pages: list[dict[str, Any]]) -> list[str]:
    return [tweet["id"] for page in pages for tweet in page.get("data", [])]


def test_search_reaches_every_post_since_2022_beyond_the_timeline_cap(
    archive: SimulatorServer, http: requests.Session, clock: StepClock
) -> None:
    heavy = archive.world.heavy
    pages = walk(
        archive,
        http,
        clock,
        query=f"from:{heavy.user_id}",
        start_time=SINCE_2022,
        max_results=500,
        **{"tweet.fields": "created_at,author_id"},
    )
    got = ids_of(pages)
    truth = [i for i in archive.world.archive_ids(heavy.user_id) if int(i) >= T2022_ID]
    assert got == truth, "every post since 2022, newest first, no gap, no duplicate"
    assert len(truth) > 3200 + 500, "more than the timeline reaches"
    assert len(pages) == -(-len(truth) // 500)
    assert all(page["meta"]["result_count"] == 500 for page in pages[:-1])
    for page in pages:
        assert page["meta"]["newest_id"] == page["data"][0]["id"]
        assert page["meta"]["oldest_id"] == page["data"][-1]["id"]
    assert {t["author_id"] for p in pages for t in p["data"]} == {heavy.user_id}
    # ... and it includes what the timeline's newest 3,200 cannot reach
    assert set(got) - set(archive.world.timeline_ids(heavy.user_id))


def test_negations_username_and_bounds(archive: SimulatorServer, http: requests.Session, clock: StepClock) -> None:
    heavy = archive.world.heavy
    truth = archive.world.archive_ids(heavy.user_id, exclude=("retweets", "replies"))
    upper, lower = truth[100], truth[700]
    pages = walk(
        archive,
        http,
        clock,
        query=f"from:{heavy.username} -is:retweet -is:reply",
        since_id=lower,
        until_id=upper,
        max_results=250,
        **{"tweet.fields": "referenced_tweets"},
    )
    got = ids_of(pages)
    assert got == truth[101:700], "since_id and until_id are exclusive"
    kinds = {ref["type"] for p in pages for t in p["data"] for ref in t.get("referenced_tweets", [])}
    assert "retweeted" not in kinds and "replied_to" not in kinds
    # start_time is inclusive, end_time exclusive (second granularity)
    everything = archive.world.archive_ids(heavy.user_id)
    newer, older = everything[50], everything[60]
    start = _iso(ms_from_id(int(older)) // 1000)
    end = _iso(ms_from_id(int(newer)) // 1000)
    window = ids_of(walk(archive, http, clock, query=f"from:{heavy.user_id}", start_time=start, end_time=end))
    assert older in window and newer not in window
    start_id, end_id = id_from_time(parse_when(start)), id_from_time(parse_when(end))
    assert window == [i for i in everything if start_id <= int(i) < end_id]


def _iso(seconds: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_without_bounds_search_ends_30_s_ago_and_reaches_back_30_days(
    archive: SimulatorServer, http: requests.Session, clock: StepClock
) -> None:
    heavy = archive.world.heavy
    newest = archive.world.archive_ids(heavy.user_id)[0]
    archive.clock.set(from_ms(ms_from_id(int(newest)) + 10_000))  # its newest post is 10 s old
    got = ids_of(walk(archive, http, clock, query=f"from:{heavy.user_id}", max_results=500))
    now_ms = archive.clock.now_ms()
    start, end = id_from_ms(now_ms - 30_000 - 30 * 86_400_000), id_from_ms(now_ms - 30_000)
    assert got == [i for i in archive.world.archive_ids(heavy.user_id) if start <= int(i) < end]
    assert got and newest not in got, "the last 30 seconds are not searchable yet"


def test_pagination_token_is_accepted_and_bound_to_its_query(
    archive: SimulatorServer, http: requests.Session, clock: StepClock
) -> None:
    heavy, other = archive.world.heavy, archive.world.accounts[7]
    first = search(archive, http, clock, query=f"from:{heavy.user_id}", start_time=SINCE_2022).json()
    token = first["meta"]["next_token"]
    second = search(archive, http, clock, query=f"from:{heavy.user_id}", start_time=SINCE_2022, pagination_token=token)
    assert second.status_code == 200
    assert int(second.json()["data"][0]["id"]) < int(first["data"][-1]["id"])
    foreign = search(archive, http, clock, query=f"from:{other.user_id}", start_time=SINCE_2022, next_token=token)
    assert foreign.status_code == 400
    assert foreign.json()["errors"][0]["message"] == f"The `next_token` query parameter value [{token}] is not valid"


def test_unsearchable_accounts_find_nothing(archive: SimulatorServer, http: requests.Session, clock: StepClock) -> None:
    for acc in (archive.world.protected, archive.world.suspended):
        body = search(archive, http, clock, query=f"from:{acc.user_id}", start_time=SINCE_2022).json()
        assert body == {"meta": {"result_count": 0}}
    assert search(archive, http, clock, query="from:nobody_here_1").json() == {"meta": {"result_count": 0}}


@pytest.mark.parametrize(
    ("params", "parameter", "message"),
    [
        ({"query": "from:42", "max_results": "9"}, "max_results", "is not between 10 and 500"),
        ({"query": "from:42", "max_results": "501"}, "max_results", "is not between 10 and 500"),
        ({"query": ""}, "query", "can not be empty"),
        ({"query": "from:42 " + "-is:reply " * 110}, "query", "1024 characters or less"),
        ({"query": "from:42 has:media"}, "query", "Reference to invalid operator 'has'"),
        ({"query": "from:42 hello"}, "query", "not 'hello' (at position 9)"),
        ({"query": "-is:retweet"}, "query", "non-negation term"),
        ({"query": "from:not-a-name!"}, "query", "Invalid value for operator 'from:'"),
        ({"query": "from:42", "exclude": "replies"}, "exclude", "is not one of"),
        ({"query": "from:42", "start_time": "2006-01-01T00:00:00Z"}, "start_time", "on or after 2006-03-21"),
        ({"query": "from:42", "end_time": "2026-11-22T11:59:55Z"}, "end_time", "minimum of 10 seconds"),
        (
            {"query": "from:42", "start_time": "2024-01-02T00:00:00Z", "end_time": "2024-01-01T00:00:00Z"},
            "end_time",
            "must be after 'start_time'",
        ),
        ({"query": "from:42", "next_token": "a", "pagination_token": "a"}, "next_token", "At most one of"),
        ({"query": "from:42", "sort_order": "oldest"}, "sort_order", "is not one of [recency,relevancy]"),
    ],
)
def test_invalid_requests_are_400_in_the_api_shape(
    archive: SimulatorServer,
    http: requests.Session,
    clock: StepClock,
    params: dict[str, str],
    parameter: str,
    message: str,
) -> None:
    response = search(archive, http, clock, **params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["title"] == "Invalid Request" and body["type"] == "https://api.twitter.com/2/problems/invalid-request"
    assert any(parameter in e["parameters"] and message in e["message"] for e in body["errors"]), body
    assert archive.billing.report(archive.clock.now_ms())["totals"]["usd"] == 0


def test_one_request_per_second_even_with_the_window_open(
    archive: SimulatorServer, http: requests.Session, clock: StepClock
) -> None:
    url = f"{archive.base_url}/tweets/search/all"
    query = {"query": f"from:{archive.world.heavy.user_id}"}
    first = http.get(url, params=query)
    assert first.status_code == 200 and first.headers["x-rate-limit-limit"] == "300"
    clock.now += 0.5
    too_soon = http.get(url, params=query)
    assert too_soon.status_code == 429
    assert too_soon.json()["title"] == "Too Many Requests"
    assert int(too_soon.headers["x-rate-limit-remaining"]) == 299, "the window still has room"
    clock.now += 0.5
    assert http.get(url, params=query).status_code == 200
    assert archive.stats.by_status()[("GET /2/tweets/search/all", 429)] == 1


def test_three_hundred_requests_a_window(archive: SimulatorServer, http: requests.Session, clock: StepClock) -> None:
    query = {"query": f"from:{archive.world.quiet.user_id}"}  # an empty answer: quick
    statuses = [search(archive, http, clock, **query).status_code for _ in range(301)]
    assert statuses[:300] == [200] * 300
    assert statuses[300] == 429
    clock.now += 900
    assert search(archive, http, clock, **query).status_code == 200


@pytest.mark.parametrize("switch", ["config", "control"])
def test_a_legacy_plan_answers_403_client_forbidden(http: requests.Session, switch: str) -> None:
    config = BillingConfig(full_archive=False) if switch == "config" else None
    with SimulatorServer(seed=42, accounts=8, now=NOW, billing=config) as sim:
        if switch == "control":
            assert (
                requests.post(f"{sim.root_url}/_sim/billing", json={"full_archive": False}, timeout=5).status_code
                == 200
            )
        for path in ("tweets/search/all", "tweets/counts/all"):
            response = http.get(f"{sim.base_url}/{path}", params={"query": f"from:{sim.world.heavy.user_id}"})
            assert response.status_code == 403
            body = response.json()
            assert (body["title"], body["reason"]) == ("Client Forbidden", "client-not-enrolled")
            assert "x-rate-limit-remaining" not in response.headers
        # the timeline is still served
        assert http.get(f"{sim.base_url}/users/{sim.world.heavy.user_id}/tweets").status_code == 200


def test_counts_all_per_day_with_31_day_pages(archive: SimulatorServer, http: requests.Session) -> None:
    heavy = archive.world.heavy
    url = f"{archive.base_url}/tweets/counts/all"
    params = {
        "query": f"from:{heavy.user_id} -is:retweet",
        "granularity": "day",
        "start_time": "2026-09-01T00:00:00Z",
        "end_time": "2026-11-22T00:00:00Z",
    }
    buckets: list[dict[str, Any]] = []
    pages = 0
    while True:
        body = http.get(url, params=params).json()
        pages += 1
        assert body["meta"]["total_tweet_count"] == sum(b["tweet_count"] for b in body["data"])
        buckets = body["data"] + buckets
        if "next_token" not in body["meta"]:
            break
        params["next_token"] = body["meta"]["next_token"]
    assert pages == 3, "82 days in pages of at most 31"
    assert len(buckets) == 82
    assert buckets[0]["start"] == "2026-09-01T00:00:00.000Z" and buckets[-1]["end"] == "2026-11-22T00:00:00.000Z"
    assert all(b["start"] < b["end"] for b in buckets)
    start, end = (id_from_time(parse_when(t)) for t in ("2026-09-01T00:00:00Z", "2026-11-22T00:00:00Z"))
    truth = [i for i in archive.world.archive_ids(heavy.user_id, exclude=("retweets",)) if start <= int(i) < end]
    assert sum(b["tweet_count"] for b in buckets) == len(truth) > 0
    one_day = [
        i
        for i in truth
        if id_from_time(parse_when("2026-10-05T00:00:00Z")) <= int(i) < id_from_time(parse_when("2026-10-06T00:00:00Z"))
    ]
    assert next(b for b in buckets if b["start"] == "2026-10-05T00:00:00.000Z")["tweet_count"] == len(one_day)
    bad = http.get(url, params={"query": f"from:{heavy.user_id}", "granularity": "week"})
    assert bad.status_code == 400 and "granularity" in bad.json()["errors"][0]["parameters"]
