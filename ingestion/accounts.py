"""What the collectors learn about an account beyond its name: its status on X and its user id.

A status comes from the API's partial errors (or a profile's ``protected`` flag) and is kept in
the registry; :class:`AccountStatus` is a ``str`` enum, so the registry's JSON and the REST API
carry the same plain strings (``"protected"``, ``"suspended"``, ``"not_found"``, ``"error"``).

The username → user id cache in ``<lake>/state/user_ids.json`` holds every id any run learned, also
runs with ``--users`` (which leave the registry alone): ``ingest users --users a,b`` then
``ingest tweets --users a,b`` must not pay a second ``GET /2/users/by`` for ids the first one saw.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from common.lake import Lake
from common.layout import isoformat_z
from ingestion.state import read_json, update_json
from ingestion.status import AccountStatus

if TYPE_CHECKING:
    from ingestion.client import XClient
    from ingestion.collectors.base import CollectorRun
    from ingestion.registry import Account, Registry
    from ingestion.usage import Budget

USER_IDS_KEY = "state/user_ids.json"
LOOKUP_BATCH = 100  # usernames or ids a user lookup takes


GONE = frozenset({AccountStatus.NOT_FOUND, AccountStatus.SUSPENDED})
"""What makes a cached username → id pair worthless (and an account not worth asking for again)."""
UNAVAILABLE_FOR_METRICS = GONE | {AccountStatus.PROTECTED}
"""Accounts whose tweets answer only errors: a metrics run leaves them to the daily users run."""


def batches(items: list[str], size: int = LOOKUP_BATCH) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def classify_user_error(error: dict[str, Any]) -> AccountStatus:
    """The status a v2 partial error about a user means."""
    detail = str(error.get("detail", "")).lower()
    title = str(error.get("title", ""))
    if "suspended" in detail:
        return AccountStatus.SUSPENDED
    if title == "Authorization Error" or "not-authorized" in str(error.get("type", "")):
        return AccountStatus.PROTECTED
    if title == "Not Found Error" or "not-found" in str(error.get("type", "")):
        return AccountStatus.NOT_FOUND
    return AccountStatus.ERROR


# -- the username → user id cache ---------------------------------------------------------------
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
    for batch in batches(unresolved):
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
            out.append(dataclasses.replace(account, user_id=user_id))
    return out


class UnknownAccount(LookupError):
    """X has no such account, or it is suspended: it cannot be tracked (``status`` says which)."""

    def __init__(self, username: str, status: AccountStatus) -> None:
        self.username = username
        self.status = status
        what = "is suspended on X; it cannot be collected" if status == AccountStatus.SUSPENDED else "is unknown to X"
        super().__init__(f"@{username} {what}")


class NoAnswer(LookupError):
    """The X API answered a lookup without a word about some of the names asked."""


def look_up_usernames(
    client: XClient, names: list[str], *, lake: Lake | None = None, budget: Budget | None = None
) -> dict[str, tuple[str | None, AccountStatus | None]]:
    """``{name: (user id, status)}`` for names about to be tracked, from ``GET /2/users/by`` (100 a
    request). A protected account is trackable (its profile is collected); an unknown or suspended
    one raises :class:`UnknownAccount` — the REST API and ``tweetlake users add`` share this rule.

    With ``lake``, the lookups go through the usage meter (:func:`ingestion.usage.metered`, dataset
    ``users``): each request checked against ``budget`` before it is sent
    (:class:`~ingestion.errors.BudgetReached`), its user reads counted in the ledger."""
    if lake is None:
        return _look_up(client, names)
    from ingestion.usage import metered

    with metered(lake, client, "users", f"lookup-{uuid.uuid4().hex[:12]}", budget=budget):
        return _look_up(client, names)


def _look_up(client: XClient, names: list[str]) -> dict[str, tuple[str | None, AccountStatus | None]]:
    found: dict[str, tuple[str | None, AccountStatus | None]] = {}
    refused: list[UnknownAccount] = []
    for batch in batches(names, LOOKUP_BATCH):
        page = client.users_by_usernames(batch)
        by_name = {str(u.get("username", "")).lower(): u for u in page.data}
        errors = {str(e.get("value", "")).lower(): e for e in page.errors}
        for name in batch:
            user = by_name.get(name.lower())
            if user is not None:
                found[name] = (str(user["id"]), AccountStatus.PROTECTED if user.get("protected") else None)
                continue
            error = errors.get(name.lower()) or (page.errors[0] if len(batch) == 1 and page.errors else None)
            kind = classify_user_error(error) if error is not None else None
            if kind in (AccountStatus.SUSPENDED, AccountStatus.NOT_FOUND):
                refused.append(UnknownAccount(name, kind))
            elif kind == AccountStatus.PROTECTED:
                found[name] = (None, AccountStatus.PROTECTED)
            else:
                raise NoAnswer(f"the X API gave no answer about @{name}")
    if refused:
        raise refused[0] if len(refused) == 1 else UnknownAccounts(refused)
    return found


class UnknownAccounts(UnknownAccount):
    """Several names of one list that cannot be tracked."""

    def __init__(self, refused: list[UnknownAccount]) -> None:
        self.refused = refused
        LookupError.__init__(self, "; ".join(str(r) for r in refused))
        self.username = refused[0].username
        self.status = refused[0].status
