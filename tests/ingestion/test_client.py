"""The X API client against the project's simulator: pagination, rate limits, retries, errors."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from moto import mock_aws

from common.lake import Lake
from common.layout import parse_time
from ingestion.client import XClient
from ingestion.errors import (
    ConfigurationError,
    FatalAPIError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    PaginationLoopError,
    RateLimitError,
    RetriableAPIError,
    UnauthorizedError,
    UsageCapExceeded,
)
from ingestion.ratelimit import spent_window_reset
from ingestion.state import RunLock, RunLockedError, read_json
from tests.support import TOKEN, FakeClock, logged_waits, make_client
from xsim import SimulatorServer

T2022_ID = 1477067041797046272


def test_pagination_walks_a_whole_timeline(sim: SimulatorServer, client: XClient) -> None:
    account = sim.world.accounts[5]
    truth = sim.world.timeline_ids(account.user_id)
    pages = list(client.user_tweets(account.user_id, max_results=100))
    ids = [t["id"] for page in pages for t in page.data]
    assert ids == truth  # newest first, nothing missing, nothing twice
    assert len(pages) <= len(truth) // 100 + 1 + (1 if len(truth) % 100 == 0 else 0)
    assert all(p.meta["result_count"] == len(p.data) for p in pages)
    assert client.stats.requests["GET /2/users/:id/tweets"] == len(pages)


def test_pagination_with_since_and_start_time(sim: SimulatorServer, client: XClient) -> None:
    account = sim.world.accounts[5]
    truth = sim.world.timeline_ids(account.user_id)
    since_id = truth[10]
    newer = [t["id"] for p in client.user_tweets(account.user_id, since_id=since_id) for t in p.data]
    assert newer == truth[:10]
    since_2022 = [
        t["id"] for p in client.user_tweets(account.user_id, start_time="2022-01-01T00:00:00Z") for t in p.data
    ]
    assert since_2022 == [i for i in truth if int(i) >= T2022_ID]


def test_partial_errors_are_part_of_the_page(sim: SimulatorServer, client: XClient) -> None:
    page = client.users_by_usernames([sim.world.accounts[5].username, "nobody_here_x", sim.world.suspended.username])
    assert [u["id"] for u in page.data] == [sim.world.accounts[5].user_id]
    titles = sorted(e["title"] for e in page.errors)
    assert titles == ["Forbidden", "Not Found Error"]
    assert all(e["detail"] for e in page.errors)


def test_page_with_only_errors_is_yielded_not_dropped(sim: SimulatorServer, client: XClient) -> None:
    pages = list(client.user_tweets(sim.world.suspended.user_id))
    assert len(pages) == 1
    assert pages[0].data == []
    assert pages[0].errors[0]["title"] == "Forbidden"


def test_paces_before_the_window_is_spent(fake_clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    """With x-rate-limit-remaining at 0 the client waits for the reset instead of collecting a 429."""
    with (
        SimulatorServer(
            seed=7,
            accounts=8,
            now="2026-11-22T12:00:00Z",
            token=TOKEN,
            rate_clock=fake_clock,
            rate_limits={"GET /2/users/by": 3},
        ) as sim,
        caplog.at_level(logging.WARNING),
    ):
        client = make_client(sim, fake_clock)
        for _ in range(7):
            client.users_by_usernames([sim.world.accounts[5].username])
        assert sim.stats.counts()["GET /2/users/by"] == 7
        assert not any(status == 429 for (_, status) in sim.stats.by_status())
        # two windows spent: two waits, each up to the reset (15 minutes from the window start)
        waits = logged_waits(caplog.records)
        assert len(waits) == 2
        assert all(900 <= w <= 902 for w in waits)
        assert sum(fake_clock.sleeps) == pytest.approx(sum(waits), abs=1)
        assert client.stats.rate_limit_wait_seconds == pytest.approx(sum(fake_clock.sleeps))


def test_429_waits_until_reset_then_retries(
    sim: SimulatorServer, client: XClient, fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    sim.faults.rate_limit_next(1)
    with caplog.at_level(logging.WARNING):
        page = client.users_by_usernames([sim.world.accounts[5].username])
    assert page.data
    assert sim.stats.by_status()[("GET /2/users/by", 429)] == 1
    assert sim.stats.counts()["GET /2/users/by"] == 2
    # the injected 429 names its window's reset, 15 minutes from the window's first request
    assert [round(w) for w in logged_waits(caplog.records)] == [901]
    assert sum(fake_clock.sleeps) == pytest.approx(901, abs=1)
    assert "rate limited; waiting 901s until the window resets" in caplog.text


def test_429_without_headers_ignores_an_old_windows_reset_and_backs_off(
    sim: SimulatorServer, client: XClient, fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A 429 with no x-rate-limit-* headers (a proxy's) must not reuse the reset an earlier response
    gave: by now it is past, and waiting "until" it means one second, then the next 429."""
    name = sim.world.accounts[5].username
    client.users_by_usernames([name])  # remembers this window's reset, 15 minutes ahead
    fake_clock.t += 3600  # ... which is long past when the 429s come
    sim.faults.rate_limit_next(3, headers="none")
    with caplog.at_level(logging.WARNING):
        assert client.users_by_usernames([name]).data
    waits = logged_waits(caplog.records)
    # exponential from a minute, with up to +25 % jitter
    assert len(waits) == 3
    for attempt, wait in enumerate(waits, start=1):
        assert 60 * 2 ** (attempt - 1) <= wait <= 75 * 2 ** (attempt - 1) + 1
    assert "no usable reset" in caplog.text
    assert client.stats.rate_limit_hits == 3
    assert sim.stats.counts()["GET /2/users/by"] == 5


