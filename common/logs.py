"""Logging set-up shared by every face of tweetlake.

Secrets must never reach a log line. Code that loads a secret registers it with
:func:`register_secret`; from then on every log record, from any library, has every registered
value replaced in its final message when the record is created (a record factory, so no handler
order or propagation path can see the raw text).
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from typing import Any

_secrets: set[str] = set()
_installed = False
_lock = threading.Lock()
REDACTED = "***"


def register_secret(value: str | None) -> None:
    """Redact ``value`` from every log record from now on (short values are ignored as noise)."""
    global _installed
    if value and len(value) >= 8:
        with _lock:
            _secrets.add(value)
            if not _installed:
                logging.setLogRecordFactory(_redacting_factory(logging.getLogRecordFactory()))
                _installed = True


def _redacting_factory(make: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return record

    return factory


def redact(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to ``sys.stderr`` as it is when a line is logged: a stderr replaced after the first
    call (a test's capture, a redirect) never leaves the handler writing to a closed stream."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


def configure_logging(level: str | int = "INFO") -> None:
    """Plain, greppable lines on stderr; idempotent."""
    root = logging.getLogger()
    if any(getattr(h, "_tweetlake", False) for h in root.handlers):
        root.setLevel(level)
        return
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler._tweetlake = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer", "py4j"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
