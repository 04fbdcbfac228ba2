"""A misbehaving X API for tests: a proxy in front of the simulator that spoils chosen answers.

The simulator answers every request correctly; :class:`HostileProxy` forwards requests to it and,
for the requests a :class:`Rule` picks (by endpoint path, by the n-th match), answers instead with
what a broken server, a load balancer or a flaky network sends: a 200 ``{}``, an HTML 502, a body
cut short, a body dripped a byte at a time, a lookup that leaves out ids, a repeated ``next_token``,
a redirect to another origin. Everything the client receives crosses a real socket.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

Spoil = Callable[["Exchange"], "Reply | None"]


@dataclass
class Exchange:
    """One request and (once forwarded) the simulator's answer to it."""

    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    upstream: Callable[[], Reply]


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    drip_seconds: float = 0.0  # pause before each byte of the body
    cut_after: int | None = None  # send only this many bytes of the body, then close

    @staticmethod
    def json(status: int, doc: Any, headers: dict[str, str] | None = None) -> Reply:
        return Reply(status, json.dumps(doc).encode(), {"content-type": "application/json", **(headers or {})})


@dataclass
class Rule:
    """Spoil the ``times`` matches of ``path`` (a regex on the URL path) starting with match ``nth`` (1-based)."""

    path: str
    spoil: Spoil
    nth: int = 1
    times: int = 1
    seen: int = 0
    fired: int = 0

    def applies(self, path: str) -> bool:
        if not re.search(self.path, path):
            return False
        self.seen += 1
        if self.nth <= self.seen < self.nth + self.times:
            self.fired += 1
            return True
        return False


# -- the spoilers ----------------------------------------------------------------------------------
def empty_object(_: Exchange) -> Reply:
    return Reply.json(200, {})