def test_429_whose_reset_is_past_backs_off(
    sim: SimulatorServer, client: XClient, caplog: pytest.LogCaptureFixture
) -> None:
    sim.faults.rate_limit_next(1, headers="past")
    with caplog.at_level(logging.WARNING):
        assert client.users_by_usernames([sim.world.accounts[5].username]).data
    assert 60 <= logged_waits(caplog.records)[0] <= 76


def test_429_blind_backoff_is_capped(
    sim: SimulatorServer, fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(sim, fake_clock, max_rate_limit_retries=8)
    sim.faults.rate_limit_next(8, headers="none")
    with caplog.at_level(logging.WARNING):
        assert client.users_by_usernames([sim.world.accounts[5].username]).data
    waits = logged_waits(caplog.records)
    assert len(waits) == 8
    assert waits[-1] >= 900 and max(waits) <= 15 * 60 + 30


@pytest.mark.parametrize("headers", ["none", "window"])
def test_429_honours_retry_after(
    sim: SimulatorServer, client: XClient, fake_clock: FakeClock, caplog: pytest.LogCaptureFixture, headers: str
) -> None:
    """Retry-After says how long, even when the headers name a later reset: one wait of that length."""
    sim.faults.rate_limit_next(1, headers=headers, retry_after=42)
    with caplog.at_level(logging.WARNING):
        assert client.users_by_usernames([sim.world.accounts[5].username]).data
    assert logged_waits(caplog.records) == [42]
    assert sum(fake_clock.sleeps) == 42
    assert "(Retry-After)" in caplog.text


def test_a_wait_of_hours_stops_at_once_with_when_it_ends(
    sim: SimulatorServer, client: XClient, fake_clock: FakeClock
) -> None:
    """A daily limit (here a Retry-After of two hours) is not slept out in 15-minute steps."""
    sim.faults.rate_limit_next(1, headers="none", retry_after=7200)
    with pytest.raises(RateLimitError, match=r"rate limit spent until \d{4}-\d\d-\d\dT.*run again after it"):
        client.users_by_usernames([sim.world.accounts[5].username])
    assert fake_clock.sleeps == []
    assert sim.stats.counts()["GET /2/users/by"] == 1


@pytest.mark.parametrize(
    ("headers", "reset"),
    [
        ({"x-rate-limit-remaining": "0", "x-rate-limit-reset": "1000"}, 1000.0),
        # a 24-hour app limit spent while the 15-minute window still has room: its reset is the one
        (
            {
                "x-rate-limit-remaining": "7",
                "x-rate-limit-reset": "1000",
                "x-app-limit-24hour-remaining": "0",
                "x-app-limit-24hour-reset": "50000",
            },
            50000.0,
        ),
        # both spent: nothing passes before the later reset
        (
            {
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": "1000",
                "x-user-limit-24hour-remaining": "0",
                "x-user-limit-24hour-reset": "50000",
            },
            50000.0,
        ),
        ({"x-rate-limit-remaining": "7", "x-rate-limit-reset": "1000"}, 1000.0),
        ({}, None),
    ],
)
def test_a_429_names_the_reset_of_the_window_it_spent(headers: dict[str, str], reset: float | None) -> None:
    assert spent_window_reset(headers) == reset


def test_rate_limit_retries_are_bounded(sim: SimulatorServer, fake_clock: FakeClock) -> None:
    client = make_client(sim, fake_clock, max_rate_limit_retries=2)
    sim.faults.rate_limit_next(5, headers="none")
    with pytest.raises(RateLimitError):
        client.users_by_usernames([sim.world.accounts[5].username])
    assert sim.stats.counts()["GET /2/users/by"] == 3


def test_waits_renew_the_run_lock_lease(
    local_lake: Lake, sim: SimulatorServer, client: XClient, fake_clock: FakeClock
) -> None:
    """A 15-minute rate-limit wait outlasts the 10-minute lease: the client renews it between slices,
    so no other run can take the lock while this one sleeps."""
    lock = RunLock(local_lake, "tweets", "run-1", clock=fake_clock)
    lock.acquire()
    client.heartbeat = lock.heartbeat
    lapsed: list[float] = []

    def sleep_and_check(seconds: float) -> None:
        fake_clock.sleep(seconds)
        lease = read_json(local_lake, lock.key)
        if parse_time(lease["expires_at"]).timestamp() <= fake_clock():
            lapsed.append(fake_clock())

    client.sleep = sleep_and_check
    sim.faults.rate_limit_next(1)
    client.users_by_usernames([sim.world.accounts[5].username])
    assert sum(fake_clock.sleeps) >= 900
    assert max(fake_clock.sleeps) <= 60, "slept in slices"
    assert not lapsed, "the lease lapsed during the wait"
    with pytest.raises(RunLockedError):
        RunLock(local_lake, "tweets", "run-2", clock=fake_clock).acquire()


def test_backoff_sleeps_call_the_heartbeat(sim: SimulatorServer, fake_clock: FakeClock) -> None:
    client = make_client(sim, fake_clock, backoff_base=100.0, backoff_max=100.0, max_retries=1)
    beats: list[float] = []
    client.heartbeat = lambda: beats.append(fake_clock())
    sim.faults.fail_next(n=1, status=503)
    start = fake_clock()
    assert client.users_by_usernames([sim.world.accounts[5].username]).data
    after_each_slice = [start + sum(fake_clock.sleeps[: i + 1]) for i in range(len(fake_clock.sleeps))]
    assert fake_clock.sleeps and set(after_each_slice) <= set(beats), "a beat after every slice of the wait"
    assert max(fake_clock.sleeps) <= 60


def test_usage_cap_is_fatal_at_once(sim: SimulatorServer, client: XClient) -> None:
    sim.faults.usage_cap_next(1)
    with pytest.raises(UsageCapExceeded, match="usage cap"):
        client.users_by_usernames([sim.world.accounts[5].username])
    assert sim.stats.counts()["GET /2/users/by"] == 1


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_retry_with_bounded_backoff(sim: SimulatorServer, fake_clock: FakeClock, status: int) -> None:
    client = make_client(sim, fake_clock, max_retries=4, backoff_base=1.0, backoff_max=8.0)
    sim.faults.fail_next(n=3, status=status)
    assert client.users_by_usernames([sim.world.accounts[5].username]).data
    assert sim.stats.counts()["GET /2/users/by"] == 4
    # equal jitter: attempt k waits between half and all of min(8, 2**(k-1))
    for attempt, slept in enumerate(fake_clock.sleeps, start=1):
        bound = min(8.0, 2 ** (attempt - 1))
        assert bound / 2 <= slept <= bound


def test_retries_are_bounded(sim: SimulatorServer, fake_clock: FakeClock) -> None:
    client = make_client(sim, fake_clock, max_retries=3)
    sim.faults.fail_next(n=10, status=503)
    with pytest.raises(RetriableAPIError, match="giving up after 3 retries"):
        client.users_by_usernames([sim.world.accounts[5].username])
    assert sim.stats.counts()["GET /2/users/by"] == 4


def test_dropped_connection_is_retried(sim: SimulatorServer, client: XClient) -> None:
    sim.faults.drop_next(n=2)
    assert client.users_by_usernames([sim.world.accounts[5].username]).data
    assert client.stats.retries == 2


def test_timeout_is_retriable(fake_clock: FakeClock) -> None:
    from xsim import FaultConfig

    with SimulatorServer(
        seed=7,
        accounts=8,
        now="2026-11-22T12:00:00Z",
        token=TOKEN,
        rate_clock=fake_clock,
        faults=FaultConfig(slow_rate=1.0, slow_seconds=1.0),
    ) as sim:
        client = make_client(sim, fake_clock, timeout=(1.0, 0.2), max_retries=1)
        with pytest.raises(RetriableAPIError, match="timed out"):
            client.users_by_usernames([sim.world.accounts[5].username])
        assert client.stats.requests["GET /2/users/by"] == 2


@pytest.mark.parametrize(
    ("status", "error", "message"),
    [
        (401, UnauthorizedError, "Unauthorized.*X_BEARER_TOKEN"),
        (403, ForbiddenError, "Client Forbidden.*client-not-enrolled.*access level"),
        (404, NotFoundError, "Not Found Error"),
        (402, FatalAPIError, "HTTP 402.*no credits left"),
    ],
)
def test_401_402_403_404_are_fatal_at_once(
    sim: SimulatorServer, client: XClient, status: int, error: type[Exception], message: str
) -> None:
    sim.faults.fail_next(n=1, status=status)
    with pytest.raises(error, match=message):
        client.users_by_usernames([sim.world.accounts[5].username])
    assert sim.stats.counts()["GET /2/users/by"] == 1
    assert client.stats.retries == 0


class _BadGzipHandler(BaseHTTPRequestHandler):
    """Says gzip, sends something else: requests raises ContentDecodingError reading the body."""

    def do_GET(self) -> None:
        body = b"this is not gzip"
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-encoding", "gzip")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_undecodable_body_is_retriable(fake_clock: FakeClock) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BadGzipHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = XClient(TOKEN, f"http://127.0.0.1:{server.server_port}/2", max_retries=2, sleep=fake_clock.sleep)
        with pytest.raises(RetriableAPIError, match=r"giving up after 2 retries.*could not be decoded"):
            client.users_by_usernames(["anyone"])
        assert client.stats.requests["GET /2/users/by"] == 3
    finally:
        server.shutdown()


def test_unusable_base_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="X_API_BASE_URL"):
        XClient(TOKEN, "127.0.0.1:8000/2").users_by_usernames(["anyone"])


