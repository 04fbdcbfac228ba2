"""What the lake holds: files, records and partial errors per dataset and ``dt=`` day.

Read from the raw files themselves (not from any state), so it shows what a Glue job would find.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from common.lake import Lake
from common.layout import DATASETS, list_partitions, raw_prefix
from common.rawio import iter_raw_records


@dataclass
class DatasetSummary:
    files: int = 0
    bytes: int = 0
    records: int = 0
    errors: int = 0
    days: Counter[str] = field(default_factory=Counter)


def summarise(lake: Lake) -> dict[str, DatasetSummary]:
    """Reads every raw record once, streaming; meant for humans and the demo, not for big lakes."""
    out: dict[str, DatasetSummary] = {}
    for dataset in DATASETS:
        summary = out.setdefault(dataset, DatasetSummary())
        for day in list_partitions(lake, dataset):
            for obj in lake.list(raw_prefix(dataset, day)):
                summary.files += 1
                summary.bytes += obj.size
                for record in iter_raw_records(lake, obj.key):
                    if "error" in record:
                        summary.errors += 1
                    else:
                        summary.records += 1
                        summary.days[day.isoformat()] += 1
    return out


def render(lake: Lake, summaries: dict[str, DatasetSummary]) -> str:
    lines = [f"lake {lake.uri}", f"{'dataset':<14}{'files':>7}{'records':>10}{'errors':>8}{'MiB':>8}  days"]
    for dataset, s in summaries.items():
        days = ", ".join(f"{d}: {n:,}" for d, n in sorted(s.days.items()))
        lines.append(f"{dataset:<14}{s.files:>7}{s.records:>10,}{s.errors:>8,}{s.bytes / 2**20:>8.2f}  {days}")
    if any(s.errors for s in summaries.values()):
        lines.append(
            "errors: the API's partial errors (an account or post it could not show: suspended, protected, "
            "deleted), kept as records; not failures"
        )
    return "\n".join(lines)
