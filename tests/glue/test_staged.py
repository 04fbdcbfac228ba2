"""Staging beside the merge (``glue_jobs/staged.py``): the merge gets a table only once it is full,
gets the staging's error instead of a table that will never fill, and a merge that fails first
cancels what the staging still runs. The whole job runs overlapped in test_jobs/test_kill."""

from __future__ import annotations

import threading

import pytest

from common.warehouse.columns import Staging
from glue_jobs.staged import BackgroundStaging, StagedTables


class FakeSparkContext:
    """What BackgroundStaging asks of Spark: a job group for its thread, and its cancellation."""

    def __init__(self) -> None:
        self.groups: list[str] = []
        self.cancelled: list[str] = []

    def setJobGroup(self, group: str, description: str, interruptOnCancel: bool = False) -> None:
        self.groups.append(group)

    def cancelJobGroup(self, group: str) -> None:
        self.cancelled.append(group)


NAMES = {Staging.TWEET: "stg_t", Staging.HASHTAG: "stg_h", Staging.METRIC: "stg_m"}


def test_a_table_is_handed_out_only_once_it_is_full() -> None:
    tables = StagedTables(NAMES)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(tables[Staging.HASHTAG]))
    reader.start()
    reader.join(0.3)
    assert reader.is_alive() and got == [], "the reader waits while the table fills"
    assert list(tables) == list(NAMES) and len(tables) == 3  # iterating does not wait
    assert tables.name(Staging.METRIC) == "stg_m"
    tables.mark_staged(Staging.HASHTAG)
    reader.join(5)
    assert got == ["stg_h"]
    waited = tables.waited_after_first
    assert 0.25 <= waited < 5  # the merge's wait for a table after its first is counted
    assert tables[Staging.HASHTAG] == "stg_h" and tables.waited_after_first == waited  # full: no wait


def test_the_wait_for_the_first_table_is_not_the_merges() -> None:
    tables = StagedTables(NAMES)
    threading.Timer(0.3, tables.mark_staged, (Staging.TWEET,)).start()
    assert tables[Staging.TWEET] == "stg_t"  # the job's "stage" phase
    assert tables.waited_after_first == 0


def test_the_merge_gets_the_staging_error_for_every_table_not_yet_full() -> None:
    tables = StagedTables(NAMES)

    def stage() -> None:
        tables.mark_staged(Staging.TWEET)
        raise RuntimeError("COPY failed: disk full")

    sc = FakeSparkContext()
    cleaned: list[bool] = []
    with BackgroundStaging(tables, stage, sc, cleanup=lambda: cleaned.append(True)) as staging:
        assert tables[Staging.TWEET] == "stg_t"
        for kind in (Staging.HASHTAG, Staging.METRIC):
            with pytest.raises(RuntimeError, match="disk full"):
                tables[kind]
    assert staging.seconds is None  # it never finished
    assert cleaned == [True], "the cleanup (the analyze connection's close) runs after a failure too"
    assert sc.groups and not sc.cancelled  # nothing to cancel: the merge did not fail first


def test_a_method_that_ends_without_reporting_a_table_does_not_leave_the_merge_waiting() -> None:
    tables = StagedTables(NAMES)
    staging = BackgroundStaging(tables, lambda: tables.mark_staged(Staging.TWEET), FakeSparkContext())
    with staging, pytest.raises(RuntimeError, match="without filling every table"):
        tables[Staging.METRIC]
    assert staging.seconds is not None


def test_a_merge_that_fails_first_cancels_the_staging_and_waits_for_it() -> None:
    tables = StagedTables(NAMES)
    release = threading.Event()
    finished = threading.Event()

    def stage() -> None:  # a Spark write that runs until its job group is cancelled
        tables.mark_staged(Staging.TWEET)
        release.wait(10)
        finished.set()
        raise RuntimeError("job cancelled")

    class CancellingContext(FakeSparkContext):
        def cancelJobGroup(self, group: str) -> None:
            super().cancelJobGroup(group)
            release.set()

    def merge() -> None:  # its first table is there, then a step fails
        assert tables[Staging.TWEET] == "stg_t"
        raise ValueError("merge failed at tweet_hashtag")

    sc = CancellingContext()
    with pytest.raises(ValueError, match="merge failed"), BackgroundStaging(tables, stage, sc):
        merge()
    assert sc.cancelled and set(sc.cancelled) == set(sc.groups), "the staging's own job group is cancelled"
    assert finished.is_set(), "leaving waits for the staging thread"
