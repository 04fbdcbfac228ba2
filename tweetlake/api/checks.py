"""The API checks before it reads: :class:`ChecksFirst`, an ASGI middleware in front of the routes
(the declared size, then the caller, then the body up to the limit; see :mod:`tweetlake.api.app`)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tweetlake.api.problems import ProblemError, problem_response


class _ClientGone(Exception):
    pass


class ChecksFirst:
    """ASGI middleware: the declared size, then the caller, then the body up to ``limit`` bytes."""

    def __init__(
        self, app: ASGIApp, *, authenticate: Callable[[Scope], None], public: frozenset[str], limit: int
    ) -> None:
        self.app, self.authenticate, self.public, self.limit = app, authenticate, public, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        has_body = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
        try:
            self._check_declared_size(headers.get("content-length"))
            if scope["path"] not in self.public:
                self.authenticate(scope)
            body = await self._read_body(receive)
        except ProblemError as err:
            if has_body:  # what the client still sends is never read: end the connection after this answer
                err.headers.setdefault("Connection", "close")
            await problem_response(err, scope["path"])(scope, receive, send)
            return
        except _ClientGone:
            return
        await self.app(scope, _replay(body, receive), send)

    def _too_large(self) -> ProblemError:
        return ProblemError(413, "body-too-large", f"the request body is larger than {self.limit} bytes")

    def _check_declared_size(self, content_length: str | None) -> None:
        if content_length is None:
            return
        if not content_length.isdigit():
            raise ProblemError(400, "bad-content-length", "Content-Length is not a number of bytes")
        if int(content_length) > self.limit:
            raise self._too_large()

    async def _read_body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                raise self._too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the body already read, then listens to the client again."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed
