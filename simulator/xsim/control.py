"""`/_sim/*`: the control plane tests and scripts use — stats, clock, faults, billing, a world summary.

`GET /_sim/billing` reports what the simulated account was billed (totals, per endpoint, the
billing cycle against its post cap, the credits left, and per UTC day: post reads, user reads,
counts requests, USD); `POST /_sim/billing` changes `BillingConfig` fields (e.g.
`{"credits_usd": 5}`, `{"full_archive": false}` for a legacy plan that answers search 403);
`POST /_sim/billing/reset` forgets what was billed.

No auth and not counted in the stats: it is not part of the X API, only of the simulator.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from xsim.accounts import SPECIAL_ROLES
from xsim.billing import Billing
from xsim.clock import SimClock
from xsim.errors import problem
from xsim.faults import FaultConfig, Faults
from xsim.responses import Response, reply
from xsim.stats import Stats
from xsim.timeutil import format_iso
from xsim.world import World

_QUEUED = {
    "fail_next",
    "fail_status",
    "drop_next",
    "usage_cap_next",
    "rate_limit_next",
    "rate_limit_headers",
    "retry_after",
    "clear",
}
"""`POST /_sim/faults` keys that queue one-shot faults; every other key is a `FaultConfig` field."""


class Control:
    def __init__(self, world: World, clock: SimClock, stats: Stats, faults: Faults, billing: Billing) -> None:
        self.world = world
        self.clock = clock
        self.stats = stats
        self.faults = faults
        self.billing = billing

    def handle(self, method: str, path: str, raw_body: bytes) -> Response:
        try:
            body = json.loads(raw_body or b"{}")
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            route = (method, path.rstrip("/"))
            if route == ("GET", "/_sim/stats"):
                return reply(200, self._stats_json())
            if route == ("POST", "/_sim/stats/reset"):
                self.stats.reset()
                return reply(200, self._stats_json())
            if route == ("GET", "/_sim/clock"):
                return reply(200, self._clock_json())
            if route == ("POST", "/_sim/clock"):
                if "now" in body:
                    self.clock.set(str(body["now"]))
                if "advance_seconds" in body:
                    self.clock.advance(seconds=float(body["advance_seconds"]))
                return reply(200, self._clock_json())
            if route == ("GET", "/_sim/faults"):
                return reply(200, self._faults_json())
            if route == ("POST", "/_sim/faults"):
                self._apply_faults(body)
                return reply(200, self._faults_json())
            if route == ("GET", "/_sim/billing"):
                return reply(200, self.billing.report(self.clock.now_ms()))
            if route == ("POST", "/_sim/billing"):
                self.billing.update(**body)
                return reply(200, self.billing.report(self.clock.now_ms()))
            if route == ("POST", "/_sim/billing/reset"):
                self.billing.reset()
                return reply(200, self.billing.report(self.clock.now_ms()))
            if route == ("GET", "/_sim/world"):
                return reply(200, self._world_json())
        except (ValueError, TypeError, KeyError) as exc:
            return reply(400, {"title": "Invalid Request", "detail": str(exc), "status": 400})
        return reply(404, problem(404, "Not Found Error", "Unknown simulator control route"))

    def _stats_json(self) -> dict[str, Any]:
        return {
            "counts": self.stats.counts(),
            "by_status": [
                {"endpoint": endpoint, "status": status, "count": count}
                for (endpoint, status), count in sorted(self.stats.by_status().items())
            ],
            "total": self.stats.total(),
        }

    def _clock_json(self) -> dict[str, Any]:
        return {"now": format_iso(self.clock.now()), "frozen": self.clock.frozen}

    def _faults_json(self) -> dict[str, Any]:
        return {"config": asdict(self.faults.config), "pending": self.faults.pending()}

    def _apply_faults(self, body: dict[str, Any]) -> None:
        settings = {k: v for k, v in body.items() if k not in _QUEUED}
        known = set(FaultConfig.__dataclass_fields__)
        unknown = set(settings) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        if body.get("clear"):
            self.faults.clear()
        if settings:
            self.faults.update(**settings)
        for key, value in body.items():  # queue one-shot faults in the order they were given
            if key == "fail_next" and value:
                self.faults.fail_next(int(value), int(body.get("fail_status", 503)))
            elif key == "drop_next" and value:
                self.faults.drop_next(int(value))
            elif key == "usage_cap_next" and value:
                self.faults.usage_cap_next(int(value))
            elif key == "rate_limit_next" and value:
                retry_after = body.get("retry_after")
                self.faults.rate_limit_next(
                    int(value),
                    headers=str(body.get("rate_limit_headers", "window")),
                    retry_after=None if retry_after is None else int(retry_after),
                )

    def _world_json(self) -> dict[str, Any]:
        t_ms = self.clock.now_ms()
        return {
            "seed": self.world.seed,
            "start": format_iso(self.world.start),
            "now": format_iso(self.clock.now()),
            "specials": {
                role: index
                for index, role in SPECIAL_ROLES.items()
                if index < len(self.world.accounts) and self.world.accounts[index].role
            },
            "accounts": [
                {
                    "index": acc.index,
                    "id": acc.user_id,
                    "username": acc.username_at(t_ms),
                    "status": acc.status,
                    "role": acc.role,
                }
                for acc in self.world.accounts
            ],
        }