def html_502(_: Exchange) -> Reply:
    return Reply(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", {"content-type": "text/html"})


def cut_body(exchange: Exchange) -> Reply:
    real = exchange.upstream()
    return Reply(real.status, real.body, real.headers, cut_after=max(1, len(real.body) // 2))


def drip(seconds_per_byte: float) -> Spoil:
    def spoil(exchange: Exchange) -> Reply:
        real = exchange.upstream()
        return Reply(real.status, real.body, real.headers, drip_seconds=seconds_per_byte)

    return spoil


def drop_ids(keep: int) -> Spoil:
    """A lookup that answers for only the first ``keep`` of the ids it found (the rest vanish)."""

    def spoil(exchange: Exchange) -> Reply:
        real = exchange.upstream()
        doc = json.loads(real.body)
        doc["data"] = (doc.get("data") or [])[:keep]
        doc.pop("errors", None)
        return Reply.json(real.status, doc, _rate_headers(real.headers))

    return spoil


def not_found(*ids: str) -> Spoil:
    """A lookup that answers "Not Found" for ``ids`` (as X does for a deleted post), the rest as it is."""

    def spoil(exchange: Exchange) -> Reply:
        real = exchange.upstream()
        doc = json.loads(real.body)
        doc["data"] = [t for t in doc.get("data") or [] if t.get("id") not in ids]
        asked = ",".join(exchange.query.get("ids") or []).split(",")
        doc["errors"] = [e for e in doc.get("errors") or [] if e.get("value") not in ids] + [
            {
                "value": i,
                "detail": f"Could not find tweet with ids: [{i}].",
                "title": "Not Found Error",
                "resource_type": "tweet",
                "parameter": "ids",
                "resource_id": i,
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            }
            for i in ids
            if i in asked
        ]
        if not doc["data"]:
            del doc["data"]
        return Reply.json(real.status, doc, _rate_headers(real.headers))

    return spoil


def tampered_lookup(
    history: dict[str, list[str]] | None = None, not_found: tuple[str, ...] = (), unasked: tuple[str, ...] = ()
) -> Spoil:
    """A lookup answer that claims more than it was asked: the edit ``history`` given for ids it
    holds, "Not Found" for the ``not_found`` ids whether asked or not, and data for ``unasked`` ids
    (clones of its first post)."""

    def spoil(exchange: Exchange) -> Reply:
        real = exchange.upstream()
        doc = json.loads(real.body)
        data = [t for t in doc.get("data") or [] if t.get("id") not in not_found]
        for tweet in data:
            tweet["edit_history_tweet_ids"] = (history or {}).get(tweet["id"], tweet.get("edit_history_tweet_ids"))
        if data and unasked:
            data += [{**data[0], "id": i, "edit_history_tweet_ids": [i]} for i in unasked]
        doc["data"] = data
        doc["errors"] = [e for e in doc.get("errors") or [] if e.get("value") not in not_found] + [
            {
                "value": i,
                "detail": f"Could not find tweet with ids: [{i}].",
                "title": "Not Found Error",
                "resource_type": "tweet",
                "parameter": "ids",
                "resource_id": i,
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            }
            for i in not_found
        ]
        return Reply.json(real.status, doc, _rate_headers(real.headers))

    return spoil


def overlaid(
    edit: Callable[[dict[str, Any]], None] | None = None, headers: dict[str, str] | None = None, status: int = 0
) -> Spoil:
    """The real answer with ``edit`` applied to its JSON body and ``headers`` laid over its own (or,
    with a ``status``, an error answer of that status with those headers)."""

    def spoil(exchange: Exchange) -> Reply:
        if status:
            return Reply.json(status, {"title": "Too Many Requests", "status": status}, headers)
        real = exchange.upstream()
        doc = json.loads(real.body)
        if edit is not None:
            edit(doc)
        return Reply.json(real.status, doc, {**_rate_headers(real.headers), **(headers or {})})

    return spoil


def repeat_token(exchange: Exchange) -> Reply:
    """Answer with the page the client asked for, but point ``next_token`` at that same page."""
    real = exchange.upstream()
    doc = json.loads(real.body)
    asked = (exchange.query.get("pagination_token") or exchange.query.get("next_token") or [None])[0]
    if asked and isinstance(doc.get("meta"), dict):
        doc["meta"]["next_token"] = asked
    return Reply.json(real.status, doc, _rate_headers(real.headers))


def spent_window(status: int, reset_at: Callable[[], float], prefix: str = "x-rate-limit") -> Spoil:
    """The real answer (``status`` 200), or a 429, whose headers say the window ``prefix`` names is
    spent until ``reset_at()`` (epoch seconds)."""

    def spoil(exchange: Exchange) -> Reply:
        spent = {f"{prefix}-limit": "900", f"{prefix}-remaining": "0", f"{prefix}-reset": str(int(reset_at()))}
        if status == 429:
            return Reply.json(429, {"title": "Too Many Requests", "detail": "Too Many Requests", "status": 429}, spent)
        real = exchange.upstream()
        return Reply(real.status, real.body, {**real.headers, **spent})

    return spoil


def stray_posts(*ids: int, dated: str | None = None) -> Spoil:
    """The real page with posts of these ids added (clones of its first post, dated by their ids, or
    ``dated`` when given: a ``created_at`` that lies about the id): posts the request never asked for,
    as a server that ignores ``until_id``/``since_id`` sends."""

    def spoil(exchange: Exchange) -> Reply:
        real = exchange.upstream()
        doc = json.loads(real.body)
        model = (doc.get("data") or [None])[0]
        if model is None:
            return real
        strays = [
            {**model, "id": str(i), "edit_history_tweet_ids": [str(i)], "created_at": dated or _snowflake_iso(i)}
            for i in ids
        ]
        doc["data"] = [*strays, *doc["data"]]
        doc["meta"]["result_count"] = len(doc["data"])
        return Reply.json(real.status, doc, _rate_headers(real.headers))

    return spoil


def _snowflake_iso(tweet_id: int) -> str:
    ms = (tweet_id >> 22) + 1288834974657
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def redirect_to(location: str) -> Spoil:
    def spoil(_: Exchange) -> Reply:
        return Reply(302, b"", {"location": location})

    return spoil


def _rate_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower().startswith("x-rate-limit")}


# -- the server ------------------------------------------------------------------------------------
class HostileProxy:
    """``with HostileProxy(sim.base_url) as proxy: proxy.rules.append(Rule(...)); proxy.base_url``."""

    def __init__(self, upstream_base_url: str) -> None:
        parts = urlsplit(upstream_base_url)
        self.upstream_origin = f"{parts.scheme}://{parts.netloc}"
        self.prefix = parts.path.rstrip("/")  # e.g. "/2"
        self.rules: list[Rule] = []
        self.requests: list[str] = []
        self.asked_ids: list[list[str]] = []  # the ids= of every lookup, in order
        self._session = requests.Session()
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: Any) -> None:
                pass

            def do_GET(self) -> None:
                proxy._serve(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{self.prefix}"

    def __enter__(self) -> HostileProxy:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._session.close()

    def _forward(self, handler: BaseHTTPRequestHandler) -> Reply:
        headers = {k: v for k, v in handler.headers.items() if k.lower() in ("authorization", "user-agent")}
        response = self._session.get(self.upstream_origin + handler.path, headers=headers, timeout=30)
        kept = {
            k: v
            for k, v in response.headers.items()
            if k.lower()
            not in ("content-length", "transfer-encoding", "connection", "date", "server", "content-encoding")
        }
        return Reply(response.status_code, response.content, kept)

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        with self._lock:
            self.requests.append(parts.path)
            if "ids" in (query := parse_qs(parts.query)):
                self.asked_ids.append(",".join(query["ids"]).split(","))
            rule = next((r for r in self.rules if r.applies(parts.path)), None)
        exchange = Exchange(
            parts.path, parse_qs(parts.query), dict(handler.headers.items()), lambda: self._forward(handler)
        )
        reply = (rule.spoil(exchange) if rule else None) or exchange.upstream()
        self._write(handler, reply)

    @staticmethod
    def _write(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        handler.send_response(reply.status)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        handler.send_header("content-length", str(len(reply.body)))
        if reply.cut_after is not None:
            handler.send_header("connection", "close")
        handler.end_headers()
        body = reply.body if reply.cut_after is None else reply.body[: reply.cut_after]
        try:
            if reply.drip_seconds:
                for byte in body:
                    handler.wfile.write(bytes([byte]))
                    handler.wfile.flush()
                    time.sleep(reply.drip_seconds)
            else:
                handler.wfile.write(body)
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a deadline): fine
            handler.close_connection = True
            return
        if reply.cut_after is not None:
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
