"""The X API v2 client: one session, every endpoint a method, typed errors, bounded retries, pagination.

* retriable — 5xx, 408/425, timeouts, connection resets, a body cut short or undecodable, a 200
  whose body is not what its endpoint's ``expect`` asks (:mod:`ingestion.page`): bounded
  exponential backoff with jitter; 429s follow the one waiting rule of :mod:`ingestion.ratelimit`;
* fatal — 400, 401, 402, 403, 404 and the monthly usage cap: raised at once, with the API's words
  (:mod:`ingestion.responses`).

Partial errors (a 200 with an ``errors`` array) are part of the page. Every wait sleeps in slices
that call :attr:`XClient.heartbeat` (the run lock's lease). Each request has a wall-clock deadline
and follows redirects only within the API's origin (:mod:`ingestion.transport`). The bearer token
lives only in the session's ``Authorization`` header and is redacted from every log line. The
rules, and why: ``docs/ingestion.md``.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

from common import __version__
from common.logs import register_secret
from common.settings import Settings, api_base_url
from ingestion.errors import (
    ConfigurationError,
    FatalAPIError,
    MalformedResponse,
    PaginationLoopError,
    RateLimitError,
    RetriableAPIError,
    UsageCapExceeded,
)
from ingestion.page import (
    Expect,
    Page,
    expect_counts,
    expect_lookup,
    expect_page,
    expect_usage,
    expect_user,
    expect_users_lookup,
    paginate,
)
from ingestion.ratelimit import SEARCH_ALL, RateLimits, WaitRule
from ingestion.responses import page_of
from ingestion.token import read_token_secret
from ingestion.transport import fetch

log = logging.getLogger(__name__)

TWEET_FIELDS = (
    "attachments,author_id,conversation_id,created_at,edit_controls,edit_history_tweet_ids,entities,"
    "in_reply_to_user_id,lang,note_tweet,possibly_sensitive,public_metrics,referenced_tweets,reply_settings,source"
)
USER_FIELDS = (
    "created_at,description,entities,location,most_recent_tweet_id,pinned_tweet_id,profile_image_url,"
    "protected,public_metrics,url,verified,verified_type"
)
USER_AGENT = f"tweetlake/{__version__}"
COUNTS_ALL = "GET /2/tweets/counts/all"


@dataclass
class ClientStats:
    """What a run cost: requests per endpoint, retries, seconds spent waiting for rate limits."""

    requests: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    rate_limit_wait_seconds: float = 0.0
    rate_limit_hits: int = 0
    paced_seconds: float = 0.0  # waits of the per-second pacing (not counted as rate-limit waits)


def _no_heartbeat() -> None:
    return None


def _no_check(endpoint: str, params: Mapping[str, Any]) -> None:
    return None


def _no_count(page: Page) -> None:
    return None


# --- the client -------------------------------------------------------------------------------
class XClient:
    """A small, strict X API v2 client.

    ``clock`` (epoch seconds, for rate-limit windows) and ``sleep`` are injectable so that tests can
    drive rate-limit waits with a fake clock; ``now`` stamps the data; ``rng`` makes the jitter
    reproducible.
    """

    def __init__(
        self,
        token: str,
        base_url: str | None = None,
        *,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (3.05, 31.0),
        request_deadline: float = 120.0,
        max_retries: int = 6,
        backoff_base: float = 1.0,
        backoff_max: float = 64.0,
        max_rate_limit_wait: float = 15 * 60 + 30,
        max_rate_limit_retries: int = 8,
        rate_limit_backoff_base: float = 60.0,
        rate_limit_backoff_max: float = 15 * 60.0,
        heartbeat_every: float = 60.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if not token:
            raise ConfigurationError("no X API bearer token given")
        register_secret(token)
        self.base_url = (base_url or api_base_url()).rstrip("/")
        self.timeout = timeout
        self.request_deadline = request_deadline
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_rate_limit_wait = max_rate_limit_wait
        self.max_rate_limit_retries = max_rate_limit_retries
        self.rate_limit_backoff_base = rate_limit_backoff_base
        self.rate_limit_backoff_max = rate_limit_backoff_max
        self.heartbeat_every = heartbeat_every
        self.heartbeat: Callable[[], None] = _no_heartbeat  # set by whoever holds a lease (the run lock)
        # the usage ledger's hooks (ingestion.usage.Meter, set by the run): every request before it is
        # sent (a budget may refuse it), every successful page (what the API bills)
        self.before_request: Callable[[str, Mapping[str, Any]], None] = _no_check
        self.on_page: Callable[[Page], None] = _no_count
        self.clock = clock
        self.sleep = sleep
        self._now = now or (lambda: datetime.now(UTC))
        self.rng = rng or random.Random()
        self.stats = ClientStats()
        self.limits = RateLimits(
            WaitRule(max_rate_limit_wait, rate_limit_backoff_base, rate_limit_backoff_max),
            clock=clock,
            wait=self._wait,
            sleep=self._paced,
            rng=self.rng,
        )
        self.session = session or requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT})

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> XClient:
        """Token from ``X_BEARER_TOKEN``, else from the Secrets Manager secret ``X_BEARER_TOKEN_SECRET_ARN``."""
        token = settings.bearer_token
        if not token and settings.bearer_token_secret_arn:
            token = read_token_secret(settings.bearer_token_secret_arn)
        if not token:
            raise ConfigurationError(
                "no X API token: set X_BEARER_TOKEN, or X_BEARER_TOKEN_SECRET_ARN to a Secrets Manager secret"
            )
        return cls(token, settings.api_base_url, **kwargs)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **kwargs: Any) -> XClient:
        """:meth:`from_settings` with the settings of ``env`` (default: the process environment)."""
        return cls.from_settings(Settings.from_env(env), **kwargs)

    def close(self) -> None:
        self.session.close()

    def now(self) -> datetime:
        """What stamps ``collected_at``, run ids and ``dt`` partitions: the wall clock, unless the
        demo or a test runs against a simulated world whose time is not the wall clock's."""
        return self._now()

    # -- one request ---------------------------------------------------------------------------
    def get(
        self, endpoint: str, path: str, params: Mapping[str, Any] | None = None, expect: Expect | None = None
    ) -> Page:
        """GET ``base_url + path``; ``endpoint`` names the template for rate limits and stats.

        ``expect(body)`` says what is wrong with a 200's body (``None``: nothing); a wrong one is
        retried. Retries what is retriable within its bounds; raises :class:`FatalAPIError`
        subclasses at once and :class:`RetriableAPIError` when the retries are spent.
        """
        attempt = 0
        rate_limited = 0
        blind = 0  # 429s in a row that named no usable reset
        short = 0  # 429s in a row of a per-second rule
        while True:
            self.limits.before_send(endpoint)
            self.before_request(endpoint, params or {})
            try:
                page = self._get_once(endpoint, path, params)
                self.on_page(page)  # a 200 is billed for what it returns, whatever follows
                if expect is not None and (problem := expect(page.body)):
                    raise MalformedResponse(f"{endpoint}: HTTP 200 but {problem}", status=200, endpoint=endpoint)
                return page
            except UsageCapExceeded:
                raise
            except RateLimitError as err:
                rate_limited += 1
                if rate_limited > self.max_rate_limit_retries:
                    raise
                self.stats.rate_limit_hits += 1
                short, blind = self.limits.after_429(endpoint, err, short, blind)
            except RetriableAPIError as err:
                attempt += 1
                if attempt > self.max_retries:
                    raise RetriableAPIError(
                        f"{endpoint}: giving up after {self.max_retries} retries: {err}",
                        status=err.status,
                        endpoint=endpoint,
                    ) from err
                delay = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
                delay = self.rng.uniform(delay / 2, delay)  # "equal jitter": never zero, never herd
                self.stats.retries += 1
                log.warning("%s: %s; retry %d/%d in %.1fs", endpoint, err, attempt, self.max_retries, delay)
                self._sleep(delay)

    def _get_once(self, endpoint: str, path: str, params: Mapping[str, Any] | None) -> Page:
        self.stats.requests[endpoint] += 1
        self.limits.sent(endpoint)
        url = self.base_url + path
        try:
            response, raw = fetch(
                self.session,
                endpoint,
                url,
                params,
                base_url=self.base_url,
                timeout=self.timeout,
                deadline=self.request_deadline,
                on_chunk=self.heartbeat,
            )
            received_at = self.now()
        except requests.Timeout as err:
            raise RetriableAPIError(f"{endpoint}: timed out ({type(err).__name__})", endpoint=endpoint) from None
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as err:
            raise RetriableAPIError(
                f"{endpoint}: connection failed ({type(err).__name__})", endpoint=endpoint
            ) from None
        except requests.exceptions.ContentDecodingError as err:
            raise RetriableAPIError(
                f"{endpoint}: the response body could not be decoded ({type(err).__name__})", endpoint=endpoint
            ) from None
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
        ) as err:
            raise ConfigurationError(
                f"X_API_BASE_URL {self.base_url!r} is not a usable URL ({type(err).__name__})"
            ) from None
        except requests.RequestException as err:  # redirects, bad headers…: retrying will not help
            raise FatalAPIError(f"{endpoint}: request failed ({type(err).__name__})", endpoint=endpoint) from None
        self.limits.remember(endpoint, response.headers)
        return page_of(endpoint, path, response, raw, received_at, self.clock())

    # -- waits ---------------------------------------------------------------------------------
    def _wait(self, endpoint: str, seconds: float, what: str, why: str) -> None:
        """A rate-limit wait, clamped to ``[1 s, max_rate_limit_wait]``, logged and counted."""
        wait = max(1.0, min(seconds, self.max_rate_limit_wait))
        log.warning("%s: %s; waiting %.0fs %s", endpoint, what, wait, why)
        self.stats.rate_limit_wait_seconds += wait
        self._sleep(wait)

    def _paced(self, seconds: float) -> None:
        """A wait of the per-second pacing (not a rate-limit wait)."""
        self.stats.paced_seconds += seconds
        self.sleep(seconds)

    def _sleep(self, seconds: float) -> None:
        """Sleep in slices of ``heartbeat_every``, calling :attr:`heartbeat` after each: a run lock's
        lease (10 min) must not lapse during a rate-limit wait (up to 15½ min)."""
        left = seconds
        while left > 0:
            step = min(left, self.heartbeat_every)
            self.sleep(step)
            left -= step
            self.heartbeat()

    # -- pagination ----------------------------------------------------------------------------
    def paginate(self, endpoint: str, path: str, params: Mapping[str, Any]) -> Iterator[Page]:
        """Every page of ``path`` (see :func:`ingestion.page.paginate`), each checked by :func:`expect_page`."""
        return paginate(lambda e, p, q: self.get(e, p, q, expect_page), endpoint, path, params)

    # -- the endpoints tweetlake uses ----------------------------------------------------------
    def users_by_usernames(self, usernames: list[str]) -> Page:
        if not 1 <= len(usernames) <= 100:
            raise ValueError("1 to 100 usernames a request")
        return self.get(
            "GET /2/users/by",
            "/users/by",
            {"usernames": ",".join(usernames), "user.fields": USER_FIELDS},
            expect_users_lookup,
        )

    def users_by_ids(self, ids: list[str]) -> Page:
        if not 1 <= len(ids) <= 100:
            raise ValueError("1 to 100 ids a request")
        return self.get(
            "GET /2/users", "/users", {"ids": ",".join(ids), "user.fields": USER_FIELDS}, expect_users_lookup
        )

    def user_tweets(self, user_id: str, **params: Any) -> Iterator[Page]:
        query: dict[str, Any] = {"max_results": 100, "tweet.fields": TWEET_FIELDS}
        query.update({k: v for k, v in params.items() if v is not None})
        return self.paginate("GET /2/users/:id/tweets", f"/users/{user_id}/tweets", query)

    def search_all(self, query: str, **params: Any) -> Iterator[Page]:
        """Every page of ``GET /2/tweets/search/all`` for ``query`` (500 a page, the timeline's
        tweet.fields unless given), following ``next_token``."""
        if not 1 <= len(query) <= 1024:
            raise ValueError("a search query has 1 to 1,024 characters")
        q: dict[str, Any] = {"query": query, "max_results": 500, "tweet.fields": TWEET_FIELDS}
        q.update({k: v for k, v in params.items() if v is not None})
        return paginate(
            lambda e, p, qq: self.get(e, p, qq, expect_page),
            SEARCH_ALL,
            "/tweets/search/all",
            q,
            cursor_param="next_token",
        )

    def tweets_by_ids(self, ids: list[str], tweet_fields: str = TWEET_FIELDS) -> Page:
        if not 1 <= len(ids) <= 100:
            raise ValueError("1 to 100 ids a request")
        return self.get("GET /2/tweets", "/tweets", {"ids": ",".join(ids), "tweet.fields": tweet_fields}, expect_lookup)

    def user_by_id(self, user_id: str, user_fields: str = USER_FIELDS) -> Page:
        """``GET /2/users/:id``: one profile (a user read)."""
        return self.get("GET /2/users/:id", f"/users/{user_id}", {"user.fields": user_fields}, expect_user)

    def tweet_counts_all(self, query: str, *, max_requests: int, **params: Any) -> Iterator[Page]:
        """The pages of ``GET /2/tweets/counts/all`` (billed per request; at most 31 days a page),
        at most ``max_requests`` of them: a server that keeps answering with new ``next_token``s
        cannot make a plan spend without end (:class:`ingestion.errors.PaginationLoopError`)."""
        if not 1 <= len(query) <= 1024:
            raise ValueError("a counts query has 1 to 1,024 characters")
        q: dict[str, Any] = {"query": query, "granularity": "day"}
        q.update({k: v for k, v in params.items() if v is not None})
        pages = paginate(
            lambda e, p, qq: self.get(e, p, qq, expect_counts),
            COUNTS_ALL,
            "/tweets/counts/all",
            q,
            cursor_param="next_token",
        )
        for number, page in enumerate(pages, start=1):
            yield page
            if number >= max_requests and page.meta.get("next_token"):
                raise PaginationLoopError(
                    f"{COUNTS_ALL}: still a next_token after {max_requests} requests, more than the window "
                    "asked can take; stopping",
                    endpoint=COUNTS_ALL,
                )

    def usage_tweets(self, days: int) -> Page:
        """``GET /2/usage/tweets`` (not billed): the project's daily post reads over ``days`` (1-90)."""
        return self.get(
            "GET /2/usage/tweets",
            "/usage/tweets",
            {"days": max(1, min(90, days)), "usage.fields": "daily_project_usage,project_usage,project_cap"},
            expect_usage,
        )
