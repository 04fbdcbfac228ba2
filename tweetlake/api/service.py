"""The operations behind the endpoints, free of HTTP framework code.

Every change goes through :class:`ingestion.registry.Registry` — the registry the collectors read
and update, with its conditional writes — so the API never keeps a copy of its own.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from common.lake import ConflictError, Lake
from common.settings import Settings, load
from ingestion.accounts import AccountStatus, NoAnswer, UnknownAccount, look_up_usernames
from ingestion.client import XClient
from ingestion.errors import BudgetReached, ConfigurationError, FatalAPIError, RateLimitError, RetriableAPIError
from ingestion.registry import Account, Registry, check_username
from ingestion.usage import Budget, budget_usd
from tweetlake.api.insights import LakeInsights, TweetsInfo
from tweetlake.api.problems import ProblemError

log = logging.getLogger("tweetlake.api")

ClientFactory = Callable[[], XClient]


def interactive_client(settings: Settings) -> XClient:
    """An X client for one interactive lookup: it fails fast instead of waiting out a rate-limit
    window (a request behind API Gateway has 30 s; a collector run has hours)."""
    return XClient.from_settings(
        settings,
        timeout=(3.05, 10.0),
        max_retries=1,
        backoff_base=0.25,
        backoff_max=1.0,
        max_rate_limit_wait=2.0,
        max_rate_limit_retries=0,
    )


def client_factory(settings: Settings) -> ClientFactory | None:
    """What builds the X client of ``settings`` when it is first needed; ``None`` without a token
    configured (new accounts are then added unresolved)."""
    return functools.partial(interactive_client, settings) if settings.has_token else None


@dataclass(frozen=True)
class Addition:
    """An account checked (and resolved) for tracking, not yet written."""

    username: str
    user_id: str | None
    status: AccountStatus | None
    existing: Account | None = None


@dataclass(frozen=True)
class AccountView:
    account: Account
    last_profile_snapshot: str | None
    tweets: TweetsInfo


class AccountsService:
    def __init__(self, lake: Lake, *, client_factory: ClientFactory | None = None, snapshots: bool = True) -> None:
        self.lake = lake
        self.registry = Registry(lake)
        self.insights = LakeInsights(lake, snapshots=snapshots)
        self._client_factory = client_factory
        self._client: XClient | None = None
        self._client_lock = threading.Lock()
        self._lookup_lock = threading.Lock()  # one metered lookup at a time: the meter hooks the shared client

    # -- reading -----------------------------------------------------------------------------
    def _views(self, accounts: list[Account]) -> list[AccountView]:
        snapshots = self.insights.last_snapshots(accounts)
        tweets = self.insights.tweets(accounts)
        return [AccountView(a, snapshots[a.username.lower()], tweets[a.username.lower()]) for a in accounts]

    def list(self) -> list[AccountView]:
        return self._views(self.registry.list())

    def get(self, username: str) -> AccountView:
        account = self.registry.get(username)
        if account is None:
            raise ProblemError(404, "not-tracked", f"@{username} is not a tracked account")
        return self._views([account])[0]

    # -- changing ----------------------------------------------------------------------------
    def add(self, username: str) -> tuple[AccountView, bool]:
        """Track ``username``; returns the account and whether it is new (adding twice is a no-op)."""
        account, created = self.track(self.prepare(username))
        return self._views([account])[0], created

    def prepare(self, username: str) -> Addition:
        """Check ``username`` (a leading ``@`` is dropped) and resolve it against the X API when a
        client is configured, writing nothing: unknown and suspended accounts raise a 404, an account
        tracked under another name a 409. ``tweetlake users add`` prepares a whole list first."""
        name = check_username(username)
        existing = self.registry.get(name)
        if existing is not None:
            return Addition(name, existing.user_id, None, existing=existing)
        user_id, status = self._resolve(name) if self._client_factory else (None, None)
        if user_id:
            for other in self.registry.list():
                if other.user_id == user_id and other.username.lower() != name.lower():
                    raise ProblemError(
                        409,
                        "already-tracked-under-another-name",
                        f"@{name} is account {user_id}, already tracked as @{other.username}",
                    )
        return Addition(name, user_id, status)

    def track(self, addition: Addition) -> tuple[Account, bool]:
        """Write a prepared addition to the registry; returns the account and whether it is new."""
        if addition.existing is not None:
            return addition.existing, False
        try:
            account, created = self.registry.add(addition.username, addition.user_id)
            if addition.status:
                self.registry.record_lookups({}, {account.username: addition.status}, {})
                account = self.registry.get(account.username) or account
        except ConflictError:
            raise ProblemError(
                409,
                "concurrent-update",
                "the registry kept changing under this request; retry",
                headers={"Retry-After": "1"},
            ) from None
        if created:
            log.info("now tracking @%s (%s)", account.username, account.user_id or "unresolved")
        return account, created

    def remove(self, username: str) -> None:
        try:
            removed = self.registry.remove(username)
        except ConflictError:
            raise ProblemError(
                409,
                "concurrent-update",
                "the registry kept changing under this request; retry",
                headers={"Retry-After": "1"},
            ) from None
        if not removed:
            raise ProblemError(404, "not-tracked", f"@{username} is not a tracked account")
        log.info("stopped tracking @%s (its collected data is kept)", username)

    # -- the X API ---------------------------------------------------------------------------
    def _x(self) -> XClient:
        assert self._client_factory is not None
        with self._client_lock:
            if self._client is None:
                self._client = self._client_factory()
            return self._client

    def _resolve(self, name: str) -> tuple[str | None, AccountStatus | None]:
        """``(user id, status)`` from ``GET /2/users/by``; unknown and suspended accounts are a 404."""
        try:
            client = self._x()
            with self._lookup_lock:  # billed: through the usage meter, inside the monthly budget
                found = look_up_usernames(
                    client, [name], lake=self.lake, budget=Budget(budget_usd(None, load().budget_usd))
                )
        except BudgetReached as err:
            raise ProblemError(402, "budget-reached", f"the lookup of @{name} would pass the budget: {err}") from None
        except ConfigurationError as err:
            raise ProblemError(503, "x-api-not-configured", f"cannot reach the X API: {err}") from None
        except RateLimitError:
            raise ProblemError(
                503,
                "x-api-rate-limited",
                "the X API rate limit for user lookups is spent; retry later",
                headers={"Retry-After": "60"},
            ) from None
        except RetriableAPIError as err:
            raise ProblemError(
                503, "x-api-unavailable", f"the X API did not answer: {err}", headers={"Retry-After": "30"}
            ) from None
        except FatalAPIError as err:
            raise ProblemError(502, "x-api-error", f"the X API refused the lookup: {err}") from None
        except UnknownAccount as err:
            if err.status == AccountStatus.SUSPENDED:
                raise ProblemError(
                    404, "x-account-suspended", f"@{name} is suspended on X; it cannot be collected"
                ) from None
            raise ProblemError(404, "x-account-not-found", f"X has no account @{name}") from None
        except NoAnswer as err:
            raise ProblemError(502, "x-api-error", str(err)) from None
        return found[name]
