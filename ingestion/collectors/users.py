"""users (daily): the profile of every tracked account, ``GET /2/users/by`` in batches of 100.

Accounts the API cannot show (unknown, suspended) come back as partial errors; they are written to
the lake as error records and named in the summary, as are protected accounts (their profile is
collected, their tweets cannot be). An account renamed since it was added is not lost: when its
old name is unknown but its id is known, one ``GET /2/users?ids=`` batch finds it under its new
name, and the registry learns the rename. Every id found goes to the username → id cache, so the
tweets and metrics runs that follow need no lookup of their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ingestion.client import ForbiddenError, InvalidRequestError, NotFoundError
from ingestion.collectors.base import CollectorRun, Progress, RunSummary
from ingestion.registry import Account, Registry, remember_user_ids


def _batches(items: list[str], size: int = 100) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


GONE = ("not_found", "suspended")  # what makes a cached username → id pair worthless


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
                    if user.get("protected"):
                        self.summary.unavailable[user["username"]] = "protected"
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
        remember_user_ids(self.lake, resolved, forget=[n for n, why in statuses.items() if why in GONE])
        self.summary.extra["accounts"] = f"{len(resolved)} found of {len(names)}"
        summary = self.finish()  # publishes the profiles: only then may the registry say they exist
        if registry is not None:
            day = self.writer.dt.isoformat() if summary.files else None
            registry.record_lookups(resolved, statuses, renamed, snapshot_day=day)
        return summary

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


def resolve_user_ids(run: CollectorRun, accounts: list[Account], registry: Registry | None) -> list[Account]:
    """The accounts with their user ids; names with no known id are looked up (≤100 a request).

    The timeline and the index work by id, so a rename does not matter to them. Names the API does
    not know are written to ``run``'s dataset as error records, named in the summary and left out;
    the ids found go to the registry (when the run uses it) and to the username → id cache.
    Accounts the last users run found gone are not asked for again: that daily run re-checks them.
    """
    for account in accounts:
        if not account.user_id and account.status in GONE:
            run.summary.unavailable[account.username] = account.status
    unresolved = [a.username for a in accounts if not a.user_id and a.status not in GONE]
    resolved: dict[str, str] = {}
    gone: list[str] = []
    for batch in _batches(unresolved):
        page = run.client.users_by_usernames(batch)
        run.write_errors(page)
        resolved.update({u["username"].lower(): u["id"] for u in page.data})
        for error in page.errors:
            name, why = str(error.get("value")), classify_user_error(error)
            run.summary.unavailable[name] = why
            if why in GONE:
                gone.append(name)
    found = {a.username: resolved[a.username.lower()] for a in accounts if a.username.lower() in resolved}
    if registry is not None and found:
        registry.record_lookups(found, {}, {})
    remember_user_ids(run.lake, found, forget=gone)
    out = []
    for account in accounts:
        user_id = account.user_id or resolved.get(account.username.lower())
        if user_id:
            out.append(Account(account.username, user_id, account.added_at, account.status))
    return out
