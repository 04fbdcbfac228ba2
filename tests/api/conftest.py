"""API fixtures: the application served by a real uvicorn server on a free port, and the simulator."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import requests
import uvicorn
from fastapi import FastAPI

from common.lake import Lake
from tests.support import FakeClock, make_client
from tweetlake.api import ApiConfig, create_app
from xsim import SimulatorServer

API_KEY = "test-api-key-0123456789abcdef"


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run ``app`` on uvicorn in a thread (as ``tweetlake api`` does); yields its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", log_config=None, access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


class Api:
    """A tiny client for the served app: ``api.post("/accounts", json=…)`` with the key set."""

    def __init__(self, base_url: str, key: str | None = API_KEY) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        if key:
            self.session.headers["X-API-Key"] = key

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.session.request(method, self.base_url + path, timeout=30, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs) -> requests.Response:
        return self.request("DELETE", path, **kwargs)


@pytest.fixture
def start_api() -> Iterator[Callable[..., Api]]:
    """``start_api(lake, **ApiConfig options)`` serves a fresh app and returns a client for it."""
    stack: list = []

    def start(lake: Lake, *, key: str | None = API_KEY, **options) -> Api:
        options.setdefault("auth", "api_key" if key else "none")
        app = create_app(ApiConfig(lake=lake, api_key=key, **options))
        cm = serve(app)
        base_url = cm.__enter__()
        stack.append(cm)
        api = Api(base_url, key)
        api.app = app  # type: ignore[attr-defined]
        return api

    yield start
    for cm in reversed(stack):
        cm.__exit__(None, None, None)


@pytest.fixture
def api(start_api: Callable[..., Api], local_lake: Lake) -> Api:
    return start_api(local_lake)


@pytest.fixture
def x_client_factory(sim: SimulatorServer, fake_clock: FakeClock):
    """What the app calls to build its X client: the simulator, on the fake clock."""
    return lambda: make_client(sim, fake_clock, max_retries=1, backoff_base=0.01)
