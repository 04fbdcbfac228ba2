"""What every collector run shares: its identity, the raw writer, the summary and its progress reports."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from common.lake import Lake
from common.layout import new_run_id
from common.rawio import RawPartWriter
from common.words import counts, plural
from ingestion.client import XClient
from ingestion.page import Page
from ingestion.usage import Meter, RunUsage


@dataclass
class RunSummary:
    """Printed at the end of every run; also returned to callers (the demo, tests)."""

    dataset: str
    run_id: str
    requests: Counter[str] = field(default_factory=Counter)
    pages: int = 0
    records: int = 0
    partial_errors: int = 0
    rate_limit_wait_seconds: float = 0.0
    retries: int = 0
    files: list[str] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)  # account or tweet -> why
    failed: dict[str, str] = field(default_factory=dict)  # account -> the error it kept failing with
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # what the run could not do, though it completed
    elapsed_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    usage: RunUsage | None = None  # billable reads by the API's rules (set by ingestion.run)

    def render(self) -> str:
        lines = [
            f"{self.dataset} run {self.run_id}: {plural(self.records, 'record')} in {plural(self.pages, 'page')}, "
            f"{plural(len(self.files), 'file')}, {self.elapsed_seconds:.1f}s",
            "  requests: " + (", ".join(f"{k} ×{v}" for k, v in sorted(self.requests.items())) or "none"),
            f"  partial errors: {self.partial_errors:,}; retries: {self.retries}; "
            f"waited for rate limits: {self.rate_limit_wait_seconds:.0f}s",
        ]
        if self.usage is not None:
            lines.extend(self.usage.render())
        for key, value in self.extra.items():
            lines.append(f"  {key}: {counts(value) if isinstance(value, dict) else value}")  # never a repr
        if self.unavailable:
            lines.append("  unavailable: " + ", ".join(f"{k} ({v})" for k, v in sorted(self.unavailable.items())))
        if self.failed:
            lines.append(
                "  failed (cursor kept; the next run retries): "
                + ", ".join(f"{k} ({v})" for k, v in sorted(self.failed.items()))
            )
        lines.extend(f"  note: {note}" for note in self.notes)
        lines.extend(f"  warning: {warning}" for warning in self.warnings)
        return "\n".join(lines)


class OnProgress(Protocol):
    """How far a run is: ``done`` of ``total`` (accounts, batches), with running figures
    (``tweets=…``, ``requests=…``). A face shows it (the command's progress bar); the run only tells."""

    def __call__(self, done: int, total: int, **figures: int) -> None: ...


def _untold(done: int, total: int, **figures: int) -> None:
    return None


class CollectorRun:
    """The frame of one run: run id, start time, writer, summary bookkeeping."""

    dataset = ""

    def __init__(
        self,
        lake: Lake,
        client: XClient,
        *,
        max_records_per_file: int = 100_000,
        max_seconds_per_file: float = 300.0,
        on_progress: OnProgress | None = None,
    ) -> None:
        self.lake = lake
        self.client = client
        self.started_at = client.now()
        self.run_id = new_run_id(self.started_at)
        self.summary = RunSummary(self.dataset, self.run_id)
        self.on_progress: OnProgress = on_progress or _untold
        self.heartbeat: Callable[[], None] = lambda: None  # renews the run's lock lease
        # raises LockLost once another run has held the lock since this one took it (ingestion.state):
        # called before every write only the lock's holder may make (a part, a cursor, the index)
        self.fence: Callable[[], None] = lambda: None
        self.meter: Meter | None = None  # the run's usage meter (ingestion.usage), set by ingestion.run
        self._t0 = time.monotonic()
        self._requests_before = Counter(client.stats.requests)
        self._wait_before = client.stats.rate_limit_wait_seconds
        self._retries_before = client.stats.retries
        self.writer = RawPartWriter(
            lake,
            self.dataset,
            self.run_id,
            self.started_at,
            max_records=max_records_per_file,
            max_seconds=max_seconds_per_file,
            on_publish=self._published,
            before_publish=self._about_to_publish,
        )

    def _about_to_publish(self, key: str, count: int) -> None:
        self.fence()  # a run whose lease another run took over publishes nothing more
        self._publishing(key, count)

    def _publishing(self, key: str, count: int) -> None:
        """Called just before a part is uploaded (the tweets collector records its cursor intent)."""

    def _published(self, key: str, count: int) -> None:
        self.summary.files.append(key)
        if self.meter is not None:
            self.meter.flush()  # the ledger keeps up with the lake: a killed run loses little

    def write_page(self, page: Page) -> None:
        """Land a page untouched: its objects as data records, its partial errors as error records."""
        self.summary.pages += 1
        self.heartbeat()
        for obj in page.data:
            self.writer.write(page.received_at, page.endpoint, data=obj)
            self.summary.records += 1
        self.write_errors(page)

    def write_errors(self, page: Page) -> None:
        """Only a page's partial errors, as error records (an id lookup of a tweets or metrics run:
        its users are not this dataset's data, but what it could not find must not vanish)."""
        for err in page.errors:
            self.writer.write(page.received_at, page.endpoint, error=err)
            self.summary.partial_errors += 1

    def finish(self) -> RunSummary:
        self.writer.flush()
        stats = self.client.stats
        self.summary.requests = stats.requests - self._requests_before
        self.summary.rate_limit_wait_seconds = stats.rate_limit_wait_seconds - self._wait_before
        self.summary.retries = stats.retries - self._retries_before
        self.summary.elapsed_seconds = time.monotonic() - self._t0
        return self.summary