def test_bad_token_is_fatal_and_never_echoed(sim: SimulatorServer, fake_clock: FakeClock) -> None:
    wrong = "wrong-token-which-must-never-appear"
    client = XClient(wrong, sim.base_url, clock=fake_clock, sleep=fake_clock.sleep)
    with pytest.raises(UnauthorizedError) as info:
        client.users_by_usernames(["anyone"])
    assert "Unauthorized" in str(info.value)
    assert wrong not in str(info.value)
    assert wrong not in repr(info.value.body)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"max_results": 1000}, "max_results"),
        ({"max_results": 2}, "max_results"),
        ({"since_id": "not-a-number"}, "since_id"),
    ],
)
def test_invalid_requests_are_fatal_with_the_api_message(
    sim: SimulatorServer, client: XClient, params: dict, message: str
) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        list(client.user_tweets(sim.world.accounts[5].user_id, **params))


def test_no_token_in_any_log_line(
    sim: SimulatorServer, fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        client = make_client(sim, fake_clock)
        sim.faults.fail_next(n=1, status=503)
        sim.faults.rate_limit_next(1)
        logging.getLogger("test").info("echo of a header: Authorization: Bearer %s", TOKEN)
        list(client.user_tweets(sim.world.accounts[5].user_id))
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "Bearer ***" in text  # the record was redacted when it was made
    assert TOKEN not in text
    assert TOKEN not in caplog.text


LOOPING_POST_ID = "1800000000000000000"


class _LoopingHandler(BaseHTTPRequestHandler):
    """A misbehaving server: always hands out the same next_token (no real API does; the client must
    not loop forever if one ever does)."""

    def do_GET(self) -> None:
        post = {"id": LOOPING_POST_ID, "text": "x"}  # a post of 2024: inside the window a run asks for
        body = json.dumps({"data": [post], "meta": {"result_count": 1, "next_token": "same"}})
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


def test_repeated_next_token_stops_pagination() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _LoopingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = XClient(TOKEN, f"http://127.0.0.1:{server.server_port}/2")
        pages = client.user_tweets("1")
        assert next(pages).data
        assert next(pages).data
        with pytest.raises(PaginationLoopError):
            next(pages)
    finally:
        server.shutdown()


def test_token_from_environment_or_secrets_manager(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="X_BEARER_TOKEN"):
        XClient.from_env({})
    assert XClient.from_env({"X_BEARER_TOKEN": TOKEN}).session.headers["Authorization"] == f"Bearer {TOKEN}"
    with mock_aws():
        sm = boto3.client("secretsmanager", region_name="us-east-1")
        plain = sm.create_secret(Name="x-plain", SecretString="plain-secret-token-123")["ARN"]
        doc = json.dumps({"bearer_token": "json-secret-token-456"})
        as_json = sm.create_secret(Name="x-json", SecretString=doc)["ARN"]
        bad = sm.create_secret(Name="x-bad", SecretString=json.dumps({"nope": 1}))["ARN"]
        for arn, token in ((plain, "plain-secret-token-123"), (as_json, "json-secret-token-456")):
            c = XClient.from_env({"X_BEARER_TOKEN_SECRET_ARN": arn})
            assert c.session.headers["Authorization"] == f"Bearer {token}"
        with pytest.raises(ConfigurationError, match="bearer_token"):
            XClient.from_env({"X_BEARER_TOKEN_SECRET_ARN": bad})
        with pytest.raises(ConfigurationError, match="cannot read"):
            XClient.from_env({"X_BEARER_TOKEN_SECRET_ARN": plain + "-missing"})


def test_tweets_collector_stops_a_looping_account_without_moving_its_cursor(local_lake) -> None:
    from ingestion.collectors.tweets import TweetsCollector
    from ingestion.cursors import CURSORS_KEY
    from ingestion.registry import Account
    from ingestion.state import read_json

    server = ThreadingHTTPServer(("127.0.0.1", 0), _LoopingHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = XClient(TOKEN, f"http://127.0.0.1:{server.server_port}/2")
        summary = TweetsCollector(local_lake, client).run([Account("looper", "42")])
    finally:
        server.shutdown()
    assert "next_token repeated" in summary.failed["looper"]
    assert summary.records == 2  # both pages it did get are in the lake
    cursor = read_json(local_lake, CURSORS_KEY)["accounts"]["42"]
    assert cursor["newest_id"] is None, "the pass did not finish: the cursor must not move"
    assert cursor["pending"]["until_id"] == LOOPING_POST_ID
