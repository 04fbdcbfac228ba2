"""What one HTTP answer of the X API is: a :class:`~ingestion.page.Page` for a 200 whose body is a
JSON object, else the typed error (:mod:`ingestion.errors`) its status means."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

import requests

from ingestion.errors import (
    CreditsSpent,
    FatalAPIError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    RetriableAPIError,
    UnauthorizedError,
    UsageCapExceeded,
    problem_text,
)
from ingestion.page import Page
from ingestion.ratelimit import header_int, longer_window_spent, retry_after, spent_window_reset

log = logging.getLogger(__name__)


def page_of(
    endpoint: str, path: str, response: requests.Response, raw: bytes, received_at: datetime, now: float
) -> Page:
    """The page a 200 holds; raises the error any other status (or a 200 that is no object) means.
    ``now`` (epoch seconds) dates a ``Retry-After`` given as an HTTP date."""
    status = response.status_code
    body: Any
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    log.debug("%s %s -> %s", endpoint, path, status)
    if status == 200:
        if not isinstance(body, dict):
            raise RetriableAPIError(
                f"{endpoint}: HTTP 200 with a body that is not a JSON object", status=200, endpoint=endpoint
            )
        return Page(endpoint, body, received_at)
    text = problem_text(body, response.reason or f"HTTP {status}")
    message = f"{endpoint}: HTTP {status}: {text}"
    if status == 429:
        if isinstance(body, dict) and (
            body.get("title") == "UsageCapExceeded" or "usage-capped" in str(body.get("type", ""))
        ):
            raise UsageCapExceeded(
                f"{endpoint}: the app's monthly X API usage cap is spent ({text}); "
                "collection resumes when the cap resets or the plan is raised",
                status=status,
                endpoint=endpoint,
                body=body,
            )
        headers = response.headers
        left = header_int(headers, "x-rate-limit-remaining")
        raise RateLimitError(
            message,
            reset_at=spent_window_reset(headers),
            retry_after=retry_after(headers, now),
            window_left=left is not None and left > 0 and not longer_window_spent(headers),
            status=status,
            endpoint=endpoint,
            body=body,
        )
    if status >= 500 or status in (408, 425):
        raise RetriableAPIError(message, status=status, endpoint=endpoint, body=body)
    error_class: type[FatalAPIError] = {
        400: InvalidRequestError,
        401: UnauthorizedError,
        402: CreditsSpent,
        403: ForbiddenError,
        404: NotFoundError,
    }.get(status, FatalAPIError)
    if status == 401:
        message += " (check X_BEARER_TOKEN or the token secret)"
    elif status == 402:  # pay-per-use: the account's prepaid credits are spent
        message += " (the X API account has no credits left: top up in the developer console)"
    elif status == 403 and isinstance(body, dict) and body.get("reason") == "client-not-enrolled":
        message += " (the app's access level or project does not include this endpoint)"
    raise error_class(message, status=status, endpoint=endpoint, body=body)
