"""What an X API request can fail with, sorted the way the API means it.

Retriable (429, 5xx, timeouts, resets, a body cut short) and fatal (400, 401, 403, 404, the usage
cap) are two branches of one tree, so a caller decides with one ``except`` what it can wait out.
``str(err)`` is always safe to print: no error ever holds the bearer token.
"""

from __future__ import annotations

from typing import Any


class APIError(Exception):
    """An X API request failed. ``str(err)`` is safe to print: it never holds the token."""

    def __init__(self, message: str, *, status: int | None = None, endpoint: str = "", body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.endpoint = endpoint
        self.body = body


class RetriableAPIError(APIError):
    """Worth retrying: 5xx, timeouts, resets, truncated bodies."""


class MalformedResponse(RetriableAPIError):
    """HTTP 200 whose body is not what was asked for (``{}``, a page without ``data`` or ``meta``,
    a lookup that answers for none of its ids): retried like a 5xx, never taken as data."""


class DeadlineExceeded(RetriableAPIError):
    """The whole answer (connect, headers and body) took longer than the request's deadline."""


class RateLimitError(RetriableAPIError):
    """HTTP 429 for a rate-limit window. ``reset_at`` (epoch seconds) and ``retry_after`` (seconds)
    come from this response's headers only; ``None`` when it did not carry them. ``window_left``:
    the 15-minute window still had requests left (and no 24-hour limit was spent), so what refused
    it is a per-second rule, which a short wait clears."""

    def __init__(
        self,
        message: str,
        *,
        reset_at: float | None,
        retry_after: float | None = None,
        window_left: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.reset_at = reset_at
        self.retry_after = retry_after
        self.window_left = window_left


class FatalAPIError(APIError):
    """Retrying cannot help (bad request, bad token, no access, usage cap)."""


class InvalidRequestError(FatalAPIError):
    """HTTP 400."""


class UnauthorizedError(FatalAPIError):
    """HTTP 401: the bearer token is missing, wrong or revoked."""


class ForbiddenError(FatalAPIError):
    """HTTP 403: the app's access level lacks this endpoint."""


class NotFoundError(FatalAPIError):
    """HTTP 404: the primary resource does not exist."""


class UsageCapExceeded(FatalAPIError):
    """HTTP 429 ``UsageCapExceeded``: the monthly cap is spent; waiting 15 minutes does not help."""


class CreditsSpent(FatalAPIError):
    """HTTP 402: the pay-per-use account's credits are spent; nothing more is served until topped up.

    :func:`ingestion.run.run` adds what the usage ledger counted this month (``month_to_date``)."""

    month_to_date: str = ""


class PaginationLoopError(FatalAPIError):
    """The API returned a ``next_token`` it had already returned: following it would never end."""


class BudgetReached(Exception):
    """The run's monthly budget (``--budget-usd``/``--budget-reads``) would be exceeded by the next
    request: the run stopped before sending it (not an API error: nothing failed, nothing was billed)."""


class StateCorrupt(ValueError):
    """A state document under ``<lake>/state/`` cannot be read; the message names it and says how to
    recover (restore it, or the command that rebuilds it)."""


class ConfigurationError(Exception):
    """The client cannot be built (no token configured, secret unreadable)."""


def problem_text(body: Any, fallback: str) -> str:
    """``title: detail`` from a v2 problem body (including 400 bodies with nested ``errors``)."""
    if not isinstance(body, dict):
        return fallback
    parts = [str(body[k]) for k in ("title", "detail") if body.get(k)]
    for err in body.get("errors") or []:
        if isinstance(err, dict) and (err.get("message") or err.get("detail")):
            parts.append(str(err.get("message") or err.get("detail")))
    if body.get("reason"):
        parts.append(f"reason={body['reason']}")
    return ": ".join(dict.fromkeys(parts)) or fallback
