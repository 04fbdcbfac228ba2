"""The tracked-accounts registry in ``<lake>/state/registry.json``, and the username → user id
cache in ``<lake>/state/user_ids.json``.

Usernames are case-insensitive on X, so the registry keys accounts by the lower-cased name and
keeps the spelling the user gave. Updates are conditional writes (see :mod:`ingestion.state`):
fifty concurrent ``add`` calls leave fifty accounts.

The cache holds every id any run learned, also runs with ``--users`` (which leave the registry
alone): ``ingest users --users a,b`` then ``ingest tweets --users a,b`` must not pay a second
``GET /2/users/by`` for ids the first one saw.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from common.lake import Lake
from common.layout import REGISTRY_KEY, isoformat_z
from ingestion.state import read_json, update_json

USERNAME_RE = re.compile(r"^[A-Za-z0-9_]{1,15}$")
USER_IDS_KEY = "state/user_ids.json"


class InvalidUsername(ValueError):
    pass


def check_username(name: str) -> str:
    name = name.strip().removeprefix("@")
    if not USERNAME_RE.match(name):
        raise InvalidUsername(f"invalid X username {name!r}: 1-15 letters, digits or underscores")
    return name


@dataclass
class Account:
    username: str
    user_id: str | None = None
    added_at: str = ""
    status: str | None = None  # None (fine) | "not_found" | "suspended" | "protected"
    previous_usernames: list[str] = field(default_factory=list)
    last_snapshot_day: str | None = None  # "YYYY-MM-DD": the newest raw/users/dt= holding its profile

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Account:
        return cls(
            username=doc["username"],
            user_id=doc.get("user_id"),
            added_at=doc.get("added_at", ""),
            status=doc.get("status"),
            previous_usernames=list(doc.get("previous_usernames") or []),
            last_snapshot_day=doc.get("last_snapshot_day"),
        )


def _empty() -> dict[str, Any]:
    return {"version": 1, "accounts": {}}


class Registry:
    def __init__(self, lake: Lake) -> None:
        self.lake = lake

    def list(self) -> list[Account]:
        doc = read_json(self.lake, REGISTRY_KEY, _empty())
        return sorted((Account.from_doc(a) for a in doc["accounts"].values()), key=lambda a: a.username.lower())

    def get(self, username: str) -> Account | None:
        doc = read_json(self.lake, REGISTRY_KEY, _empty())
        found = doc["accounts"].get(username.lower())
        return Account.from_doc(found) if found else None

    def add(self, username: str, user_id: str | None = None) -> tuple[Account, bool]:
        """Track ``username``; returns the account and whether it was new (adding twice is a no-op)."""
        name = check_username(username)
        now = isoformat_z(datetime.now(UTC).replace(microsecond=0))

        def change(doc: Any) -> tuple[Any, tuple[Account, bool]]:
            doc = doc or _empty()
            existing = doc["accounts"].get(name.lower())
            if existing:
                if user_id and not existing.get("user_id"):
                    existing = {**existing, "user_id": user_id}
                    doc["accounts"][name.lower()] = existing
                    return doc, (Account.from_doc(existing), False)
                return None, (Account.from_doc(existing), False)
            account = Account(username=name, user_id=user_id, added_at=now)
            doc["accounts"][name.lower()] = asdict(account)
            return doc, (account, True)

        return update_json(self.lake, REGISTRY_KEY, change, default=_empty())

    def remove(self, username: str) -> bool:
        """Stop tracking; nothing already collected is deleted. Returns whether it was tracked."""
        key = username.strip().removeprefix("@").lower()

        def change(doc: Any) -> tuple[Any, bool]:
            if not doc or key not in doc["accounts"]:
                return None, False
            del doc["accounts"][key]
            return doc, True

        return update_json(self.lake, REGISTRY_KEY, change, default=_empty())

    def record_lookups(self, resolved: dict[str, str], statuses: dict[str, str | None],
                       renamed: dict[str, str], *, snapshot_day: str | None = None) -> None:
        """Store what a lookup learned: ids (``name -> id``), statuses, renames (``old -> new``);
        with ``snapshot_day``, that a published users file of that ``dt=`` holds the profiles of
        ``resolved`` (the REST API reads it from state/, not from raw/)."""

        def change(doc: Any) -> tuple[Any, None]:
            if not doc:
                return None, None
            accounts = doc["accounts"]
            changed = False
            for old, new in renamed.items():
                entry = accounts.pop(old.lower(), None)
                if entry is None:
                    continue
                previous = [*entry.get("previous_usernames", []), entry["username"]]
                accounts[new.lower()] = {**entry, "username": new, "previous_usernames": previous}
                changed = True
            for name, user_id in resolved.items():
                entry = accounts.get(name.lower())
                if entry is not None and entry.get("user_id") != user_id:
                    entry["user_id"] = user_id
                    changed = True
                if entry is not None and snapshot_day and snapshot_day > (entry.get("last_snapshot_day") or ""):
                    entry["last_snapshot_day"] = snapshot_day
                    changed = True
            for name, status in statuses.items():
                entry = accounts.get(name.lower())
                if entry is not None and entry.get("status") != status:
                    entry["status"] = status
                    changed = True
            return (doc if changed else None), None

        update_json(self.lake, REGISTRY_KEY, change, default=_empty())


def known_user_ids(lake: Lake) -> dict[str, str]:
    """``lower-cased username -> user id`` for every name a run has resolved."""
    doc = read_json(lake, USER_IDS_KEY) or {}
    return {name: str(entry["user_id"]) for name, entry in (doc.get("users") or {}).items()}


def remember_user_ids(lake: Lake, resolved: dict[str, str], forget: Iterable[str] = ()) -> None:
    """Learn ``name -> id`` pairs; ``forget`` the names a lookup no longer finds (unknown, suspended)."""
    gone = {name.lower() for name in forget}
    now = isoformat_z(datetime.now(UTC).replace(microsecond=0))

    def change(doc: Any) -> tuple[Any, None]:
        doc = doc or {"version": 1, "users": {}}
        users = doc["users"]
        before = dict(users)
        for name, user_id in resolved.items():
            if (users.get(name.lower()) or {}).get("user_id") != user_id:
                users[name.lower()] = {"username": name, "user_id": user_id, "resolved_at": now}
        for name in gone - {n.lower() for n in resolved}:
            users.pop(name, None)
        return (doc if users != before else None), None

    if resolved or gone:
        update_json(lake, USER_IDS_KEY, change)
