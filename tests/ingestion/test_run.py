"""The run every face calls (:mod:`ingestion.run`): one name per dataset, one exit code per ending,
progress told to whoever shows it; and the typed reader of the cursors it leaves."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import pytest

from common.lake import Lake, LakeAccessDenied, LakeUnavailable
from ingestion.client import XClient
from ingestion.cursors import CURSORS_KEY, AccountCursor, CursorStore, Pending
from ingestion.errors import ConfigurationError, RateLimitError, RetriableAPIError, UnauthorizedError
from ingestion.registry import InvalidUsername
from ingestion.run import ExitCode, outcome, run
from ingestion.state import RunLock, RunLockedError, read_json
from tests.ingestion.test_collectors import truth_since_2022
from tweetlake.cli import main as tweetlake
from tweetlake.output import Progress
from xsim import SimulatorServer


@pytest.mark.parametrize(
    ("error", "code", "words"),
    [
        (ConfigurationError("no X API token: set X_BEARER_TOKEN"), ExitCode.USAGE, "no X API token"),
        (InvalidUsername("invalid X username 'a-b'"), ExitCode.USAGE, "invalid X username"),
        (ValueError("unknown dataset 'likes'"), ExitCode.USAGE, "unknown dataset"),
        (UnauthorizedError("GET /2/users/by: HTTP 401: Unauthorized"), ExitCode.FATAL_API, "fatal X API error: GET"),
        (RunLockedError("another run holds state/locks/tweets.json"), ExitCode.LOCKED, "another run"),
        (
            RateLimitError("rate limit spent until 2026-11-23", reset_at=None),
            ExitCode.API_KEPT_FAILING,
            "the X API kept failing: rate limit",
        ),
        (
            RetriableAPIError("giving up after 6 retries"),
            ExitCode.API_KEPT_FAILING,
            "the X API kept failing: giving up",
        ),
        (LakeUnavailable("s3://b/k: SlowDown"), ExitCode.LAKE, "the lake failed: LakeUnavailable: s3://b/k"),
        (LakeAccessDenied("s3://b/k: AccessDenied"), ExitCode.LAKE, "the lake failed: LakeAccessDenied"),
        (NotADirectoryError("not a folder"), ExitCode.LAKE, "the lake failed: NotADirectoryError"),
    ],
)
def test_every_expected_ending_has_its_code_and_one_line(error: Exception, code: ExitCode, words: str) -> None:
    result = outcome(error)
    assert result is not None and result.code == code
    assert result.message.startswith(words) and "\n" not in result.message


def test_a_bug_is_no_expected_ending() -> None:
    assert outcome(ZeroDivisionError("division by zero")) is None
    assert outcome(KeyError("entry")) is None


def test_a_summary_ends_ok_or_names_the_accounts_that_failed(
    local_lake: Lake, sim: SimulatorServer, client: XClient
) -> None:
    summary = run("users", local_lake, client, users=sim.world.accounts[5].username)
    assert outcome(summary).code == ExitCode.OK and outcome(summary).message == ""
    summary.failed = {"bob": "HTTP 503", "alice": "HTTP 503"}
    ended = outcome(summary)
    assert ended.code == ExitCode.ACCOUNTS_FAILED == 6
    assert ended.message == "2 account(s) kept failing, the rest were collected: alice, bob"


def test_metrics_and_tweet_metrics_are_one_dataset(
    local_lake: Lake,
    sim: SimulatorServer,
    client: XClient,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One lock and one name in summaries, whichever spelling a face was given."""
    name = sim.world.accounts[5].username
    run("tweets", local_lake, client, users=name)
    summaries = [run(spelling, local_lake, client, users=name) for spelling in ("metrics", "tweet_metrics")]
    assert [s.dataset for s in summaries] == ["tweet_metrics", "tweet_metrics"]
    assert summaries[1].records == summaries[0].records > 0
    monkeypatch.setattr(XClient, "from_env", classmethod(lambda cls, **_: client))
    with RunLock(local_lake, "tweet_metrics", "another-run"):
        for spelling in ("metrics", "tweet_metrics"):
            with pytest.raises(RunLockedError, match="tweet_metrics"):
                run(spelling, local_lake, client, users=name)
            assert tweetlake(["ingest", spelling, "--lake", local_lake.uri, "--users", name]) == ExitCode.LOCKED
    assert len([line for line in capsys.readouterr().err.splitlines() if "tweet_metrics.json" in line]) == 2
    with pytest.raises(ValueError, match="unknown dataset 'likes'"):
        run("likes", local_lake, client, users=name)


