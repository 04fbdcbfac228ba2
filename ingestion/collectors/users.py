"""users (daily): the profile of every tracked account, ``GET /2/users/by`` in batches of 100.

Accounts the API cannot show (unknown, suspended) come back as partial errors; they are written to
the lake as error records and named in the summary. An account renamed since it was added is not
lost: when its old name is unknown but its id is known, one ``GET /2/users?ids=`` batch finds it
under its new name, and the registry learns the rename.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ingestion.client import ForbiddenError, InvalidRequestError, NotFoundError, XClient
from ingestion.collectors.base import CollectorRun, Progress, RunSummary
from ingestion.registry import Account, Registry


def _batches(items: list[str], size: int = 100) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def classify_user_error(error: dict[str, Any]) -> str:
    """``not_found`` / ``suspended`` / ``protected`` / ``error`` from a v2 partial error."""
    detail = str(error.get("detail", "")).lower()
    title = str(error.get("title", ""))
    if "suspended" in detail:
        return "suspended"
    if title == "Authorization Error" or "not-authorized" in str(error.get("type", "")):
        return "protected"
    if title == "Not Found Error" or "not-found" in str(error.get("type", "")):
        return "not_found"
    return "error"


class UsersCollector(CollectorRun):
    dataset = "users"

    def run(self, accounts: list[Account], registry: Registry | None = None) -> RunSummary:
        by_name = {a.username.lower(): a for a in accounts}
        names = sorted({a.username for a in accounts}, key=str.lower)
        progress = Progress("users", len(names), enabled=self.progress_enabled)
        resolved: dict[str, str] = {}
        statuses: dict[str, str | None] = {}
        missing: list[Account] = []
        try:
            for batch in _batches(names):
                page = self.client.users_by_usernames(batch)
                self.write_page(page)
                for user in page.data:
                    resolved[user["username"]] = user["id"]
                    statuses[user["username"]] = "protected" if user.get("protected") else None
                for error in page.errors:
                    name = str(error.get("value") or error.get("resource_id") or "")
                    status = classify_user_error(error)
                    account = by_name.get(name.lower())
                    if account and account.user_id and status == "not_found":
                        missing.append(account)  # perhaps renamed: look it up by id below
                    else:
                        statuses[name] = status
                        self.summary.unavailable[name] = status
                progress.update(progress.done + len(batch), records=self.summary.records)
            renamed = self._find_renamed(missing, resolved, statuses)
        finally:
            progress.close()
        if registry is not None:
            registry.record_lookups(resolved, statuses, renamed)
        self.summary.extra["accounts"] = f"{len(resolved)} found of {len(names)}"
        return self.finish()

    def _find_renamed(self, missing: list[Account], resolved: dict[str, str],
                      statuses: dict[str, str | None]) -> dict[str, str]:
        renamed: dict[str, str] = {}
        by_id = {a.user_id: a for a in missing if a.user_id}
        for batch in _batches(sorted(by_id)):
            try:
                page = self.client.users_by_ids(batch)
            except (NotFoundError, ForbiddenError, InvalidRequestError) as err:
                # the lookup by id is a courtesy for renamed accounts: an API without it is no reason
                # to lose the profiles already collected
                for lost in by_id.values():
                    statuses[lost.username] = "not_found"
                    self.summary.unavailable[lost.username] = "not_found"
                self.summary.notes.append(f"could not look up {len(by_id)} account(s) by id: {err}")
                return renamed
            self.write_page(page)
            for user in page.data:
                old = by_id[user["id"]].username
                renamed[old] = user["username"]
                resolved[user["username"]] = user["id"]
                self.summary.notes.append(f"@{old} is now @{user['username']} (id {user['id']})")
            for error in page.errors:
                account = by_id.get(str(error.get("value") or error.get("resource_id") or ""))
                if account:
                    status = classify_user_error(error)
                    statuses[account.username] = status
                    self.summary.unavailable[account.username] = status
        return renamed


def resolve_user_ids(client: XClient, accounts: list[Account], registry: Registry | None,
                     summary: RunSummary) -> list[Account]:
    """The accounts with their user ids; names never resolved are looked up (≤100 a request).

    The timeline and the index work by id, so a rename does not matter to them. Names the API does
    not know are named in the summary and left out.
    """
    unresolved = [a.username for a in accounts if not a.user_id]
    resolved: dict[str, str] = {}
    for batch in _batches(unresolved):
        page = client.users_by_usernames(batch)
        resolved.update({u["username"].lower(): u["id"] for u in page.data})
        for error in page.errors:
            summary.unavailable[str(error.get("value"))] = classify_user_error(error)
    if registry is not None and resolved:
        registry.record_lookups(
            {a.username: resolved[a.username.lower()] for a in accounts if a.username.lower() in resolved}, {}, {}
        )
    out = []
    for account in accounts:
        user_id = account.user_id or resolved.get(account.username.lower())
        if user_id:
            out.append(Account(account.username, user_id, account.added_at, account.status))
    return out
