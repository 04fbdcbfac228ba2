"""Rate limits, faults, stats, control endpoints, determinism and speed of the HTTP server."""

from __future__ import annotations

import time

import pytest
import requests

from xsim import FaultConfig, SimulatorServer

TOO_MANY = {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429}
USAGE_CAPPED = {
    "account_id": 1469000000000000001,
    "product_name": "standard-basic",
    "title": "UsageCapExceeded",
    "period": "Monthly",
    "scope": "Product",
    "detail": "Usage cap exceeded: Monthly product cap",
    "type": "https://api.twitter.com/2/problems/usage-capped",
}


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_rate_limit_headers_and_429_on_a_shared_fake_clock(http: requests.Session) -> None:
    clock = FakeClock()
    with SimulatorServer(seed=1, accounts=6, rate_limits={"GET /2/tweets": 3}, rate_clock=clock) as sim:
        url = f"{sim.base_url}/tweets"
        seen = []
        for _ in range(3):
            response = http.get(url, params={"ids": "1"})
            assert response.status_code == 200
            seen.append(response.headers["x-rate-limit-remaining"])
            assert response.headers["x-rate-limit-limit"] == "3"
            assert response.headers["x-rate-limit-reset"] == str(int(clock.now) + 900)
        assert seen == ["2", "1", "0"]
        clock.now += 100
        limited = http.get(url, params={"ids": "1"})
        assert limited.status_code == 429 and limited.json() == TOO_MANY
        assert limited.headers["x-rate-limit-remaining"] == "0"
        reset = int(limited.headers["x-rate-limit-reset"])
        # other endpoints have their own windows and defaults
        other = http.get(f"{sim.base_url}/users/by", params={"usernames": "abc"})
        assert other.status_code == 200 and other.headers["x-rate-limit-limit"] == "300"
        timeline = http.get(f"{sim.base_url}/users/{sim.world.heavy.user_id}/tweets")
        assert timeline.headers["x-rate-limit-limit"] == "1500"
        clock.now = reset
        again = http.get(url, params={"ids": "1"})
        assert again.status_code == 200 and again.headers["x-rate-limit-remaining"] == "2"
        assert sim.stats.by_status()[("GET /2/tweets", 429)] == 1


def test_injected_faults_in_order(sim: SimulatorServer, http: requests.Session) -> None:
    url = f"{sim.base_url}/tweets"
    sim.faults.fail_next(n=2, status=503)
    sim.faults.usage_cap_next()
    sim.faults.rate_limit_next()
    sim.faults.drop_next()
    sim.faults.fail_next(status=500)
    first, second = http.get(url, params={"ids": "1"}), http.get(url, params={"ids": "1"})
    assert first.status_code == second.status_code == 503
    assert first.json() == {
        "title": "Service Unavailable",
        "detail": "Service Unavailable",
        "type": "about:blank",
        "status": 503,
    }
    assert "x-rate-limit-reset" in first.headers
    capped = http.get(url, params={"ids": "1"})
    assert capped.status_code == 429 and capped.json() == USAGE_CAPPED
    limited = http.get(url, params={"ids": "1"})
    assert limited.status_code == 429 and limited.json() == TOO_MANY
    assert limited.headers["x-rate-limit-remaining"] == "0" and int(limited.headers["x-rate-limit-reset"]) > time.time()
    with pytest.raises(requests.ConnectionError):
        http.get(url, params={"ids": "1"})
    failed = http.get(url, params={"ids": "1"})
    assert failed.status_code == 500 and failed.json()["title"] == "Internal Server Error"
    assert http.get(url, params={"ids": "1"}).status_code == 200
    statuses = sim.stats.by_status()
    assert statuses[("GET /2/tweets", 503)] == 2 and statuses[("GET /2/tweets", 0)] == 1


def test_injected_auth_and_access_errors_have_the_real_bodies(sim: SimulatorServer, http: requests.Session) -> None:
    """What the API answers a revoked token, an app without access to the endpoint, and a missing
    resource: the bodies of recorded responses, and no rate-limit headers before authentication."""
    url = f"{sim.base_url}/users/by"
    sim.faults.fail_next(status=401)
    sim.faults.fail_next(status=403)
    sim.faults.fail_next(status=404)
    unauthorized = http.get(url, params={"usernames": "abc"})
    assert unauthorized.status_code == 401
    assert unauthorized.json() == {
        "title": "Unauthorized",
        "detail": "Unauthorized",
        "type": "about:blank",
        "status": 401,
    }
    assert "x-rate-limit-reset" not in unauthorized.headers
    forbidden = http.get(url, params={"usernames": "abc"})
    assert forbidden.status_code == 403
    body = forbidden.json()
    assert (body["title"], body["reason"], body["type"]) == (
        "Client Forbidden",
        "client-not-enrolled",
        "https://api.twitter.com/2/problems/client-forbidden",
    )
    assert "attached to a Project" in body["detail"] and body["required_enrollment"]
    assert "x-rate-limit-reset" not in forbidden.headers
    missing = http.get(url, params={"usernames": "abc"})
    assert missing.status_code == 404 and missing.json()["title"] == "Not Found Error"
    # the real answer to a wrong token, for comparison: the same 401 body
    assert (
        requests.get(url, params={"usernames": "abc"}, headers={"Authorization": "Bearer"}, timeout=5).json()
        == unauthorized.json()
    )


