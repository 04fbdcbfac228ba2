"""The lake layout contract in code: raw file keys (``raw/<dataset>/dt=YYYY-MM-DD/<run_id>-<part>.jsonl.gz``),
partitions, run ids and times as the lake writes them. What a raw line holds and where state lives:
docs/lake.md."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from common.catalogue import ALIASES, NAMES

if TYPE_CHECKING:
    from common.lake import Lake

DATASETS: tuple[str, ...] = NAMES
DATASET_ALIASES: dict[str, str] = ALIASES
"""Other spellings a face accepts for a dataset (``tweetlake ingest metrics`` = ``tweet_metrics``)."""
RAW_FILE_SUFFIX = ".jsonl.gz"
RAW_FILE_PATTERN = "<run_id>-<part, 5 digits>.jsonl.gz"
MAX_LINE_BYTES = 1 << 20
"""The longest line a raw file may hold (1 MiB; an X API object is a few KB): a file with a longer
one is not what the ingestion writes, and the Glue jobs quarantine it whole."""
_RAW_KEY = re.compile(
    r"^raw/(?P<dataset>[a-z_]+)/dt=(?P<dt>\d{4}-\d{2}-\d{2})/(?P<run_id>[^/]+)-(?P<part>\d{5})\.jsonl\.gz$"
)


def utc_now() -> datetime:
    return datetime.now(UTC)


def isoformat_z(moment: datetime) -> str:
    """``2026-11-22T10:00:00Z`` (or with milliseconds when the moment has them)."""
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str) -> datetime:
    """Parse an RFC 3339 time as the API and the lake write it (``…Z`` or ``…+00:00``)."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def new_run_id(started_at: datetime) -> str:
    """Sortable by start time and unique across hosts: ``20261122T100000Z-3f9a1c``."""
    return started_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def check_dataset(dataset: str) -> str:
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {', '.join(DATASETS)}")
    return dataset


def canonical_dataset(name: str) -> str:
    """The dataset's one name for any spelling a face accepts (``metrics`` → ``tweet_metrics``)."""
    return check_dataset(DATASET_ALIASES.get(name, name))


def raw_prefix(dataset: str, dt: date | str | None = None) -> str:
    check_dataset(dataset)
    if dt is None:
        return f"raw/{dataset}/"
    day = dt if isinstance(dt, str) else dt.isoformat()
    return f"raw/{dataset}/dt={day}/"


def raw_key(dataset: str, dt: date, run_id: str, part: int) -> str:
    return f"{raw_prefix(dataset, dt)}{run_id}-{part:05d}{RAW_FILE_SUFFIX}"


def parse_raw_key(key: str) -> dict[str, str] | None:
    """``{"dataset", "dt", "run_id", "part"}`` for a raw file key, else ``None``."""
    match = _RAW_KEY.match(key)
    return match.groupdict() if match else None


def parse_partition(name: str) -> date | None:
    """The day of a ``dt=YYYY-MM-DD`` folder name, else ``None`` (any other folder)."""
    if not name.startswith("dt="):
        return None
    try:
        return date.fromisoformat(name[3:])
    except ValueError:
        return None


def list_partitions(lake: Lake, dataset: str) -> list[date]:
    """The days of ``raw/<dataset>/``'s ``dt=`` partitions, oldest first (other folders are ignored)."""
    days = (parse_partition(name) for name in lake.list_dirs(raw_prefix(dataset)))
    return sorted(day for day in days if day is not None)


def quarantine_prefix(dataset: str) -> str:
    return f"quarantine/{check_dataset(dataset)}/"


def quarantined_file_marker(raw_file_key: str) -> str:
    """Where the marker of a raw file quarantined whole lies:
    ``quarantine/<dataset>/_files/dt=YYYY-MM-DD/<file name>.json``. The leading ``_`` keeps Spark
    readers of the quarantined lines (``quarantine/<dataset>/dt=…/``) from reading the markers."""
    parts = raw_file_key.split("/")
    if len(parts) != 4 or parts[0] != "raw":
        raise ValueError(f"not a raw file key: {raw_file_key!r}")
    _, dataset, partition, name = parts
    return f"{quarantine_prefix(dataset)}_files/{partition}/{name}.json"


REGISTRY_KEY = "state/registry.json"
