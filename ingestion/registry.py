"""The tracked-accounts registry: ``<lake>/state/registry.json`` and its shards ``state/registry/NN.json``.

Usernames are case-insensitive on X, so the registry keys accounts by the lower-cased name and
keeps the spelling the user gave. An account lives in exactly one document: the shard its
lower-cased name hashes to (one of :data:`SHARDS`), or ``registry.json`` for accounts added before
the registry was sharded (they stay there; new ones go to the shards). So an add rewrites one
shard of ~1/64 of the registry, not all of it: 10,000 accounts take adds as fast as 100
(``bench/registry_bench.py``). Every change is a conditional write (:mod:`ingestion.state`):
concurrent adds leave every account. What the lookups learn about an account (its status, the
username → user id cache) is :mod:`ingestion.accounts`'.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from common.lake import Lake
from common.layout import REGISTRY_KEY, isoformat_z
from ingestion.state import read_json, update_json
from ingestion.status import AccountStatus

USERNAME_RE = re.compile(r"^[A-Za-z0-9_]{1,15}$")
SHARDS = 64
SHARD_PREFIX = "state/registry/"
READERS = 16

Entry = dict[str, Any]
Edit = Callable[[Entry], Entry]


class InvalidUsername(ValueError):
    pass


def check_username(name: str) -> str:
    name = name.strip().removeprefix("@")
    if not USERNAME_RE.match(name):
        raise InvalidUsername(f"invalid X username {name!r}: 1-15 letters, digits or underscores")
    return name


def shard_key(username: str) -> str:
    """The shard document that holds ``username`` (any spelling)."""
    digest = hashlib.sha256(username.strip().removeprefix("@").lower().encode()).digest()
    return f"{SHARD_PREFIX}{int.from_bytes(digest[:4], 'big') % SHARDS:02d}.json"


@dataclass
class Account:
    username: str
    user_id: str | None = None
    added_at: str = ""
    status: AccountStatus | None = None  # None: fine
    previous_usernames: list[str] = field(default_factory=list)
    last_snapshot_day: str | None = None  # "YYYY-MM-DD": the newest raw/users/dt= holding its profile

    @classmethod
    def from_doc(cls, doc: Entry) -> Account:
        return cls(
            username=doc["username"],
            user_id=doc.get("user_id"),
            added_at=doc.get("added_at", ""),
            status=AccountStatus.of(doc.get("status")),
            previous_usernames=list(doc.get("previous_usernames") or []),
            last_snapshot_day=doc.get("last_snapshot_day"),
        )


def _empty() -> dict[str, Any]:
    return {"version": 1, "accounts": {}}


def _shape(doc: Any) -> str | None:
    """What is wrong with a registry document (``registry.json`` or a shard)."""
    accounts = doc.get("accounts") if isinstance(doc, dict) else None
    if not isinstance(accounts, dict):
        return 'not a registry document: {"accounts": {…}} expected'
    if not all(isinstance(a, dict) and isinstance(a.get("username"), str) for a in accounts.values()):
        return "an account entry without a username"
    return None


class Registry:
    def __init__(self, lake: Lake) -> None:
        self.lake = lake

    # -- the documents ---------------------------------------------------------------------------
    def _read(self, key: str) -> dict[str, Entry]:
        accounts: dict[str, Entry] = read_json(self.lake, key, _empty(), check=_shape)["accounts"]
        return accounts

    def _update(self, key: str, change: Callable[[dict[str, Entry]], tuple[bool, Any]]) -> Any:
        """Apply ``change(accounts) -> (changed, result)`` to one document, conditionally."""

        def apply(doc: Any) -> tuple[Any, Any]:
            doc = doc or _empty()
            changed, result = change(doc["accounts"])
            return (doc if changed else None), result

        return update_json(self.lake, key, apply, default=_empty(), check=_shape)

    def _home(self, name: str) -> str:
        """Where ``name`` lives: ``registry.json`` when it was added there, else its shard."""
        legacy = read_json(self.lake, REGISTRY_KEY, None, check=_shape)
        if legacy is None:  # a new lake: registry.json marks where the registry is, and stays small
            update_json(self.lake, REGISTRY_KEY, lambda doc: (None if doc else _empty(), None), check=_shape)
            return shard_key(name)
        return REGISTRY_KEY if name.lower() in legacy["accounts"] else shard_key(name)

    # -- reading ---------------------------------------------------------------------------------
    def list(self) -> list[Account]:
        """Every tracked account, by name (the shards are read in parallel: 65 GETs on S3)."""
        keys = [REGISTRY_KEY, *(f"{SHARD_PREFIX}{shard:02d}.json" for shard in range(SHARDS))]
        entries: dict[str, Entry] = {}
        with ThreadPoolExecutor(max_workers=READERS) as pool:
            for accounts in pool.map(self._read, keys):  # in order: a shard's entry wins over registry.json's
                entries.update(accounts)
        return sorted((Account.from_doc(a) for a in entries.values()), key=lambda a: a.username.lower())

    def get(self, username: str) -> Account | None:
        key = username.strip().removeprefix("@").lower()
        found = self._read(shard_key(key)).get(key) or self._read(REGISTRY_KEY).get(key)
        return Account.from_doc(found) if found else None

    # -- changing --------------------------------------------------------------------------------
    def add(self, username: str, user_id: str | None = None) -> tuple[Account, bool]:
        """Track ``username``; returns the account and whether it was new (adding twice is a no-op)."""
        name = check_username(username)
        now = isoformat_z(datetime.now(UTC).replace(microsecond=0))
        home = self._home(name)

        def change(accounts: dict[str, Entry]) -> tuple[bool, tuple[Account, bool]]:
            existing = accounts.get(name.lower())
            if existing:
                if user_id and not existing.get("user_id"):
                    accounts[name.lower()] = existing = {**existing, "user_id": user_id}
                    return True, (Account.from_doc(existing), False)
                return False, (Account.from_doc(existing), False)
            account = Account(username=name, user_id=user_id, added_at=now)
            accounts[name.lower()] = asdict(account)
            return True, (account, True)

        result: tuple[Account, bool] = self._update(home, change)
        return result

    def remove(self, username: str) -> bool:
        """Stop tracking; nothing already collected is deleted. Returns whether it was tracked."""
        key = username.strip().removeprefix("@").lower()

        def change(accounts: dict[str, Entry]) -> tuple[bool, bool]:
            return (True, True) if accounts.pop(key, None) is not None else (False, False)

        return bool(self._update(self._home(key), change))

    def _edit(self, edits: dict[str, Edit]) -> None:
        """Apply ``edit(entry)`` to each named account where it lives (one write per document)."""
        by_home: dict[str, dict[str, Edit]] = {}
        for name, edit in edits.items():
            by_home.setdefault(self._home(name), {})[name.lower()] = edit

        for home, named in by_home.items():

            def change(accounts: dict[str, Entry], named: dict[str, Edit] = named) -> tuple[bool, None]:
                changed = False
                for name, edit in named.items():
                    entry = accounts.get(name)
                    if entry is None:
                        continue
                    new = edit(dict(entry))
                    if new != entry:
                        accounts[name] = new
                        changed = True
                return changed, None

            self._update(home, change)

    def _rename(self, old: str, new: str) -> None:
        """Move an account to its new name's document: written there first, then dropped here (a
        crash between leaves both, never neither)."""
        entry = self._read(self._home(old)).get(old.lower())
        if entry is None:
            return
        moved = {
            **entry,
            "username": new,
            "previous_usernames": [*entry.get("previous_usernames", []), entry["username"]],
        }

        def put(accounts: dict[str, Entry]) -> tuple[bool, None]:
            accounts[new.lower()] = moved
            return True, None

        def drop(accounts: dict[str, Entry]) -> tuple[bool, None]:
            return accounts.pop(old.lower(), None) is not None, None

        old_home, new_home = self._home(old), shard_key(new)
        self._update(new_home, put)
        if (old_home, old.lower()) != (new_home, new.lower()):
            self._update(old_home, drop)

    def record_lookups(
        self,
        resolved: dict[str, str],
        statuses: dict[str, AccountStatus | None],
        renamed: dict[str, str],
        *,
        snapshot_day: str | None = None,
    ) -> None:
        """Store what a lookup learned: ids (``name -> id``), statuses, renames (``old -> new``);
        with ``snapshot_day``, that a published users file of that ``dt=`` holds the profiles of
        ``resolved`` (the REST API reads it from state/, not from raw/)."""
        for old, new in renamed.items():
            self._rename(old, new)
        updates: dict[str, Entry] = {}
        for name, user_id in resolved.items():
            updates.setdefault(name.lower(), {})["user_id"] = user_id
        for name, status in statuses.items():
            updates.setdefault(name.lower(), {})["status"] = status
        days = {name.lower(): snapshot_day for name in resolved} if snapshot_day else {}
        self._edit({name: _updater(updates.get(name, {}), days.get(name)) for name in {*updates, *days}})


def _updater(fields: Entry, snapshot_day: str | None) -> Edit:
    """An edit that sets ``fields``, and ``last_snapshot_day`` when ``snapshot_day`` is newer."""

    def edit(entry: Entry) -> Entry:
        entry = {**entry, **fields}
        if snapshot_day and snapshot_day > (entry.get("last_snapshot_day") or ""):
            entry["last_snapshot_day"] = snapshot_day
        return entry

    return edit
