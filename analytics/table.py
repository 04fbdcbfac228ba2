"""The rows of one query with their column names: what the report draws and its tables show."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

Rows = list[tuple[Any, ...]]


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: Rows

    def column(self, name: str) -> list[Any]:
        i = self.columns.index(name)
        return [r[i] for r in self.rows]

    def groups(self, key: str) -> dict[Any, Table]:
        """The rows split by the value of ``key``, in first-seen order."""
        i = self.columns.index(key)
        split: dict[Any, Rows] = defaultdict(list)
        for row in self.rows:
            split[row[i]].append(row)
        return {k: Table(self.columns, v) for k, v in split.items()}

    def by(self, *keys: str) -> dict[tuple[Any, ...], Table]:
        """The rows split by the values of ``keys`` together, in first-seen order."""
        idx = [self.columns.index(k) for k in keys]
        split: dict[tuple[Any, ...], Rows] = defaultdict(list)
        for row in self.rows:
            split[tuple(row[i] for i in idx)].append(row)
        return {k: Table(self.columns, v) for k, v in split.items()}


def run_query(conn: Any, sql: str, params: dict[str, Any]) -> Table:
    cur = conn.execute(sql, params)
    return Table(tuple(d.name for d in cur.description or ()), [tuple(r) for r in cur.fetchall()])
