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
from ingestion.errors import StateCorrupt

log = logging.getLogger(__name__)
T = TypeVar("T")


RECOVERY: dict[str, str] = {
    "state/registry": "restore it from a backup (or the bucket's versions), or delete it and `tweetlake users add` "
    "the accounts it held again",
    "state/tweets/cursors": "restore it, or delete it: the next tweets run then walks each timeline again (billed "
    "again; the warehouse never duplicates)",
    "state/user_ids": "delete it: the next run looks the ids up again (user reads, billed)",
    "state/locks": "delete it: a lock is only a lease",
    "state/usage": "restore it, or delete that day's file: the ledger then under-counts that day",
}
"""How to recover each kind of state document, by its key's prefix."""


Check = Callable[[Any], "str | None"]
"""What is wrong with a decoded state document's shape (``None``: nothing)."""


def corrupt(lake: Lake, key: str, why: str) -> StateCorrupt:
    """The error for a state document that cannot be read: names it and says how to recover it."""
    how = next((text for prefix, text in RECOVERY.items() if key.startswith(prefix)), "restore it from a backup")
    return StateCorrupt(f"the state document {lake.uri.rstrip('/')}/{key} cannot be read ({why}): {how}")


def decode_json(lake: Lake, key: str, raw: bytes, check: Check | None = None) -> Any:
    """A state document's JSON; :class:`StateCorrupt` naming the document when it is not JSON, or
    not of the shape ``check`` expects."""
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise corrupt(lake, key, str(err)) from None
    if check is not None and (problem := check(doc)):
        raise corrupt(lake, key, problem)
    return doc


def lease_problem(doc: Any) -> str | None:
    """What is wrong with a lock document's shape (``None``: nothing, or no document)."""
    if doc is None:
        return None
    if not isinstance(doc, dict):
        return "not a JSON object"
    if not isinstance(doc.get("run_id"), str):
        return "its run_id is missing or not a string"
    generation = doc.get("generation")
    if generation is not None and (not isinstance(generation, int) or isinstance(generation, bool)):
        return f"its generation {str(generation)[:40]!r} is not a whole number"
    try:
        parse_time(doc["expires_at"])
    except (KeyError, TypeError, ValueError, AttributeError):
        return f"its expires_at {str(doc.get('expires_at'))[:40]!r} is not a time"
    return None


def read_json(lake: Lake, key: str, default: Any = None, check: Check | None = None) -> Any:
    found = lake.read_versioned(key)
    return decode_json(lake, key, found[0], check) if found else default


def update_json(
    lake: Lake,
    key: str,
    change: Callable[[Any], tuple[Any, T]],
    *,
    default: Any = None,
    attempts: int = 100,
    check: Check | None = None,
) -> T:
    """Apply ``change(doc) -> (new_doc, result)`` atomically and return ``result``.

    ``change`` may run several times (once per conflict), so it must not have side effects.
    ``new_doc is None`` means "leave the document as it is".
    """
    for attempt in range(attempts):
        found = lake.read_versioned(key)
        doc = decode_json(lake, key, found[0], check) if found else default
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