def test_injected_429_header_variants(http: requests.Session) -> None:
    clock = FakeClock()
    with SimulatorServer(seed=1, accounts=6, rate_clock=clock) as sim:
        url = f"{sim.base_url}/tweets"
        sim.faults.rate_limit_next(headers="none")
        sim.faults.rate_limit_next(headers="past")
        sim.faults.rate_limit_next(headers="window", retry_after=30)
        bare = http.get(url, params={"ids": "1"})
        assert bare.status_code == 429 and bare.json() == TOO_MANY
        assert not any(h.startswith("x-rate-limit") for h in bare.headers) and "retry-after" not in bare.headers
        past = http.get(url, params={"ids": "1"})
        assert int(past.headers["x-rate-limit-reset"]) < clock.now
        told = http.get(url, params={"ids": "1"})
        assert told.headers["retry-after"] == "30" and int(told.headers["x-rate-limit-reset"]) == int(clock.now) + 900
        with pytest.raises(ValueError, match="headers"):
            sim.faults.rate_limit_next(headers="sometimes")
        requests.post(
            f"{sim.root_url}/_sim/faults",
            json={"rate_limit_next": 1, "rate_limit_headers": "none", "retry_after": 7},
            timeout=5,
        )
        controlled = http.get(url, params={"ids": "1"})
        assert controlled.status_code == 429 and controlled.headers["retry-after"] == "7"
        assert "x-rate-limit-reset" not in controlled.headers


def test_random_faults_are_seeded_and_repeatable(http: requests.Session) -> None:
    def run() -> list[int]:
        faults = FaultConfig(error_rate=0.3, drop_rate=0.2, seed=5)
        with SimulatorServer(seed=1, accounts=6, faults=faults) as sim:
            out = []
            for _ in range(40):
                try:
                    out.append(http.get(f"{sim.base_url}/tweets", params={"ids": "1"}).status_code)
                except requests.ConnectionError:
                    out.append(0)
            return out

    first, second = run(), run()
    assert first == second
    assert {0, 200} <= set(first) and set(first) & {500, 503}


def test_usage_cap_slow_and_drop_rates(http: requests.Session) -> None:
    with SimulatorServer(seed=1, accounts=6, faults=FaultConfig(usage_cap=True)) as sim:
        response = http.get(f"{sim.base_url}/users/by", params={"usernames": "abc"})
        assert response.status_code == 429 and response.json() == USAGE_CAPPED
    with SimulatorServer(seed=1, accounts=6, faults=FaultConfig(slow_rate=1.0, slow_seconds=0.3)) as sim:
        started = time.perf_counter()
        assert http.get(f"{sim.base_url}/users/by", params={"usernames": "abc"}).status_code == 200
        assert time.perf_counter() - started >= 0.3
    with (
        SimulatorServer(seed=1, accounts=6, faults=FaultConfig(drop_rate=1.0)) as sim,
        pytest.raises(requests.ConnectionError),
    ):
        http.get(f"{sim.base_url}/users/by", params={"usernames": "abc"})
    with SimulatorServer(seed=1, accounts=6, faults=FaultConfig(error_rate=1.0)) as sim:
        assert http.get(f"{sim.base_url}/users/by", params={"usernames": "abc"}).status_code in (500, 503)


def test_stats_count_every_request_by_template(sim: SimulatorServer, http: requests.Session) -> None:
    world = sim.world
    http.get(f"{sim.base_url}/users/by", params={"usernames": "abc"})
    http.get(f"{sim.base_url}/users/{world.heavy.user_id}/tweets")
    http.get(f"{sim.base_url}/users/{world.accounts[6].user_id}/tweets")
    http.get(f"{sim.base_url}/users/{world.accounts[6].user_id}")
    http.get(f"{sim.base_url}/users", params={"ids": "1"})
    http.get(f"{sim.base_url}/tweets", params={"ids": "x"})
    requests.get(f"{sim.base_url}/tweets", params={"ids": "1"}, timeout=5)  # no auth: still counted
    http.get(f"{sim.root_url}/_sim/stats")  # control plane: not counted
    assert sim.stats.counts() == {
        "GET /2/users/by": 1,
        "GET /2/users/:id/tweets": 2,
        "GET /2/users/:id": 1,
        "GET /2/users": 1,
        "GET /2/tweets": 2,
    }
    assert sim.stats.by_status()[("GET /2/tweets", 400)] == 1
    assert sim.stats.by_status()[("GET /2/tweets", 401)] == 1
    sim.stats.reset()
    assert sim.stats.counts() == {} and sim.stats.by_status() == {}


