"""The X API v2 surface of the simulator: auth, rate limits and faults in front of the endpoints.

`Api.handle` is transport-free (method, path, headers, body in; a `Response` out) so the HTTP
server stays a thin shell. The order is the real API's: authentication first (a 401 carries no
rate-limit headers), then the route, the plan's access (a legacy plan has no full-archive
endpoints: 403), injected faults, the account's credits (402) and monthly post cap (429), the
rate-limit window, parameter validation and the answer, which is billed (`billing`) only when it
is a 200. Response shapes, error titles and messages follow the API's
documentation and real recorded responses; nothing here is a convenience the real API lacks.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Mapping
from http import HTTPStatus
from urllib.parse import parse_qsl, urlsplit

from xsim.billing import Billing
from xsim.clock import SimClock
from xsim.control import Control
from xsim.endpoints import Endpoint, Endpoints, route
from xsim.errors import (
    CLIENT_FORBIDDEN,
    NOT_FOUND,
    TOO_MANY_REQUESTS,
    UNAUTHORIZED,
    USAGE_CAPPED,
    BadRequest,
    problem,
)
from xsim.faults import Fault, Faults
from xsim.parameters import Params
from xsim.ratelimit import RateLimiter
from xsim.responses import Response, reply
from xsim.stats import DROPPED, Stats
from xsim.world import World

__all__ = ["Api", "Response"]


class Api:
    """Everything behind the HTTP socket: one instance per simulator server."""

    def __init__(
        self,
        world: World,
        clock: SimClock,
        stats: Stats,
        faults: Faults,
        limiter: RateLimiter,
        token: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        billing: Billing | None = None,
    ) -> None:
        self.world = world
        self.clock = clock
        self.stats = stats
        self.faults = faults
        self.limiter = limiter
        self.token = token
        self._sleep = sleep
        self.billing = billing or Billing()
        self._endpoints = Endpoints(world, clock, self.billing)
        self._control = Control(world, clock, stats, faults, self.billing)

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes = b"") -> Response:
        """Answer one HTTP request (the transport only frames bytes)."""
        parts = urlsplit(target)
        path = parts.path
        if path.startswith("/_sim/") or path == "/_sim":
            return self._control.handle(method, path, body)
        endpoint, path_arg = route(method, path)
        template = endpoint.template if endpoint else f"{method} {path}"
        response = self._api(endpoint, path_arg, parts.query, headers)
        self.stats.record(template, DROPPED if response.drop else response.status)
        return response

    def _api(self, endpoint: Endpoint | None, path_arg: str | None, query: str, headers: Mapping[str, str]) -> Response:
        if not self._authorized(headers):
            return reply(401, UNAUTHORIZED)
        if endpoint is None:
            return reply(404, NOT_FOUND)
        template = endpoint.template
        if endpoint.full_archive and not self.billing.config.full_archive:
            return reply(403, CLIENT_FORBIDDEN)
        fault, delay = self.faults.draw()
        if fault is not None:
            if fault.kind == "drop":
                return Response(0, drop=True)
            if fault.kind == "usage_cap":
                return reply(429, USAGE_CAPPED, self.limiter.peek(template))
            if fault.kind == "rate_limit":
                return reply(429, TOO_MANY_REQUESTS, self._rate_limit_fault_headers(template, fault))
            return self._error_fault(template, fault.status)
        refused = self.billing.refusal(template, self.clock.now_ms())
        if refused is not None:
            status, body = refused
            return reply(status, body, self.limiter.peek(template) if status == 429 else None)
        allowed, limit_headers = self.limiter.consume(template)
        if not allowed:
            return reply(429, TOO_MANY_REQUESTS, limit_headers)
        if delay > 0:
            self._sleep(delay)
        params = Params(endpoint.params, parse_qsl(query, keep_blank_values=True))
        try:
            payload = self._endpoints.answer(endpoint, params, path_arg)
        except BadRequest as exc:
            return reply(400, exc.body(), limit_headers)
        self.billing.bill(template, payload, self.clock.now_ms())
        return reply(200, payload, limit_headers)

    def _rate_limit_fault_headers(self, template: str, fault: Fault) -> dict[str, str]:
        headers = {} if fault.headers == "none" else self.limiter.exhaust(template)
        if fault.headers == "past":
            headers["x-rate-limit-reset"] = str(int(self.limiter.now()) - 60)
        if fault.retry_after is not None:
            headers["retry-after"] = str(fault.retry_after)
        return headers

    def _error_fault(self, template: str, status: int) -> Response:
        """An injected error in the body the API sends for that status. Authentication and access
        are refused before any rate-limit accounting, so those answers carry no rate-limit headers."""
        if status == 401:
            return reply(401, UNAUTHORIZED)
        if status == 403:
            return reply(403, CLIENT_FORBIDDEN)
        if status == 404:
            return reply(404, NOT_FOUND, self.limiter.peek(template))
        title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Internal Server Error"
        return reply(status, problem(status, title), self.limiter.peek(template))

    def _authorized(self, headers: Mapping[str, str]) -> bool:
        value = headers.get("Authorization") or headers.get("authorization") or ""
        scheme, _, credential = value.partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            return False
        return self.token is None or hmac.compare_digest(credential.strip(), self.token)
