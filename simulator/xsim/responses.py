"""What the transport sends: a status, headers and a JSON body, or a dropped connection."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Response:
    """What the transport should send; `drop` means close the connection without answering."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


def json_bytes(payload: Any) -> bytes:
    """Compact UTF-8 JSON, as the API sends it (non-ASCII text unescaped)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    out = {"content-type": "application/json; charset=utf-8"}
    if headers:
        out.update(headers)
    return Response(status, json_bytes(payload), out)
