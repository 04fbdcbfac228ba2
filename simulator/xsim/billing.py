"""Pay-per-use billing, as the X API's pricing documentation describes it.

- a **post read** is billed for every post a response returns (`data` of a post endpoint and
  `includes.tweets` of any endpoint), a **user read** for every user (`data` of a user endpoint and
  `includes.users`); the same resource read again within one UTC day (of the simulator's clock) is
  not billed again;
- `GET /2/tweets/counts/all` is billed per request; `GET /2/usage/tweets` is free;
- only successful (200) responses are billed: a 4xx, a 5xx, a 429 or a dropped connection costs
  nothing;
- prepaid **credits** (`credits_usd`, unlimited when None) run out: once what was billed reaches
  them, every billable request is answered 402 `CreditsDepleted`;
- a billing cycle (from `cap_reset_day` of a month to the day before it the next month) is capped
  at `post_cap` post reads (3,000,000 on pay-per-use): once reached, every post endpoint answers
  the `UsageCapExceeded` 429.

A response that crosses the credits or the cap is served and billed whole (the API cannot know
what a page costs before it is built); the next one is refused. Money is counted in micro-dollars,
so sums are exact.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any

from xsim.errors import CREDITS_DEPLETED, USAGE_CAPPED

POST_ENDPOINTS = frozenset({"GET /2/users/:id/tweets", "GET /2/tweets", "GET /2/tweets/search/all"})
"""Endpoints whose `data` are posts (the monthly post cap refuses them once it is reached)."""
USER_ENDPOINTS = frozenset({"GET /2/users/by", "GET /2/users", "GET /2/users/:id"})
"""Endpoints whose `data` are users."""
PER_REQUEST = frozenset({"GET /2/tweets/counts/all"})
"""Endpoints billed per request, not per resource."""
FREE = frozenset({"GET /2/usage/tweets"})
"""Endpoints that cost nothing and are answered even when the credits are spent."""


@dataclass
class BillingConfig:
    """Prices (USD), the prepaid credits, the monthly post cap and the plan's access."""

    post_read_usd: float = 0.005
    user_read_usd: float = 0.010
    counts_request_usd: float = 0.010
    credits_usd: float | None = None
    """Prepaid credits; None: never run out."""
    post_cap: int = 3_000_000
    """Post reads per billing cycle."""
    cap_reset_day: int = 1
    """Day of the month (1-28) a billing cycle starts on."""
    full_archive: bool = True
    """False: a legacy plan (Basic) without `search/all` and `counts/all`, answered 403."""

    def __post_init__(self) -> None:
        if not 1 <= int(self.cap_reset_day) <= 28:
            raise ValueError("cap_reset_day must be between 1 and 28")
        if int(self.post_cap) < 0:
            raise ValueError("post_cap must not be negative")


def _micro(usd: float) -> int:
    return round(usd * 1_000_000)


def _usd(micro: int) -> float:
    return round(micro / 1_000_000, 6)


@dataclass
class _Day:
    posts: set[str] = field(default_factory=set)
    users: set[str] = field(default_factory=set)
    counts_requests: int = 0
    micro_usd: int = 0
    by_endpoint: dict[str, Counter[str]] = field(default_factory=dict)


