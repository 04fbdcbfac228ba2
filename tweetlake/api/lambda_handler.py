"""The AWS Lambda entry point: ``tweetlake.api.lambda_handler.handler``.

Behind an API Gateway HTTP API (payload format 2.0) whose routes use ``AWS_IAM`` auth. Settings
come from the function's environment:

* ``TWEETLAKE_LAKE`` — ``s3://bucket/prefix`` (required);
* ``X_BEARER_TOKEN_SECRET_ARN`` (or ``X_BEARER_TOKEN``), ``X_API_BASE_URL`` — when set, new
  accounts are resolved on the X API before they are tracked; otherwise added unresolved;
* ``TWEETLAKE_API_PROFILE_SNAPSHOTS`` — ``0`` when the role may not read ``raw/users/`` (the last
  profile snapshot day then comes from the registry only, where the users collector records it).

The application is built once per execution environment (cold start), so the registry's lake
client, the X client and the token read from Secrets Manager are reused across invocations.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mangum import Mangum
from mangum.adapter import DEFAULT_TEXT_MIME_TYPES

from common.lake import Lake
from common.logs import configure_logging
from common.settings import Settings, load
from tweetlake.api.app import ApiConfig, create_app
from tweetlake.api.problems import PROBLEM_MEDIA_TYPE
from tweetlake.api.service import client_factory


def build_handler(env: Mapping[str, str] | None = None, lake: Lake | None = None) -> Mangum:
    """The application for the settings of ``env`` (default: the function's environment)."""
    settings = Settings.from_env(env)
    if lake is None:
        if not settings.lake_configured:
            raise RuntimeError("TWEETLAKE_LAKE is not set (s3://bucket/prefix)")
        lake = Lake.from_uri(settings.lake_uri)
    config = ApiConfig(
        lake=lake,
        auth="iam",
        client_factory=client_factory(settings),
        profile_snapshots=settings.api_profile_snapshots,
    )
    # problem+json is text too: return it as such, not base64
    return Mangum(create_app(config), lifespan="off", text_mime_types=[*DEFAULT_TEXT_MIME_TYPES, PROBLEM_MEDIA_TYPE])


_handler: Mangum | None = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _handler
    if _handler is None:
        configure_logging(load().log_level)
        _handler = build_handler()
    return _handler(event, context)
