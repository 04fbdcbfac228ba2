"""Small JSON state documents in ``<lake>/state/`` with lost-update-free read-modify-write.

Every change goes through :func:`update_json`: read the document and its version, apply a pure
function, write it back only if nobody changed it meanwhile (S3 conditional PUT, or a file lock
locally), and retry on conflict. Two concurrent writers therefore never lose one another's change.
"""

from __future__ import annotations

import json
import logging
import os
import random
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from common.lake import ConflictError, Lake
from common.layout import isoformat_z, parse_time

log = logging.getLogger(__name__)
T = TypeVar("T")


def read_json(lake: Lake, key: str, default: Any = None) -> Any:
    found = lake.read_versioned(key)
    return json.loads(found[0]) if found else default


def update_json(
    lake: Lake,
    key: str,
    change: Callable[[Any], tuple[Any, T]],
    *,
    default: Any = None,
    attempts: int = 100,
) -> T:
    """Apply ``change(doc) -> (new_doc, result)`` atomically and return ``result``.

    ``change`` may run several times (once per conflict), so it must not have side effects.
    ``new_doc is None`` means "leave the document as it is".
    """
    for attempt in range(attempts):
        found = lake.read_versioned(key)
        doc = json.loads(found[0]) if found else default
        new_doc, result = change(doc)
        if new_doc is None:
            return result
        body = json.dumps(new_doc, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
        try:
            lake.write_if(key, body, found[1] if found else None)
            return result
        except ConflictError:
            time.sleep(min(0.5, 0.005 * 2 ** min(attempt, 7)) * random.random())
    raise ConflictError(f"{key}: gave up after {attempts} conflicting concurrent updates")


class RunLockedError(Exception):
    """Another run of the same collector holds the lock."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


class RunLock:
    """A lease in ``state/locks/<name>.json`` so that two runs of one collector never overlap.

    The holder renews the lease as it works (:meth:`heartbeat`, called for every page and, through
    the client, between the slices of every rate-limit or backoff wait), so the lease can be short:
    a run that died stops renewing and its lease lapses within ``ttl``. A lease held by a dead
    process on this same host is taken over at once (the usual case after a kill or a reboot of the
    ingestion host). ``clock`` (epoch seconds) is injectable so that tests can drive it.
    """

    def __init__(self, lake: Lake, name: str, run_id: str, ttl: timedelta = timedelta(minutes=10),
                 clock: Callable[[], float] = time.time) -> None:
        self.lake = lake
        self.key = f"state/locks/{name}.json"
        self.run_id = run_id
        self.ttl = ttl
        self.clock = clock
        self._renewed = 0.0

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def _lease(self) -> dict[str, Any]:
        now = self._now()
        return {"run_id": self.run_id, "host": socket.gethostname(), "pid": os.getpid(),
                "acquired_at": isoformat_z(now), "expires_at": isoformat_z(now + self.ttl)}

    def _is_stale(self, doc: dict[str, Any]) -> bool:
        if doc.get("released") or parse_time(doc["expires_at"]) <= self._now():
            return True
        same_host = doc.get("host") == socket.gethostname()
        return same_host and isinstance(doc.get("pid"), int) and not _pid_alive(doc["pid"])

    def acquire(self) -> None:
        def take(doc: Any) -> tuple[Any, None]:
            if doc and doc.get("run_id") != self.run_id and not self._is_stale(doc):
                raise RunLockedError(
                    f"another run ({doc['run_id']} on {doc.get('host')}) holds {self.key} until {doc['expires_at']}"
                )
            return self._lease(), None

        update_json(self.lake, self.key, take)
        self._renewed = self.clock()

    def heartbeat(self) -> None:
        """Renew the lease when a third of its life has passed (cheap to call often)."""
        if self.clock() - self._renewed >= self.ttl.total_seconds() / 3:
            self.acquire()

    def release(self) -> None:
        def drop(doc: Any) -> tuple[Any, None]:
            if doc and doc.get("run_id") == self.run_id:
                return {**doc, "expires_at": isoformat_z(self._now()), "released": True}, None
            return None, None

        update_json(self.lake, self.key, drop)

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.release()
        except Exception:  # a failed release must not hide the run's own error; the lease expires
            log.warning("could not release %s; it expires on its own", self.key)
