"""The API's error bodies: whole-request problems and the partial errors of a 200 response.

Titles, types, details and field order follow the documentation and real recorded responses
(see tests/fixtures/xapi/): a client that reads them right here reads them right on api.x.com.
"""

from __future__ import annotations

from typing import Any

PROBLEMS = "https://api.twitter.com/2/problems/"
NOT_FOUND_TYPE = PROBLEMS + "resource-not-found"
NOT_AUTHORIZED_TYPE = PROBLEMS + "not-authorized-for-resource"
INVALID_REQUEST_TYPE = PROBLEMS + "invalid-request"


def problem(status: int, title: str, detail: str | None = None, **extra: Any) -> dict[str, Any]:
    """An `about:blank` problem body (401, 429, 5xx, unknown routes)."""
    body: dict[str, Any] = {"title": title, "detail": detail or title, "type": "about:blank", "status": status}
    body.update(extra)
    return body


UNAUTHORIZED = problem(401, "Unauthorized")
# What the API answers an app whose project or access level lacks the endpoint (recorded responses).
CLIENT_FORBIDDEN = {
    "client_id": "12345678",
    "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a "
    "Twitter developer App that is attached to a Project. You can create a project via the developer portal.",
    "registration_url": "https://developer.twitter.com/en/docs/projects/overview",
    "title": "Client Forbidden",
    "required_enrollment": "Appropriate Level of API Access",
    "reason": "client-not-enrolled",
    "type": PROBLEMS + "client-forbidden",
}
NOT_FOUND = problem(404, "Not Found Error", "The requested resource was not found")
TOO_MANY_REQUESTS = problem(429, "Too Many Requests")
# The monthly cap, as a recorded response shows it (no `status` key, unlike the about:blank problems).
USAGE_CAPPED = {
    "account_id": 1469000000000000001,
    "product_name": "standard-basic",
    "title": "UsageCapExceeded",
    "period": "Monthly",
    "scope": "Product",
    "detail": "Usage cap exceeded: Monthly product cap",
    "type": PROBLEMS + "usage-capped",
}

# Pay-per-use credits spent (recorded responses: HTTP 402, no `status` key).
CREDITS_DEPLETED = {
    "type": PROBLEMS + "credits",
    "title": "CreditsDepleted",
    "detail": "Your enrolled account [1469000000000000001] does not have any credits to fulfill this request.",
}


class BadRequest(Exception):
    """Collected parameter errors, answered as one 400 in the v2 invalid-request shape."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors)
        self.errors = errors

    def body(self) -> dict[str, Any]:
        return {
            "errors": self.errors,
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": INVALID_REQUEST_TYPE,
        }


def resource_error(
    title: str, detail: str, value: str, resource_type: str, parameter: str, type_: str, section: str | None = None
) -> dict[str, Any]:
    """One entry of a 200 response's `errors` array, in the real field order."""
    error: dict[str, Any] = {
        "value": value,
        "detail": detail,
        "title": title,
        "resource_type": resource_type,
        "parameter": parameter,
        "resource_id": value,
        "type": type_,
    }
    if section is not None:
        error["section"] = section
    return error


def not_found(resource_type: str, parameter: str, value: str, section: str | None = None) -> dict[str, Any]:
    detail = f"Could not find {resource_type} with {parameter}: [{value}]."
    return resource_error("Not Found Error", detail, value, resource_type, parameter, NOT_FOUND_TYPE, section)


def suspended(parameter: str, value: str, section: str | None = None) -> dict[str, Any]:
    return resource_error(
        "Forbidden", f"User has been suspended: [{value}].", value, "user", parameter, NOT_FOUND_TYPE, section
    )


def not_authorized(resource_type: str, parameter: str, value: str, section: str | None = None) -> dict[str, Any]:
    noun = "Tweet" if resource_type == "tweet" else resource_type
    detail = f"Sorry, you are not authorized to see the {noun} with {parameter}: [{value}]."
    return resource_error("Authorization Error", detail, value, resource_type, parameter, NOT_AUTHORIZED_TYPE, section)
