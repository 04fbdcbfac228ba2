"""Settings read from the environment, in one place, so every face documents the same names."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_API_BASE_URL = "https://api.x.com/2"


def home() -> Path:
    """Where local state lives (lake, embedded PostgreSQL): ``$TWEETLAKE_HOME`` or ``./.tweetlake``."""
    return Path(os.environ.get("TWEETLAKE_HOME") or Path.cwd() / ".tweetlake").resolve()


def default_lake_uri() -> str:
    """``$TWEETLAKE_LAKE`` or a folder under :func:`home`."""
    return os.environ.get("TWEETLAKE_LAKE") or (home() / "lake").as_uri()


def api_base_url() -> str:
    return (os.environ.get("X_API_BASE_URL") or DEFAULT_API_BASE_URL).rstrip("/")
