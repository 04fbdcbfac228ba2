"""The tracked-accounts REST API: one FastAPI application, served two ways.

* locally: ``tweetlake api --port 8080 [--lake URI]`` (uvicorn; ``X-API-Key`` header auth);
* on AWS: :mod:`tweetlake.api.lambda_handler` behind an API Gateway HTTP API (payload v2; IAM auth
  at the gateway, checked again by the application).

The registry behind it is :class:`ingestion.registry.Registry`, the same code (and the same
conditional writes) the collectors use, so concurrent requests never lose an update.
"""

from tweetlake.api.app import ApiConfig, create_app

__all__ = ["ApiConfig", "create_app"]
