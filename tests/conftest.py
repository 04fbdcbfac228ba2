"""Fixtures shared by the whole suite: lakes (a folder, and S3 on moto)."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from moto.server import ThreadedMotoServer

from common.lake import Lake
from common.layout import parse_time
from ingestion.client import XClient
from tests.support import SIM_START, TOKEN, FakeClock, make_client
from xsim import SimulatorServer

# Tests never talk to real AWS, whatever the developer's shell has configured.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
)
# The suite starts dozens of short-lived Spark JVMs (its sessions, and every job it runs as a
# command) on tiny data: without the optimising compiler each start costs a third less CPU (13-17 s
# against 8-10 s for a session and two small jobs), and the slow lane is bound by CPU. A developer's
# own (non-empty) setting wins.
if not os.environ.get("TWEETLAKE_SPARK_JAVA_OPTIONS"):
    os.environ["TWEETLAKE_SPARK_JAVA_OPTIONS"] = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_ENDPOINT_URL", None)


@pytest.fixture
def local_lake(tmp_path: Path) -> Lake:
    return Lake.from_uri((tmp_path / "lake").as_uri())


@pytest.fixture
def s3_lake() -> Iterator[Lake]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="tweetlake-test")
        yield Lake.from_uri("s3://tweetlake-test/lake", s3_client=client)


@pytest.fixture(params=["local", "s3"])
def any_lake(request: pytest.FixtureRequest) -> Lake:
    return request.getfixturevalue(f"{request.param}_lake")


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A real HTTP moto server (thread-safe under concurrent clients, usable by the AWS CLI)."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_server_lake(moto_endpoint: str) -> Lake:
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    bucket = f"lake-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return Lake.from_uri(f"s3://{bucket}/lake", s3_client=client)


# -- the X API, as the project's simulator serves it -------------------------------------------------
@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock(parse_time(SIM_START))


@pytest.fixture
def sim(fake_clock: FakeClock) -> Iterator[SimulatorServer]:
    with SimulatorServer(seed=7, accounts=8, now=SIM_START, token=TOKEN, rate_clock=fake_clock) as server:
        yield server


@pytest.fixture
def client(sim: SimulatorServer, fake_clock: FakeClock) -> Iterator[XClient]:
    c = make_client(sim, fake_clock)
    yield c
    c.close()


LONGEST_FIRST = (
    "tests/airflow/test_local_runs.py",
    "tests/docs/test_quickstart.py",
    "tests/faces/test_demo_resume.py",
    "tests/glue/test_kill.py",
    "tests/airflow/",
)
"""The longest tests (minutes each, measured with --durations): handed out first, so that no worker
is left with one of them while the other has finished."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (``--dist loadgroup``, as scripts/test.sh runs it) the tests that share what
    a module fixture or the Airflow session builds go to one worker, so it is built once; the
    longest start first."""

    def rank(item: pytest.Item) -> int:  # in LONGEST_FIRST's order, then the rest as collected
        return next((i for i, prefix in enumerate(LONGEST_FIRST) if item.nodeid.startswith(prefix)), len(LONGEST_FIRST))

    items.sort(key=rank)
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        if "airflow_venv" in info.names_closure:
            group = "airflow"
        elif any(defs[-1].scope == "module" for defs in info.name2fixturedefs.values()):
            group = item.nodeid.split("::", 1)[0]
        else:
            continue
        item.add_marker(pytest.mark.xdist_group(group))