class LockLost(RunLockedError):
    """This run's lease lapsed and another run held the lock since: this run must stop writing.

    Raised by :meth:`RunLock.check` and by a renewal; the run stops before it publishes another part
    or moves a cursor, so two runs never both collect (the other run's work is the one that counts).
    """


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
    the client, between the slices of every rate-limit or backoff wait and while a response body
    arrives), so the lease can be short: a run that died stops renewing and its lease lapses within
    ``ttl``. A lease held by a dead process on this same host is taken over at once (the usual case
    after a kill or a reboot of the ingestion host). ``clock`` (epoch seconds) is injectable so that
    tests can drive it.

    **Fencing.** Every acquisition by a new run increments the lease's ``generation``. A run
    remembers the generation it took; a renewal or a :meth:`check` that finds another generation (or
    another run) in the document raises :class:`LockLost`: the lease lapsed while this run stalled,
    and another run held the lock since, even if it has released it. The collectors call
    :meth:`check` before they publish a part and before they commit a cursor, and a check renews a
    lease with less than :attr:`margin` left, so the other run cannot take the lock between the
    check and the write it guards (that would need the write to outlast ``margin``).
    """

    def __init__(
        self,
        lake: Lake,
        name: str,
        run_id: str,
        ttl: timedelta = timedelta(minutes=10),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.lake = lake
        self.key = f"state/locks/{name}.json"
        self.run_id = run_id
        self.ttl = ttl
        self.margin = ttl / 3
        self.clock = clock
        self.generation: int | None = None  # set when acquired
        self._renewed = 0.0
        self._expires = 0.0

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def _lease(self, generation: int, acquired_at: str | None = None) -> dict[str, Any]:
        now = self._now()
        return {
            "run_id": self.run_id,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "generation": generation,
            "acquired_at": acquired_at or isoformat_z(now),
            "expires_at": isoformat_z(now + self.ttl),
        }

    def _is_stale(self, doc: dict[str, Any]) -> bool:
        if doc.get("released") or parse_time(doc["expires_at"]) <= self._now():
            return True
        same_host = doc.get("host") == socket.gethostname()
        return same_host and isinstance(doc.get("pid"), int) and not _pid_alive(doc["pid"])

    def _lost(self, doc: Any) -> LockLost:
        holder = f"run {doc.get('run_id')} (generation {doc.get('generation')})" if doc else "nobody (deleted)"
        return LockLost(
            f"this run's lease on {self.key} lapsed and another run held it since ({holder}, "
            f"this run had generation {self.generation}); stopping without writing more"
        )

    def _is_mine(self, doc: Any) -> bool:
        return (
            bool(doc)
            and doc.get("run_id") == self.run_id
            and doc.get("generation") == self.generation
            and not doc.get("released")
        )

    def acquire(self) -> None:
        """Take the lock (a new generation), or renew it if this run holds it."""
        if self.generation is not None:
            self._renew()
            return

        def take(doc: Any) -> tuple[Any, int]:
            if doc and doc.get("run_id") != self.run_id and not self._is_stale(doc):
                raise RunLockedError(
                    f"another run ({doc['run_id']} on {doc.get('host')}) holds {self.key} until {doc['expires_at']}"
                )
            generation = int((doc or {}).get("generation") or 0) + 1
            return self._lease(generation), generation

        self.generation = update_json(self.lake, self.key, take, check=lease_problem)
        self._renewed = self.clock()
        self._expires = self._renewed + self.ttl.total_seconds()

    def _renew(self) -> None:
        def renew(doc: Any) -> tuple[Any, None]:
            if not self._is_mine(doc):
                raise self._lost(doc)
            assert self.generation is not None
            return self._lease(self.generation, doc.get("acquired_at")), None

        update_json(self.lake, self.key, renew, check=lease_problem)
        self._renewed = self.clock()
        self._expires = self._renewed + self.ttl.total_seconds()

    def heartbeat(self) -> None:
        """Renew the lease when a third of its life has passed (cheap to call often)."""
        if self.clock() - self._renewed >= self.ttl.total_seconds() / 3:
            self.acquire()

    def check(self) -> None:
        """Make sure this run still holds the lock, with at least :attr:`margin` of lease left, before
        a write that only the holder may make; raises :class:`LockLost` otherwise."""
        if self.generation is None:
            raise RunLockedError(f"{self.key}: checked before it was acquired")
        if self._expires - self.clock() < self.margin.total_seconds():
            self._renew()  # renewing reads the document too: it raises if another run held it since
            return
        found = self.lake.read_versioned(self.key)
        doc = decode_json(self.lake, self.key, found[0], lease_problem) if found else None
        if not self._is_mine(doc):
            raise self._lost(doc)

    def release(self) -> None:
        def drop(doc: Any) -> tuple[Any, None]:
            if self._is_mine(doc):
                return {**doc, "expires_at": isoformat_z(self._now()), "released": True}, None
            return None, None

        update_json(self.lake, self.key, drop, check=lease_problem)

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.release()
        except Exception:  # a failed release must not hide the run's own error; the lease expires
            log.warning("could not release %s; it expires on its own", self.key)
