"""One GET as the client sends it: a wall-clock deadline for the whole answer, the body read as it
arrives (renewing the run's lease between chunks), and redirects only within the API's origin.

``requests``' own ``timeout`` bounds each socket read, not the answer: a server that drips one byte
every two seconds keeps every read short and one page could take a day. So the body is read with
``read1`` (whatever has arrived), and the deadline is checked between reads. An answer redirected to
another host is refused: it would be taken as the API's data, and the request carries the bearer
token's authority.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from ingestion.errors import DeadlineExceeded, FatalAPIError

MAX_REDIRECTS = 3
BODY_CHUNK = 1 << 16


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def fetch(
    session: requests.Session,
    endpoint: str,
    url: str,
    params: Mapping[str, Any] | None,
    *,
    base_url: str,
    timeout: tuple[float, float],
    deadline: float,
    on_chunk: Callable[[], None],
) -> tuple[requests.Response, bytes]:
    """The response and its whole body within ``deadline`` seconds, following redirects only
    within ``base_url``'s origin. Raises what ``requests`` raises for the transport's failures."""
    ends_at = time.monotonic() + deadline
    for _ in range(MAX_REDIRECTS + 1):
        response = session.get(url, params=params, timeout=timeout, stream=True, allow_redirects=False)
        if not response.is_redirect:
            return response, read_body(endpoint, response, ends_at, deadline, on_chunk)
        target = urljoin(response.url, response.headers.get("location", ""))
        response.close()
        if origin(target) != origin(base_url):
            raise FatalAPIError(
                f"{endpoint}: HTTP {response.status_code} redirect to another origin "
                f"({origin(target)}); refusing to follow it",
                status=response.status_code,
                endpoint=endpoint,
            )
        url, params = target, None  # the location carries its own query
    raise FatalAPIError(f"{endpoint}: more than {MAX_REDIRECTS} redirects", endpoint=endpoint)


def read_body(
    endpoint: str, response: requests.Response, ends_at: float, deadline: float, on_chunk: Callable[[], None]
) -> bytes:
    """Read the body chunk by chunk (a cut connection raises here), calling ``on_chunk`` after each."""
    chunks: list[bytes] = []
    raw = response.raw
    read = getattr(raw, "read1", None) or raw.read  # read1 returns what has arrived, not a full chunk
    try:
        while True:
            if time.monotonic() > ends_at:
                raise DeadlineExceeded(f"{endpoint}: no complete answer within {deadline:.0f} s", endpoint=endpoint)
            chunk = read(BODY_CHUNK, decode_content=True)
            if not chunk:
                break
            chunks.append(chunk)
            on_chunk()
    except urllib3.exceptions.ProtocolError as err:  # IncompleteRead: the server cut the body short
        raise requests.exceptions.ChunkedEncodingError(err) from None
    except urllib3.exceptions.DecodeError as err:
        raise requests.exceptions.ContentDecodingError(err) from None
    except urllib3.exceptions.ReadTimeoutError as err:
        raise requests.exceptions.ReadTimeout(err) from None
    finally:
        response.close()
    return b"".join(chunks)
