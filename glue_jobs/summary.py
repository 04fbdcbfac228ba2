"""What a warehouse run did, in one line for the log and the ``tweetlake job`` output."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class JobSummary:
    dataset: str
    run_id: str
    full_refresh: bool = False
    partitions_listed: int = 0
    partitions_skipped: int = 0
    files: int = 0
    rows_loaded: int = 0  # data records; API error records are counted apart
    rows_api_errors: int = 0
    rows_quarantined: int = 0
    staged: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    migrations_applied: list[int] = field(default_factory=list)

    def describe(self) -> str:
        phases = ", ".join(f"{k} {v:.2f}s" for k, v in self.timings.items())
        staged = ", ".join(f"{k}={v}" for k, v in self.staged.items())
        return (
            f"{self.dataset} run {self.run_id}: {self.files} new file(s) in {self.partitions_listed} partition(s), "
            f"{self.rows_loaded} row(s) loaded, {self.rows_api_errors} API error record(s), "
            f"{self.rows_quarantined} quarantined"
            + (f"; {self.partitions_skipped} older loaded partition(s) not listed" if self.partitions_skipped else "")
            + (f"; staged {staged}" if staged else "")
            + (f"; {phases}" if phases else "")
            + (" (full refresh)" if self.full_refresh else "")
        )