def test_an_s3_lake_that_fails_exits_7_with_one_line(
    sim: SimulatorServer,
    client: XClient,
    moto_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A bucket that is not there: the lake's own error, no botocore traceback."""
    monkeypatch.setattr(XClient, "from_env", classmethod(lambda cls, **_: client))
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    missing = f"s3://missing-{uuid.uuid4().hex[:10]}/lake"
    code = tweetlake(["ingest", "users", "--lake", missing, "--users", sim.world.accounts[5].username])
    assert code == ExitCode.LAKE
    err_lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert err_lines == [
        f"tweetlake ingest: the lake failed: {missing}/state/registry.json: the bucket does not exist (NoSuchBucket)"
    ]


@pytest.mark.parametrize("dataset", ["users", "tweets", "metrics"])
def test_collectors_tell_their_progress_to_the_face(
    local_lake: Lake, sim: SimulatorServer, client: XClient, dataset: str
) -> None:
    names = [a.username for a in sim.world.accounts if a.status == "active"][:3]
    if dataset == "metrics":
        run("tweets", local_lake, client, users=",".join(names), backfill="off")  # the timeline's tweets
    told: list[tuple[int, int, dict[str, int]]] = []
    summary = run(
        dataset,
        local_lake,
        client,
        users=",".join(names),
        on_progress=lambda done, total, **figures: told.append((done, total, figures)),
    )
    assert told, "progress was told"
    done, total, figures = told[-1]
    assert done == total > 0
    assert [d for d, _, _ in told] == sorted(d for d, _, _ in told)
    if dataset == "tweets":
        assert total == len(names) and figures["tweets"] == summary.records
    if dataset == "metrics":
        assert total == sum(len(truth_since_2022(sim, a.user_id)) for a in sim.world.accounts if a.username in names)


def test_the_progress_bar_draws_on_a_terminal_only() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    bar = Progress("tweets", stream=screen)
    bar(2, 4, tweets=1200, requests=13)
    bar.close()
    assert screen.getvalue() == "\rtweets [############............] 2/4 1,200 tweets · 13 requests \n"
    log = io.StringIO()  # not a terminal: a log file or CI
    quiet = Progress("tweets", stream=log)
    quiet(2, 4, tweets=1)
    quiet.close()
    assert log.getvalue() == ""


# -- the cursors' typed reader ------------------------------------------------------------------------
def test_cursor_store_reads_what_a_run_left(local_lake: Lake, sim: SimulatorServer, client: XClient) -> None:
    account = sim.world.accounts[5]
    run("tweets", local_lake, client, users=account.username, exclude="replies")
    cursor = CursorStore(local_lake).get(account.user_id)
    assert cursor is not None
    stored = read_json(local_lake, CURSORS_KEY)["accounts"][account.user_id]
    assert (
        cursor.newest_id
        == stored["newest_id"]
        == max(sim.world.timeline_ids(account.user_id, exclude=("replies",)), key=int)
    )
    assert (cursor.username, cursor.exclude, cursor.pending) == (account.username, ("replies",), None)
    assert cursor.tweet_count == sim.world.tweet_count(account.user_id)
    assert CursorStore(local_lake).get("no-such-account") is None


def test_a_change_without_a_tweet_count_keeps_the_stored_one(local_lake: Lake) -> None:
    store = CursorStore(local_lake)
    store.commit({"1": AccountCursor(newest_id="100", username="a", tweet_count=42)})
    store.commit({"1": AccountCursor(newest_id="200", username="a")})
    assert store.get("1") == AccountCursor(newest_id="200", username="a", tweet_count=42)


def test_cursors_from_before_scanned_was_recorded(local_lake: Lake) -> None:
    old: dict[str, Any] = {
        "version": 1,
        "accounts": {
            "1": {
                "newest_id": None,
                "pending": {
                    "lower": {"start_time": "2022-01-01T00:00:00Z"},
                    "until_id": "90",
                    "top_id": "300",
                    "fetched": 7,
                },
            }
        },
    }
    local_lake.put_bytes(CURSORS_KEY, json.dumps(old).encode())
    cursor = CursorStore(local_lake).get("1")
    assert cursor is not None
    assert cursor.pending == Pending({"start_time": "2022-01-01T00:00:00Z"}, "90", "300", fetched=7, scanned=7)
    assert cursor.exclude == () and cursor.tweet_count is None
