"""The X API bearer token from AWS Secrets Manager."""

from __future__ import annotations

import json

from ingestion.errors import ConfigurationError


def read_token_secret(secret_arn: str) -> str:
    """The bearer token from Secrets Manager: a plain string, or JSON with ``bearer_token``."""
    import boto3  # lazily: only the AWS set-up needs it

    try:
        value = boto3.client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"]
    except Exception as err:  # the message names the secret, never its value
        raise ConfigurationError(f"cannot read the X API token secret {secret_arn}: {type(err).__name__}") from None
    value = value.strip()
    if value.startswith("{"):
        try:
            doc = json.loads(value)
        except ValueError:
            raise ConfigurationError(f"token secret {secret_arn} holds malformed JSON") from None
        for key in ("bearer_token", "X_BEARER_TOKEN", "token"):
            if doc.get(key):
                return str(doc[key])
        raise ConfigurationError(f"token secret {secret_arn} has no 'bearer_token' key")
    return value
