"""Error bodies in one shape: RFC 9457 problem details (``application/problem+json``).

``type`` is a URN naming the problem (``urn:tweetlake:problem:not-tracked``) or ``about:blank``
when the HTTP status says all there is; ``title`` is fixed per type, ``detail`` says what happened
to this request. Validation problems add an ``errors`` member (where and what).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse

PROBLEM_MEDIA_TYPE = "application/problem+json"


class Problem(BaseModel):
    """An RFC 9457 problem details object."""

    model_config = ConfigDict(extra="allow")

    type: str = Field("about:blank", description="a URI naming the problem type")
    title: str = Field(description="short summary of the problem type")
    status: int = Field(ge=400, le=599, description="the HTTP status code")
    detail: str | None = Field(None, description="what happened to this request")
    instance: str | None = Field(None, description="the request path")
    errors: list[dict[str, Any]] | None = Field(None, description="validation problems: where and what")


class ProblemError(Exception):
    """Raised by the service layer; rendered as problem+json by the application."""

    def __init__(
        self,
        status: int,
        slug: str | None,
        detail: str,
        *,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.type = f"urn:tweetlake:problem:{slug}" if slug else "about:blank"
        self.title = title or HTTPStatus(status).phrase
        self.detail = detail
        self.headers = headers or {}
        self.errors = errors


def problem_response(err: ProblemError, instance: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": err.type, "title": err.title, "status": err.status, "detail": err.detail}
    if instance:
        body["instance"] = quote(instance, safe="/:@!$&'()*+,;=-._~")  # a URI reference: percent-encoded
    if err.errors is not None:
        body["errors"] = err.errors
    return JSONResponse(body, status_code=err.status, headers=err.headers, media_type=PROBLEM_MEDIA_TYPE)
