"""users (daily): the profile of every tracked account, ``GET /2/users/by`` in batches of 100.

Accounts the API cannot show (unknown, suspended) come back as partial errors; they are written to
the lake as error records and named in the summary, as are protected accounts (their profile is
collected, their tweets cannot be). An account renamed since it was added is not lost: when its
old name is unknown but its id is known, one ``GET /2/users?ids=`` batch finds it under its new
name, and the registry learns the rename. Every id found goes to the username → id cache, so the
tweets and metrics runs that follow need no lookup of their own.
"""

from __future__ import annotations

from common.words import plural
from ingestion.accounts import GONE, AccountStatus, batches, classify_user_error, remember_user_ids
from ingestion.collectors.base import CollectorRun, RunSummary
from ingestion.errors import ForbiddenError, InvalidRequestError, NotFoundError
from ingestion.page import Page, unanswered
from ingestion.registry import Account, Registry


class UsersCollector(CollectorRun):
    dataset = "users"

    def run(self, accounts: list[Account], registry: Registry | None = None) -> RunSummary:
        by_name = {a.username.lower(): a for a in accounts}
        names = sorted({a.username for a in accounts}, key=str.lower)
        resolved: dict[str, str] = {}
        statuses: dict[str, AccountStatus | None] = {}
        missing: list[Account] = []
        looked_up = 0
        unanswered_names: list[str] = []
        for batch in batches(names):
            page = self.client.users_by_usernames(batch)
            self._read_profiles(page, by_name, resolved, statuses, missing)
            if left := unanswered(page, batch, field="username"):  # a partial answer: ask once more
                again = self.client.users_by_usernames(left)
                self._read_profiles(again, by_name, resolved, statuses, missing)
                unanswered_names += unanswered(again, left, field="username")
            looked_up += len(batch)
            self.on_progress(looked_up, len(names), records=self.summary.records)
        if unanswered_names:
            self.summary.notes.append(
                "the API answered for neither the profile nor an error of "
                + ", ".join("@" + n for n in unanswered_names)
                + "; the next run asks again"
            )
        renamed = self._find_renamed(missing, resolved, statuses)
        remember_user_ids(self.lake, resolved, forget=[n for n, why in statuses.items() if why in GONE])
        self.summary.extra["accounts"] = f"{len(resolved)} found of {len(names)}"
        summary = self.finish()  # publishes the profiles: only then may the registry say they exist
        if registry is not None:
            self.fence()
            day = self.writer.dt.isoformat() if summary.files else None
            registry.record_lookups(resolved, statuses, renamed, snapshot_day=day)
        return summary

    def _read_profiles(
        self,
        page: Page,
        by_name: dict[str, Account],
        resolved: dict[str, str],
        statuses: dict[str, AccountStatus | None],
        missing: list[Account],
    ) -> None:
        self.write_page(page)
        for user in page.data:
            resolved[user["username"]] = user["id"]
            statuses[user["username"]] = AccountStatus.PROTECTED if user.get("protected") else None
            if user.get("protected"):
                self.summary.unavailable[user["username"]] = AccountStatus.PROTECTED
        for error in page.errors:
            name = str(error.get("value") or error.get("resource_id") or "")
            status = classify_user_error(error)
            account = by_name.get(name.lower())
            if account and account.user_id and status == AccountStatus.NOT_FOUND:
                missing.append(account)  # perhaps renamed: look it up by id below
            else:
                statuses[name] = status
                self.summary.unavailable[name] = status

    def _find_renamed(
        self, missing: list[Account], resolved: dict[str, str], statuses: dict[str, AccountStatus | None]
    ) -> dict[str, str]:
        renamed: dict[str, str] = {}
        by_id = {a.user_id: a for a in missing if a.user_id}
        for batch in batches(sorted(by_id)):
            try:
                page = self.client.users_by_ids(batch)
            except (NotFoundError, ForbiddenError, InvalidRequestError) as err:
                # the lookup by id is a courtesy for renamed accounts: an API without it is no reason
                # to lose the profiles already collected
                for lost in by_id.values():
                    statuses[lost.username] = AccountStatus.NOT_FOUND
                    self.summary.unavailable[lost.username] = AccountStatus.NOT_FOUND
                self.summary.notes.append(f"could not look up {plural(len(by_id), 'account')} by id: {err}")
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
