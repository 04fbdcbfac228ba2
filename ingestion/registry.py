"""The tracked-accounts registry in ``<lake>/state/registry.json``.

Usernames are case-insensitive on X, so the registry keys accounts by the lower-cased name and
keeps the spelling the user gave. Updates are conditional writes (see :mod:`ingestion.state`):
fifty concurrent ``add`` calls leave fifty accounts. What the lookups learn about an account (its
status, the username → user id cache) is :mod:`ingestion.accounts`'.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from common.lake import Lake
from common.layout import REGISTRY_KEY, isoformat_z
from ingestion.state import read_json, update_json
from ingestion.status import AccountStatus

USERNAME_RE = re.compile(r"^[A-Za-z0-9_]{1,15}$")


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
    status: AccountStatus | None = None  # None: fine
    previous_usernames: list[str] = field(default_factory=list)
    last_snapshot_day: str | None = None  # "YYYY-MM-DD": the newest raw/users/dt= holding its profile

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Account:
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


class Registry:
    def __init__(self, lake: Lake) -> None:
        self.lake = lake

    def list(self) -> list[Account]:
        doc = read_json(self.lake, REGISTRY_KEY, _empty())
        return sorted((Account.from_doc(a) for a in doc["accounts"].values()), key=lambda a: a.username.lower())

    def get(self, username: str) -> Account | None:
        doc = read_json(self.lake, REGISTRY_KEY, _empty())
        found = doc["accounts"].get(username.strip().removeprefix("@").lower())
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
