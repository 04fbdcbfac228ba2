"""Pay-per-use billing: post and user reads per resource returned (includes too), de-duplicated per
UTC day of the simulator's clock, failed requests free, counts billed per request, credits that run
out (402), the monthly post cap (429 UsageCapExceeded), GET /2/usage/tweets and GET /_sim/billing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from xsim import BillingConfig, SimulatorServer

NOW = "2026-11-22T12:00:00Z"
EXPANDED = {"max_results": 100, "expansions": "author_id,referenced_tweets.id", "user.fields": "public_metrics"}


@pytest.fixture
def billed() -> Iterator[SimulatorServer]:
    with SimulatorServer(seed=42, accounts=20, now=NOW) as sim:
        yield sim


def report(sim: SimulatorServer) -> dict[str, Any]:
    response = requests.get(f"{sim.root_url}/_sim/billing", timeout=5)
    assert response.status_code == 200
    return dict(response.json())


def unique(ids: list[str]) -> set[str]:
    return set(ids)


def test_a_timeline_page_bills_its_posts_and_includes_once_a_day(
    billed: SimulatorServer, http: requests.Session
) -> None:
    heavy = billed.world.heavy
    url = f"{billed.base_url}/users/{heavy.user_id}/tweets"
    body = http.get(url, params=EXPANDED).json()
    posts = unique([t["id"] for t in body["data"]] + [t["id"] for t in body["includes"].get("tweets", [])])
    users = unique([u["id"] for u in body["includes"]["users"]])
    assert len(body["includes"].get("tweets", [])) > 0, "the page references other posts"
    first = report(billed)
    assert first["totals"] == {
        "post_reads": len(posts),
        "user_reads": len(users),
        "counts_requests": 0,
        "usd": round(len(posts) * 0.005 + len(users) * 0.010, 6),
    }
    assert first["by_endpoint"] == {"GET /2/users/:id/tweets": {"post_reads": len(posts), "user_reads": len(users)}}
    # the same page again on the same UTC day: nothing more
    http.get(url, params=EXPANDED)
    assert report(billed)["totals"] == first["totals"]
    # a lookup of posts read today costs nothing either; one not read yet costs one read
    ids = [t["id"] for t in body["data"][:5]]
    http.get(f"{billed.base_url}/tweets", params={"ids": ",".join(ids)})
    assert report(billed)["totals"]["post_reads"] == len(posts)
    # the next UTC day bills them again
    billed.clock.set("2026-11-23T00:00:01Z")
    http.get(url, params={**EXPANDED, "until_id": str(int(body["data"][0]["id"]) + 1)})
    after = report(billed)
    assert [d["date"] for d in after["days"]] == ["2026-11-22", "2026-11-23"]
    assert after["days"][1]["post_reads"] >= len(body["data"])
    assert after["totals"]["post_reads"] == len(posts) + after["days"][1]["post_reads"]


def test_user_lookups_bill_users_and_their_expanded_posts(billed: SimulatorServer, http: requests.Session) -> None:
    names = [a.username for a in billed.world.accounts[5:15]]
    body = http.get(
        f"{billed.base_url}/users/by",
        params={"usernames": ",".join(names), "expansions": "pinned_tweet_id,most_recent_tweet_id"},
    ).json()
    users = {u["id"] for u in body["data"]}
    posts = {t["id"] for t in body.get("includes", {}).get("tweets", [])}
    assert len(users) == 10 and posts
    totals = report(billed)["totals"]
    assert (totals["user_reads"], totals["post_reads"]) == (10, len(posts))
    assert totals["usd"] == round(10 * 0.010 + len(posts) * 0.005, 6)


def test_failed_requests_are_not_billed(billed: SimulatorServer, http: requests.Session) -> None:
    url = f"{billed.base_url}/users/{billed.world.heavy.user_id}/tweets"
    assert http.get(url, params={"max_results": 1000}).status_code == 400
    billed.faults.fail_next(status=503)
    assert http.get(url).status_code == 503
    billed.faults.rate_limit_next()
    assert http.get(url).status_code == 429
    # a timeline that answers only errors returns no resource: nothing to bill
    assert "errors" in http.get(f"{billed.base_url}/users/{billed.world.suspended.user_id}/tweets").json()
    assert report(billed)["totals"] == {"post_reads": 0, "user_reads": 0, "counts_requests": 0, "usd": 0}


def test_counts_are_billed_per_request(billed: SimulatorServer, http: requests.Session) -> None:
    url = f"{billed.base_url}/tweets/counts/all"
    for _ in range(3):
        assert (
            http.get(url, params={"query": f"from:{billed.world.heavy.user_id}", "granularity": "day"}).status_code
            == 200
        )
    totals = report(billed)["totals"]
    assert totals == {"post_reads": 0, "user_reads": 0, "counts_requests": 3, "usd": 0.03}


def test_credits_run_out_with_a_402(http: requests.Session) -> None:
    with SimulatorServer(seed=42, accounts=20, now=NOW, billing=BillingConfig(credits_usd=0.9)) as sim:
        url = f"{sim.base_url}/users/{sim.world.heavy.user_id}/tweets"
        first = http.get(url, params={"max_results": 100})
        assert first.status_code == 200  # $0.50
        token = first.json()["meta"]["next_token"]
        assert http.get(url, params={"max_results": 100, "pagination_token": token}).status_code == 200  # $1.00
        spent = http.get(url, params={"max_results": 100, "pagination_token": token})
        assert spent.status_code == 402
        assert spent.json() == {
            "type": "https://api.twitter.com/2/problems/credits",
            "title": "CreditsDepleted",
            "detail": "Your enrolled account [1469000000000000001] does not have any credits to fulfill this request.",
        }
        # every billable endpoint is refused; the usage endpoint still answers
        assert http.get(f"{sim.base_url}/users/by", params={"usernames": "abc"}).status_code == 402
        assert http.get(f"{sim.base_url}/usage/tweets").status_code == 200
        state = report(sim)
        assert state["totals"]["usd"] == 1.0 and state["credits"] == {"usd": 0.9, "remaining_usd": -0.1}
        assert state["refused"] == {"credits_depleted": 2}
        # topping up (the control endpoint) serves it again
        requests.post(f"{sim.root_url}/_sim/billing", json={"credits_usd": 5}, timeout=5)
        assert http.get(url, params={"max_results": 100, "pagination_token": token}).status_code == 200


def test_the_monthly_post_cap_answers_usage_capped_until_the_cycle_resets(http: requests.Session) -> None:
    config = BillingConfig(post_cap=150, cap_reset_day=5)
    with SimulatorServer(seed=42, accounts=20, now=NOW, billing=config) as sim:
        heavy = sim.world.heavy.user_id
        url = f"{sim.base_url}/users/{heavy}/tweets"
        first = http.get(url, params={"max_results": 100}).json()
        second = http.get(url, params={"max_results": 100, "pagination_token": first["meta"]["next_token"]})
        assert second.status_code == 200, "the request that crosses the cap is served whole"
        capped = http.get(url, params={"max_results": 100})
        assert capped.status_code == 429 and capped.json()["title"] == "UsageCapExceeded"
        assert http.get(f"{sim.base_url}/tweets", params={"ids": first["data"][0]["id"]}).status_code == 429
        assert http.get(f"{sim.base_url}/users/by", params={"usernames": "abc"}).status_code == 200, (
            "user reads are not capped"
        )
        usage = http.get(f"{sim.base_url}/usage/tweets").json()["data"]
        assert usage == {
            "cap_reset_day": 5,
            "project_cap": "150",
            "project_id": usage["project_id"],
            "project_usage": "200",
        }
        sim.clock.set("2026-12-04T23:59:00Z")
        assert http.get(url, params={"max_results": 10}).status_code == 429, "the cycle ends on the 5th"
        sim.clock.set("2026-12-05T00:00:00Z")
        assert http.get(url, params={"max_results": 10}).status_code == 200
        state = report(sim)
        assert state["cycle"] == {"start": "2026-12-05", "post_reads": 10, "post_cap": 150}


def test_usage_tweets_reports_daily_post_reads(billed: SimulatorServer, http: requests.Session) -> None:
    heavy = billed.world.heavy.user_id
    url = f"{billed.base_url}/users/{heavy}/tweets"
    http.get(url, params={"max_results": 100})
    billed.clock.set("2026-11-23T10:00:00Z")
    http.get(url, params={"max_results": 30})
    response = http.get(
        f"{billed.base_url}/usage/tweets", params={"days": 3, "usage.fields": "daily_project_usage,project_usage"}
    )
    assert response.status_code == 200 and response.headers["x-rate-limit-limit"] == "50"
    data = response.json()["data"]
    assert set(data) == {"daily_project_usage", "project_usage"}
    assert data["project_usage"] == "130"
    assert data["daily_project_usage"]["usage"] == [
        {"date": "2026-11-21T00:00:00.000Z", "usage": "0"},
        {"date": "2026-11-22T00:00:00.000Z", "usage": "100"},
        {"date": "2026-11-23T00:00:00.000Z", "usage": "30"},
    ]
    assert report(billed)["totals"]["post_reads"] == 130, "asking for usage is free"
    bad = http.get(f"{billed.base_url}/usage/tweets", params={"days": 91})
    assert bad.status_code == 400


def test_control_endpoint_resets_and_rejects_unknown_settings(billed: SimulatorServer, http: requests.Session) -> None:
    http.get(f"{billed.base_url}/users/{billed.world.heavy.user_id}/tweets", params={"max_results": 10})
    state = report(billed)
    assert state["days"] == [
        {
            "date": "2026-11-22",
            "post_reads": 10,
            "user_reads": 0,
            "counts_requests": 0,
            "usd": 0.05,
            "by_endpoint": {"GET /2/users/:id/tweets": {"post_reads": 10}},
        }
    ]
    bad = requests.post(f"{billed.root_url}/_sim/billing", json={"price": 1}, timeout=5)
    assert bad.status_code == 400 and "unknown billing settings" in bad.json()["detail"]
    reset = requests.post(f"{billed.root_url}/_sim/billing/reset", timeout=5).json()
    assert reset["totals"]["usd"] == 0 and reset["days"] == []
    changed = requests.post(f"{billed.root_url}/_sim/billing", json={"post_read_usd": 0.01}, timeout=5).json()
    assert changed["config"]["post_read_usd"] == 0.01
    http.get(f"{billed.base_url}/users/{billed.world.heavy.user_id}/tweets", params={"max_results": 10})
    assert report(billed)["totals"]["usd"] == 0.1
