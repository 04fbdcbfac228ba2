"""Which accounts and which days a report or an export covers, as SQL filters."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from common.warehouse.db import check_identifier


class UnknownAccounts(ValueError):
    """Accounts asked for that the warehouse has no current profile of."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(f"no such account in the warehouse: {', '.join(names)}")
        self.names = names


class UnknownSchema(ValueError):
    """A schema that is not a migrated warehouse; the message names the closest one that is."""


def warehouse_schemas(conn: Any) -> list[str]:
    """The schemas of this database that hold a warehouse (a ``schema_migrations`` table)."""
    rows = conn.execute(
        "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relname = 'schema_migrations' AND c.relkind IN ('r', 'p') ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


def check_warehouse(conn: Any, schema: str) -> None:
    """:class:`UnknownSchema` unless ``schema`` is a warehouse at the latest migration. A schema
    that does not exist gets the closest existing warehouse as a suggestion (never ``db migrate``
    of the typo, which would create it)."""
    from common.warehouse.migrate import pending_migrations

    known = warehouse_schemas(conn)
    if schema not in known:
        close = difflib.get_close_matches(schema, known, n=1, cutoff=0.6)
        if close:
            hint = f"did you mean --schema {close[0]}?"
        elif known:
            hint = f"warehouses here: {', '.join(known)}"
        else:
            hint = f"no warehouse in this database yet (create one: tweetlake db migrate --schema {schema})"
        raise UnknownSchema(f"schema {schema} is not a warehouse: {hint}")
    pending = pending_migrations(conn, schema)
    if pending:
        raise UnknownSchema(
            f"schema {schema} is not a warehouse at version {pending[-1].version}"
            f" (run: tweetlake db migrate --schema {schema})"
        )


@dataclass(frozen=True)
class Scope:
    schema: str
    accounts: tuple[str, ...] = ()
    """Usernames (any case); empty = every account."""
    since: date | None = None
    user_ids: tuple[int, ...] = field(default=())
    """Filled by :func:`resolve`: the accounts' user ids."""

    @property
    def since_key(self) -> int:
        return int(self.since.strftime("%Y%m%d")) if self.since else 0

    def users(self, column: str) -> tuple[str, dict[str, Any]]:
        """``column`` restricted to the scope's accounts (always true without accounts)."""
        if not self.accounts:
            return "true", {}
        return f"{column} = ANY(%(user_ids)s)", {"user_ids": list(self.user_ids)}

    def days(self, column: str) -> tuple[str, dict[str, Any]]:
        """A date_key ``column`` on or after ``since``."""
        return f"{column} >= %(since_key)s", {"since_key": self.since_key}

    def where(self, user_column: str, day_column: str | None = None) -> tuple[str, dict[str, Any]]:
        users, params = self.users(user_column)
        if day_column is None:
            return users, params
        days, more = self.days(day_column)
        return f"{users} AND {days}", {**params, **more}

    def describe(self) -> str:
        who = ", ".join(self.accounts) if self.accounts else "every account"
        when = f"since {self.since.isoformat()}" if self.since else "all days"
        return f"schema {self.schema} · {who} · {when}"


def resolve(conn: Any, schema: str, accounts: tuple[str, ...] = (), since: date | None = None) -> Scope:
    """The scope with its accounts' user ids; :class:`UnknownAccounts` names those not found."""
    check_identifier(schema)
    wanted = tuple(dict.fromkeys(a.strip().lstrip("@") for a in accounts if a.strip()))
    ids: list[int] = []
    if wanted:
        rows = conn.execute(
            f"SELECT lower(username), user_id FROM {schema}.dim_user WHERE is_current AND lower(username) = ANY(%s)",
            ([a.lower() for a in wanted],),
        ).fetchall()
        found = dict(rows)
        missing = [a for a in wanted if a.lower() not in found]
        if missing:
            raise UnknownAccounts(missing)
        ids = [found[a.lower()] for a in wanted]
    return Scope(schema=schema, accounts=wanted, since=since, user_ids=tuple(ids))
