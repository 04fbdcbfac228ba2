"""Which lake files a run reads: those of the partitions it needs that ``etl_file_ledger`` lacks.

Which ``dt=`` partitions are listed: every partition newer than the newest one already loaded
minus a safety window (ingestion runs that cross midnight still publish into the day they
started, so recent partitions can gain files), and every partition with no loaded file at all
(a backfill). Older, already loaded partitions are not listed again — a file added to one later
is not read until a run with a wider ``safety_window_days`` (or ``full_refresh``, which lists
all); the run summary says how many partitions it did not list, the log which window reaches them.

A file quarantined whole (``glue_jobs/filecheck.py``) is in the ledger, so it is not read again;
``retry_quarantined`` plans every quarantined file of the dataset that is still in the lake, in
whichever partition it lies (e.g. after it was re-uploaded). A file in a listed partition whose name
breaks the lake contract (``<run_id>-<part>.jsonl.gz``) is never read: the plan names it, and the
run summary reports it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from common.lake import Lake, ObjectNotFound
from common.layout import list_partitions, parse_raw_key, raw_prefix

log = logging.getLogger("tweetlake.glue")

SAFETY_WINDOW_DAYS = 2


@dataclass(frozen=True)
class PlannedFile:
    key: str
    dt: date
    size: int


@dataclass(frozen=True)
class Plan:
    files: list[PlannedFile]
    partitions_listed: int
    partitions_skipped: int
    misnamed: list[str] = field(default_factory=list)
    """Keys in the listed partitions that break the naming contract (never read)."""
    retried: int = 0
    """Quarantined files planned again (``retry_quarantined``)."""


def plan_files(
    conn: Any,
    lake: Lake,
    dataset: str,
    *,
    schema: str,
    full_refresh: bool,
    safety_window_days: int,
    retry_quarantined: bool = False,
) -> Plan:
    """The files to read, from the lake's listing and the ledger of ``schema`` (trusted identifier)."""
    days = list_partitions(lake, dataset)
    loaded_days: dict[date, int] = {}
    if not full_refresh:
        rows = conn.execute(
            f"SELECT dt, count(*) FROM {schema}.etl_file_ledger WHERE dataset = %s GROUP BY dt", (dataset,)
        ).fetchall()
        loaded_days = {row[0]: row[1] for row in rows}
    skipped: list[date] = []
    if loaded_days:
        horizon = max(loaded_days) - timedelta(days=safety_window_days)
        skipped = [d for d in days if d < horizon and d in loaded_days]
        if skipped:
            _note_skipped(dataset, skipped, horizon, newest=days[-1])
        days = [d for d in days if d >= horizon or d not in loaded_days]
    loaded_paths: set[str] = set()
    if days and loaded_days:
        loaded_paths = {
            row[0]
            for row in conn.execute(
                f"SELECT path FROM {schema}.etl_file_ledger WHERE dataset = %s AND dt = ANY(%s)", (dataset, days)
            )
        }
    quarantined: dict[str, date] = {}
    if retry_quarantined and not full_refresh:
        quarantined = {
            row[0]: row[1]
            for row in conn.execute(
                f"SELECT path, dt FROM {schema}.etl_file_ledger WHERE dataset = %s AND status = 'quarantined'",
                (dataset,),
            )
        }
        loaded_paths -= set(quarantined)
    files: list[PlannedFile] = []
    misnamed: list[str] = []
    for day in days:
        for obj in lake.list(raw_prefix(dataset, day)):
            parsed = parse_raw_key(obj.key)
            if parsed is None or parsed["dataset"] != dataset:
                misnamed.append(obj.key)
            elif obj.key not in loaded_paths:
                files.append(PlannedFile(obj.key, day, obj.size))
    planned = {f.key for f in files}
    retried = [f.key for f in files if f.key in quarantined]
    for key, day in sorted(quarantined.items()):  # those in partitions this run did not list
        if key not in planned:
            try:
                files.append(PlannedFile(key, day, lake.size(key)))
                retried.append(key)
            except ObjectNotFound:
                log.warning("%s: quarantined file %s is no longer in the lake; its ledger entry stays", dataset, key)
    if misnamed:
        log.warning(
            "%s: %d file(s) not named %s are not read: %s",
            dataset,
            len(misnamed),
            "<run_id>-<part>.jsonl.gz",
            ", ".join(misnamed[:10]),
        )
    return Plan(files, len(days), len(skipped), misnamed=misnamed, retried=len(retried))


def _note_skipped(dataset: str, skipped: list[date], horizon: date, newest: date) -> None:
    """Say which loaded partitions this run does not list, and the window that would list them:
    a file published there late is not read otherwise (finding one would mean listing them all)."""
    log.info(
        "%s: not listing %d loaded partition(s) dt=%s..dt=%s (before %s); a file added there since is read"
        " only by a run with safety_window_days=%d (lists them, loads only files missing from the ledger)"
        " or by a full refresh",
        dataset,
        len(skipped),
        skipped[0],
        skipped[-1],
        horizon,
        (newest - skipped[0]).days,
    )
