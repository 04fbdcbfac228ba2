"""What a warehouse run did, in plain words for the log and the ``tweetlake job`` output."""

from __future__ import annotations

from dataclasses import dataclass, field

from common.layout import RAW_FILE_PATTERN
from common.words import listing, plural


@dataclass
class JobSummary:
    dataset: str
    run_id: str
    full_refresh: bool = False
    lake: str = ""
    database: str = ""  # the server's URL without password
    schema: str = ""
    partitions_listed: int = 0
    partitions_skipped: int = 0
    files: int = 0  # planned: read, or quarantined whole
    rows_loaded: int = 0  # data records; API error records are counted apart
    rows_api_errors: int = 0
    rows_quarantined: int = 0
    quarantined_files: list[tuple[str, str]] = field(default_factory=list)  # (lake key, reason)
    misnamed_files: list[str] = field(default_factory=list)
    files_retried: int = 0
    staged: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    """Wall time of each phase, one after the other: ``stage`` ends when the merge can begin (its
    first table is full), ``merge`` when it commits; staging goes on beside the merge."""
    staging_seconds: float = 0.0
    """How long staging ran in all, its work folder's cleanup included (overlapping ``merge``)."""
    merge_waited_seconds: float = 0.0
    """How long the merge, once begun, waited for staging to fill its later tables."""
    migrations_applied: list[int] = field(default_factory=list)

    @property
    def files_read(self) -> int:
        return self.files - len(self.quarantined_files)

    def describe(self) -> str:
        """One line: what was read, loaded and quarantined (files by name, with their reasons)."""
        parts = [
            f"{self.dataset} run {self.run_id}: {plural(self.files, 'new file')} in "
            f"{plural(self.partitions_listed, 'partition')}"
            + (f" ({self.files_retried} retried)" if self.files_retried else "")
        ]
        parts.append(
            f"{plural(self.rows_loaded, 'row')} loaded, {plural(self.rows_api_errors, 'API error record')}, "
            f"{plural(self.rows_quarantined, 'line')} quarantined"
        )
        if self.quarantined_files:
            named = listing(f"{key} ({reason})" for key, reason in self.quarantined_files)
            parts.append(f"{plural(len(self.quarantined_files), 'file')} quarantined whole: {named}")
        if self.misnamed_files:
            parts.append(
                f"{plural(len(self.misnamed_files), 'file')} not named {RAW_FILE_PATTERN}, not read: "
                f"{listing(self.misnamed_files)}"
            )
        if self.partitions_skipped:
            parts.append(f"{plural(self.partitions_skipped, 'older loaded partition')} not listed")
        if self.staged:
            parts.append("staged " + ", ".join(f"{k} {v:,}" for k, v in self.staged.items()))
        if self.timings:
            parts.append(", ".join(f"{k} {v:.2f}s" for k, v in self.timings.items()))
        return "; ".join(parts) + (" (full refresh)" if self.full_refresh else "")

    def where(self) -> str:
        """Where the run read and wrote: lake, database (no password), schema, quarantine."""
        return (
            f"lake {self.lake}, database {self.database}, schema {self.schema}, "
            f"quarantine {self.lake.rstrip('/')}/quarantine/{self.dataset}/"
        )
