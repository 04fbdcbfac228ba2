"""The HTTP shell around `Api`: a threading HTTP/1.1 server with keep-alive.

Standard library only, so the simulator installs anywhere with nothing else. Each response is
written in a single send with TCP_NODELAY, so keep-alive clients never wait on Nagle/delayed-ACK
interplay and a page costs what rendering it costs.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from xsim.api import Api
from xsim.billing import Billing, BillingConfig
from xsim.clock import SimClock
from xsim.faults import FaultConfig, Faults
from xsim.ratelimit import RateLimiter
from xsim.responses import Response
from xsim.stats import Stats
from xsim.world import World


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tweetlake-simulator"
    sys_version = ""
    timeout = 300  # idle keep-alive connections are closed after this many seconds

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        server: _Server = self.server  # type: ignore[assignment]
        response = server.api.handle(self.command, self.path, dict(self.headers.items()), body)
        if response.drop:
            self.close_connection = True
            return
        self._write(response)

    def _write(self, response: Response) -> None:
        reason = HTTPStatus(response.status).phrase if response.status in HTTPStatus._value2member_map_ else ""
        lines = [f"HTTP/1.1 {response.status} {reason}"]
        for name, value in response.headers.items():
            lines.append(f"{name}: {value}")
        lines.append(f"content-length: {len(response.body)}")
        lines.append("date: " + self.date_time_string())
        if self.close_connection:
            lines.append("connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head + response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging: benchmarks make hundreds of thousands of requests."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], api: Api) -> None:
        self.api = api
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conn_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conn_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Unblock keep-alive handler threads so stop() leaves no connection behind."""
        with self._conn_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class SimulatorServer:
    """A running X API v2 simulator on 127.0.0.1 (use as a context manager or start/stop).

    `now` is where the world clock starts (None: the real current time); the clock is frozen
    unless `frozen=False`. `token=None` accepts any non-empty bearer token. `billing` sets the
    prices, the prepaid credits, the monthly post cap and whether the plan has full-archive access
    (`BillingConfig`; default: pay-per-use prices, unlimited credits, full archive).
    """

    def __init__(
        self,
        seed: int = 42,
        accounts: int = 20,
        now: datetime | str | None = "2026-11-22T12:00:00Z",
        token: str | None = None,
        rate_limits: dict[str, int] | None = None,
        rate_clock: Callable[[], float] | None = None,
        faults: FaultConfig | None = None,
        activity: float = 1.0,
        port: int = 0,
        host: str = "127.0.0.1",
        frozen: bool = True,
        billing: BillingConfig | None = None,
    ) -> None:
        if now is None:
            now = datetime.now(UTC).replace(microsecond=0)
        self.clock = SimClock(now, frozen=frozen)
        self.world = World(seed=seed, accounts=accounts, start=self.clock.now(), activity=activity, clock=self.clock)
        self.stats = Stats()
        self.faults = Faults(faults, seed=seed)
        self.rate_limiter = RateLimiter(rate_limits, rate_clock)
        self.billing = Billing(billing)
        self.api = Api(
            self.world, self.clock, self.stats, self.faults, self.rate_limiter, token=token, billing=self.billing
        )
        self._address = (host, port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> SimulatorServer:
        """Bind and serve in a background thread; returns self for chaining."""
        if self._server is not None:
            return self
        self._server = _Server(self._address, self.api)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="x-api-simulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close every open connection and release the port."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("simulator is not running")
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        return self._address[0]

    @property
    def root_url(self) -> str:
        """http://host:port (the /_sim control endpoints live here)."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """http://host:port/2 — what a client uses as the API base."""
        return self.root_url + "/2"

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
