"""Rate limits: what the X API's headers say, and the client's one waiting rule.

**One rule for every rate-limit signal** — a 429, a 200 whose headers say a window is spent
(``x-rate-limit-remaining: 0``, or a 24-hour app or user limit at 0), the per-second rule of
full-archive search: wait as long as the signal asks, up to the longest allowed wait
(``max_wait``, 15½ minutes by default); a signal that asks for longer stops at once with a
:class:`~ingestion.errors.RateLimitError` naming when the limit ends (the run exits 5,
``API_KEPT_FAILING``), instead of sleeping it out in clamped steps that only spend requests.
A 429 that names no usable reset backs off exponentially from a minute, up to the longest wait.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from ingestion.errors import RateLimitError

log = logging.getLogger(__name__)

SEARCH_ALL = "GET /2/tweets/search/all"
MIN_INTERVAL_SECONDS: dict[str, float] = {SEARCH_ALL: 1.0}
"""Per-second rules the documentation states (not in any header): full-archive search, 1 a second."""
PACING_MARGIN_SECONDS = 0.1
"""Added to an interval: requests sent a second apart may arrive closer together."""
SHORT_LIMIT_BACKOFF_MAX = 60.0
HEADER_CEILING = 10**10
"""A header number past this (as an epoch time, the year 2286) is taken as this: a reset or a wait
of 400 digits means "not in this run", never an overflow."""


@dataclass
class Window:
    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None


def header_int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    try:
        return min(int(value), HEADER_CEILING) if value is not None else None
    except ValueError:
        return None


def spent_window_reset(headers: Mapping[str, str]) -> float | None:
    """The reset (epoch s) of the windows this response says are spent — the 15-minute one, a
    24-hour app or user limit; the latest when several are (nothing passes before it) — else the
    15-minute reset when none says ``remaining: 0``."""
    spent = [
        reset
        for prefix in ("x-rate-limit", "x-app-limit-24hour", "x-user-limit-24hour")
        if (reset := header_int(headers, f"{prefix}-reset")) and header_int(headers, f"{prefix}-remaining") == 0
    ]
    if spent:
        return float(max(spent))
    reset = header_int(headers, "x-rate-limit-reset")
    return float(reset) if reset else None


def longer_window_spent(headers: Mapping[str, str]) -> bool:
    """Whether a 24-hour app or user limit says it is spent (``remaining: 0``)."""
    return any(
        header_int(headers, f"{prefix}-remaining") == 0 and header_int(headers, f"{prefix}-reset")
        for prefix in ("x-app-limit-24hour", "x-user-limit-24hour")
    )


def retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """``Retry-After`` in seconds: delta-seconds or an HTTP date (RFC 9110)."""
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(min(int(value), HEADER_CEILING)) if len(value) < 4000 else float(HEADER_CEILING)
    try:
        return parsedate_to_datetime(value).timestamp() - now
    except (TypeError, ValueError):
        return None


@dataclass
class WaitRule:
    """The longest wait, and how a 429 that names no reset backs off."""

    max_wait: float = 15 * 60 + 30
    backoff_base: float = 60.0
    backoff_max: float = 15 * 60.0


class RateLimits:
    """One client's view of its rate-limit windows, and every wait they ask for.

    ``wait(endpoint, seconds, what, why)`` sleeps (it is the client's heartbeat-calling sleep);
    ``clock`` is epoch seconds."""

    def __init__(
        self,
        rule: WaitRule,
        *,
        clock: Callable[[], float],
        wait: Callable[[str, float, str, str], None],
        sleep: Callable[[float], None],
        rng: random.Random,
    ) -> None:
        self.rule = rule
        self.clock = clock
        self._wait = wait
        self._sleep = sleep
        self.rng = rng
        self._windows: dict[str, Window] = {}
        self._last_sent: dict[str, float] = {}

    # -- what the answers say ------------------------------------------------------------------
    def sent(self, endpoint: str) -> None:
        if endpoint in MIN_INTERVAL_SECONDS:
            self._last_sent[endpoint] = self.clock()

    def remember(self, endpoint: str, headers: Mapping[str, str]) -> None:
        """Keep what an answer's headers say of its windows: a spent 24-hour limit counts as spent."""
        remaining = header_int(headers, "x-rate-limit-remaining")
        if longer_window_spent(headers):
            remaining = 0
        if remaining is None:
            return
        window = self._windows.setdefault(endpoint, Window())
        window.limit, window.remaining = header_int(headers, "x-rate-limit-limit"), remaining
        window.reset_at = spent_window_reset(headers) if remaining == 0 else None

    # -- the one rule --------------------------------------------------------------------------
    def wait_or_stop(self, endpoint: str, seconds: float, what: str, why: str, err: RateLimitError | None) -> None:
        """Wait ``seconds`` when that is within the longest wait; else stop with a
        :class:`RateLimitError` that says when the limit ends."""
        if seconds > self.rule.max_wait:
            seconds = min(seconds, HEADER_CEILING)
            until = datetime.fromtimestamp(self.clock() + seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            raise RateLimitError(
                f"{endpoint}: rate limit spent until {until} {why}, longer than the longest wait "
                f"({self.rule.max_wait:.0f} s); run again after it",
                reset_at=err.reset_at if err else self.clock() + seconds,
                retry_after=err.retry_after if err else None,
                status=err.status if err else 200,
                endpoint=endpoint,
                body=err.body if err else None,
            ) from None
        self._wait(endpoint, seconds, what, why)

    def before_send(self, endpoint: str) -> None:
        """Wait before sending when the endpoint's per-second interval has not passed since its
        last request, or its window is known to be spent (stopping when that outlasts the longest wait)."""
        interval = MIN_INTERVAL_SECONDS.get(endpoint)
        last = self._last_sent.get(endpoint)
        if interval is not None and last is not None:
            early = last + interval + PACING_MARGIN_SECONDS - self.clock()
            if early > 0:
                log.debug("%s: pacing %.2fs (%.0f request/s)", endpoint, early, 1 / interval)
                self._sleep(early)
        window = self._windows.get(endpoint)
        if window is None or window.remaining is None or window.remaining > 0:
            return
        if window.reset_at is not None and window.reset_at > self.clock():
            # up to the reset second (+1: it may still be the old window)
            self.wait_or_stop(
                endpoint,
                window.reset_at - self.clock() + 1.0,
                f"rate-limit window spent (limit {window.limit})",
                "until it resets",
                None,
            )
        window.remaining = None  # unknown until the next response tells

    def after_429(self, endpoint: str, err: RateLimitError, short: int, blind: int) -> tuple[int, int]:
        """Wait what this 429 asks (or stop); returns the counts of per-second and blind 429s in a row."""
        if err.window_left and err.retry_after is None and endpoint in MIN_INTERVAL_SECONDS:
            short += 1
            delay = min(SHORT_LIMIT_BACKOFF_MAX, MIN_INTERVAL_SECONDS[endpoint] * 2**short)
            self.wait_or_stop(
                endpoint,
                self.rng.uniform(delay, delay * 1.25),
                "rate limited",
                "(the window has requests left: a per-second limit)",
                err,
            )
            return short, blind
        wait, why = self._asked(err)
        if wait is None:
            blind += 1
            delay = min(self.rule.backoff_max, self.rule.backoff_base * 2 ** (blind - 1))
            # our own guess, not the server's word: never longer than the longest wait
            wait = min(self.rng.uniform(delay, delay * 1.25), self.rule.max_wait)
            why = f"(no usable reset in the response: backoff {blind})"
        self.wait_or_stop(endpoint, wait, "rate limited", why, err)
        if window := self._windows.get(endpoint):
            window.remaining = None  # the wait above was the one this 429 asked for: no second one
        return short, blind

    def _asked(self, err: RateLimitError) -> tuple[float | None, str]:
        """How long this 429 asks to wait, from its own headers only; ``None`` when it does not say
        (no headers, or a reset already past: an old window's reset would end the wait at once)."""
        if err.retry_after is not None and err.retry_after >= 0:
            return err.retry_after, "(Retry-After)"
        now = self.clock()
        if err.reset_at is not None and err.reset_at > now:
            return err.reset_at - now + 1.0, "until the window resets"
        return None, ""
