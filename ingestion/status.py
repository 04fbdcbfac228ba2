"""Why an account cannot be fully collected: the status the registry keeps and the REST API shows
(what sets it is :mod:`ingestion.accounts`')."""

from __future__ import annotations

from enum import StrEnum


class AccountStatus(StrEnum):
    """Why an account cannot be fully collected (an account without a status is fine)."""

    PROTECTED = "protected"  # its profile is collected, its tweets cannot be
    SUSPENDED = "suspended"
    NOT_FOUND = "not_found"
    ERROR = "error"  # a partial error of another kind

    @classmethod
    def of(cls, value: str | None) -> AccountStatus | None:
        """The status a stored string names (``None`` for none; an unknown string is ``ERROR``)."""
        if not value:
            return None
        try:
            return cls(value)
        except ValueError:
            return cls.ERROR