class Billing:
    """What the simulated account was billed, per UTC day of `now_ms` (the world clock)."""

    def __init__(self, config: BillingConfig | None = None) -> None:
        self._lock = threading.Lock()
        self.config = config or BillingConfig()
        self._days: dict[date, _Day] = {}
        self._micro_total = 0
        self.refused: Counter[str] = Counter()

    # --- configuration -------------------------------------------------------------------
    def update(self, **changes: Any) -> BillingConfig:
        """Change some BillingConfig fields (unknown names raise TypeError)."""
        known = {f.name for f in fields(BillingConfig)}
        unknown = set(changes) - known
        if unknown:
            raise TypeError(f"unknown billing settings: {sorted(unknown)}")
        with self._lock:
            merged = {**asdict(self.config), **changes}
            self.config = BillingConfig(**merged)
            return self.config

    def reset(self) -> None:
        """Forget what was billed (the configuration stays)."""
        with self._lock:
            self._days.clear()
            self._micro_total = 0
            self.refused.clear()

    # --- the gate before a request and the bill after it ----------------------------------
    def refusal(self, template: str, now_ms: int) -> tuple[int, dict[str, Any]] | None:
        """(status, body) when the account may not be served this request: credits spent (402)
        or the cycle's post cap reached (429 UsageCapExceeded); None when it may."""
        if template in FREE:
            return None
        with self._lock:
            cfg = self.config
            if cfg.credits_usd is not None and self._micro_total >= _micro(cfg.credits_usd):
                self.refused["credits_depleted"] += 1
                return 402, CREDITS_DEPLETED
            if template in POST_ENDPOINTS and self._cycle_posts(_day(now_ms)) >= cfg.post_cap:
                self.refused["usage_capped"] += 1
                return 429, USAGE_CAPPED
        return None

    def bill(self, template: str, body: dict[str, Any], now_ms: int) -> None:
        """Bill a 200 response's resources on the UTC day of `now_ms`."""
        if template in FREE:
            return
        data = body.get("data")
        items = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
        includes = body.get("includes") or {}
        posts = {t["id"] for t in includes.get("tweets") or ()}
        users = {u["id"] for u in includes.get("users") or ()}
        if template in POST_ENDPOINTS:
            posts.update(item["id"] for item in items)
        elif template in USER_ENDPOINTS:
            users.update(item["id"] for item in items)
        with self._lock:
            cfg = self.config
            day = self._days.setdefault(_day(now_ms), _Day())
            new_posts, new_users = posts - day.posts, users - day.users
            day.posts |= new_posts
            day.users |= new_users
            spent = Counter({"post_reads": len(new_posts), "user_reads": len(new_users)})
            if template in PER_REQUEST:
                day.counts_requests += 1
                spent["counts_requests"] += 1
            spent = +spent  # only what was billed
            micro = (
                spent["post_reads"] * _micro(cfg.post_read_usd)
                + spent["user_reads"] * _micro(cfg.user_read_usd)
                + spent["counts_requests"] * _micro(cfg.counts_request_usd)
            )
            day.micro_usd += micro
            self._micro_total += micro
            if spent:
                day.by_endpoint.setdefault(template, Counter()).update(spent)

    # --- what was billed ---------------------------------------------------------------------
    def cycle_start(self, today: date) -> date:
        """The first day of the billing cycle `today` is in."""
        reset = self.config.cap_reset_day
        if today.day >= reset:
            return today.replace(day=reset)
        previous = today.replace(day=1) - timedelta(days=1)
        return previous.replace(day=reset)

    def _cycle_posts(self, today: date) -> int:
        start = self.cycle_start(today)
        return sum(len(d.posts) for day, d in self._days.items() if start <= day <= today)

    def cycle_post_reads(self, now_ms: int) -> int:
        """Post reads billed in the billing cycle of `now_ms` so far."""
        with self._lock:
            return self._cycle_posts(_day(now_ms))

    def daily_post_reads(self, now_ms: int, days: int) -> list[tuple[date, int]]:
        """Post reads of each of the last `days` UTC days up to `now_ms`'s, oldest first."""
        today = _day(now_ms)
        with self._lock:
            return [
                (d, len(self._days[d].posts) if d in self._days else 0)
                for d in (today - timedelta(days=n) for n in range(days - 1, -1, -1))
            ]

    def total_usd(self) -> float:
        with self._lock:
            return _usd(self._micro_total)

    def report(self, now_ms: int) -> dict[str, Any]:
        """What `GET /_sim/billing` answers: totals, the cycle, the credits and every day billed."""
        with self._lock:
            cfg = self.config
            today = _day(now_ms)
            days = []
            totals: Counter[str] = Counter()
            by_endpoint: dict[str, Counter[str]] = {}
            for day in sorted(self._days):
                d = self._days[day]
                days.append(
                    {
                        "date": day.isoformat(),
                        "post_reads": len(d.posts),
                        "user_reads": len(d.users),
                        "counts_requests": d.counts_requests,
                        "usd": _usd(d.micro_usd),
                        "by_endpoint": {k: dict(v) for k, v in sorted(d.by_endpoint.items())},
                    }
                )
                totals.update(
                    {"post_reads": len(d.posts), "user_reads": len(d.users), "counts_requests": d.counts_requests}
                )
                for template, spent in d.by_endpoint.items():
                    by_endpoint.setdefault(template, Counter()).update(spent)
            remaining = None if cfg.credits_usd is None else _usd(_micro(cfg.credits_usd) - self._micro_total)
            return {
                "config": asdict(cfg),
                "totals": {
                    "post_reads": totals["post_reads"],
                    "user_reads": totals["user_reads"],
                    "counts_requests": totals["counts_requests"],
                    "usd": _usd(self._micro_total),
                },
                "by_endpoint": {k: dict(v) for k, v in sorted(by_endpoint.items())},
                "cycle": {
                    "start": self.cycle_start(today).isoformat(),
                    "post_reads": self._cycle_posts(today),
                    "post_cap": cfg.post_cap,
                },
                "credits": {"usd": cfg.credits_usd, "remaining_usd": remaining},
                "refused": dict(self.refused),
                "days": days,
            }


def _day(now_ms: int) -> date:
    return datetime.fromtimestamp(now_ms / 1000, tz=UTC).date()