def test_http_control_endpoints(sim: SimulatorServer, http: requests.Session) -> None:
    root = sim.root_url
    http.get(f"{sim.base_url}/tweets", params={"ids": "1"})
    stats = requests.get(f"{root}/_sim/stats", timeout=5).json()
    assert stats["counts"] == {"GET /2/tweets": 1}
    assert stats["by_status"] == [{"endpoint": "GET /2/tweets", "status": 200, "count": 1}]
    assert requests.post(f"{root}/_sim/stats/reset", timeout=5).json()["counts"] == {}
    assert sim.stats.counts() == {}

    assert requests.get(f"{root}/_sim/clock", timeout=5).json() == {"now": "2026-11-22T12:00:00Z", "frozen": True}
    moved = requests.post(f"{root}/_sim/clock", json={"advance_seconds": 7200}, timeout=5).json()
    assert moved["now"] == "2026-11-22T14:00:00Z" and sim.clock.now().hour == 14
    requests.post(f"{root}/_sim/clock", json={"now": "2026-11-25T00:00:00Z"}, timeout=5)
    assert sim.clock.now().day == 25

    requests.post(f"{root}/_sim/faults", json={"fail_next": 1, "fail_status": 500}, timeout=5)
    assert http.get(f"{sim.base_url}/tweets", params={"ids": "1"}).status_code == 500
    requests.post(f"{root}/_sim/faults", json={"error_rate": 1.0}, timeout=5)
    assert sim.faults.config.error_rate == 1.0
    assert http.get(f"{sim.base_url}/tweets", params={"ids": "1"}).status_code in (500, 503)
    requests.post(f"{root}/_sim/faults", json={"error_rate": 0.0, "rate_limit_next": 1, "drop_next": 1}, timeout=5)
    assert http.get(f"{sim.base_url}/tweets", params={"ids": "1"}).status_code == 429
    with pytest.raises(requests.ConnectionError):
        http.get(f"{sim.base_url}/tweets", params={"ids": "1"})
    assert requests.post(f"{root}/_sim/faults", json={"bogus": 1}, timeout=5).status_code == 400

    world = requests.get(f"{root}/_sim/world", timeout=5).json()
    assert world["seed"] == 42 and len(world["accounts"]) == 20
    assert world["specials"] == {"heavy": 0, "quiet": 1, "suspended": 2, "protected": 3, "renamed": 4}
    assert world["accounts"][2]["status"] == "suspended"
    assert sim.stats.counts() == {"GET /2/tweets": 4}


def test_same_seed_same_bytes_different_seed_different(http: requests.Session) -> None:
    def responses(seed: int) -> list[bytes]:
        with SimulatorServer(seed=seed, accounts=8) as sim:
            uid = sim.world.accounts[6].user_id
            first = http.get(
                f"{sim.base_url}/users/{uid}/tweets",
                params={"max_results": 20, "tweet.fields": "created_at,public_metrics,entities"},
            )
            second = http.get(
                f"{sim.base_url}/users/{uid}/tweets",
                params={"max_results": 20, "pagination_token": first.json()["meta"]["next_token"]},
            )
            users = http.get(f"{sim.base_url}/users/{uid}", params={"user.fields": "description,public_metrics"})
            return [first.content, second.content, users.content]

    assert responses(11) == responses(11)
    assert responses(11) != responses(12)


def test_keep_alive_and_content_length(shared_sim: SimulatorServer, http: requests.Session) -> None:
    heavy = shared_sim.world.heavy.user_id
    query = (
        f"/2/users/{heavy}/tweets?max_results=100&tweet.fields=created_at,public_metrics,entities,"
        "author_id,conversation_id,referenced_tweets,lang,in_reply_to_user_id,edit_controls"
    )
    headers = {"Authorization": "Bearer x"}
    # (the CPU a page costs is a benchmark's figure, not a test's bar: bench/README.md)
    assert shared_sim.api.handle("GET", query, headers).status == 200
    first = http.get(shared_sim.base_url + query[2:])
    assert first.headers.get("connection", "").lower() != "close"
    assert int(first.headers["content-length"]) == len(first.content)
