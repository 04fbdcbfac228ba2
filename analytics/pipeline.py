"""The report's pipeline-health panel: what the jobs loaded, and what the lake quarantined and why."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from analytics.table import Table
from common.catalogue import CATALOGUE
from common.lake import Lake, LakeError
from common.layout import DATASETS, quarantine_prefix

_LAST_COLLECTION = {d.name: d.last_collection_sql for d in CATALOGUE}


def _reason(line: str) -> str:
    """The quarantine reason a line gives; a line that is not a JSON object is counted, not fatal."""
    try:
        record = json.loads(line)
    except ValueError:
        return "unreadable quarantine line"
    return str(record.get("reason") or "unknown") if isinstance(record, dict) else "unreadable quarantine line"


def pipeline_health(conn: Any) -> Table:
    """One row per dataset: last collection loaded, files, rows loaded, API errors, quarantined, last load."""
    ledger = {
        row[0]: row[1:]
        for row in conn.execute(
            "SELECT dataset, count(*), coalesce(sum(rows_loaded), 0), coalesce(sum(rows_api_errors), 0),"
            " coalesce(sum(rows_quarantined), 0), max(loaded_at) FROM etl_file_ledger GROUP BY dataset"
        ).fetchall()
    }
    rows = []
    for dataset in DATASETS:
        last = conn.execute(_LAST_COLLECTION[dataset]).fetchone()[0] if dataset in _LAST_COLLECTION else None
        files, loaded, api_errors, quarantined, loaded_at = ledger.get(dataset, (0, 0, 0, 0, None))
        rows.append((dataset, last, int(files), int(loaded), int(api_errors), int(quarantined), loaded_at))
    return Table(
        ("dataset", "last_collection", "files", "rows_loaded", "rows_api_errors", "rows_quarantined", "last_loaded_at"),
        rows,
    )


def quarantine_reasons(lake: Lake) -> Table | None:
    """Quarantined lines by dataset and reason, from ``<lake>/quarantine/`` (None when unreadable)."""
    counts: Counter[tuple[str, str]] = Counter()
    try:
        for dataset in DATASETS:
            for obj in lake.list(quarantine_prefix(dataset)):
                if not obj.key.rsplit("/", 1)[-1].startswith("part-"):
                    continue
                for line in lake.get_bytes(obj.key).decode("utf-8", "replace").splitlines():
                    if line.strip():
                        counts[(dataset, _reason(line))] += 1
    except (LakeError, OSError, ValueError):
        return None
    return Table(
        ("dataset", "reason", "lines"),
        [(d, r, n) for (d, r), n in sorted(counts.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1]))],
    )
