"""Versioned SQL migrations: ``migrations/NNNN_name.sql`` applied in order, recorded in ``schema_migrations``.

Each migration runs in its own transaction with ``search_path`` set to the target schema, under a
transaction-level advisory lock, so two jobs that find the schema behind at the same moment apply
each migration once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.warehouse.db import check_identifier, lock_key

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise ValueError(f"migration file {path.name!r} is not named NNNN_name.sql")
        found.append(Migration(int(match.group(1)), match.group(2), path.read_text(encoding="utf-8")))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ValueError("two migrations share a version number")
    return found


def applied_versions(conn: Any, schema: str) -> set[int]:
    check_identifier(schema)
    exists = conn.execute("SELECT to_regclass(%s)", (f"{schema}.schema_migrations",)).fetchone()[0]
    if exists is None:
        return set()
    return {row[0] for row in conn.execute(f"SELECT version FROM {schema}.schema_migrations")}


def pending_migrations(conn: Any, schema: str) -> list[Migration]:
    done = applied_versions(conn, schema)
    return [m for m in available_migrations() if m.version not in done]


def migrate(conn: Any, schema: str) -> list[int]:
    """Apply the pending migrations; returns the versions applied now. ``conn`` is in autocommit mode."""
    check_identifier(schema)
    applied: list[int] = []
    for migration in available_migrations():
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key("migrate", schema),))
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {schema}.schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = conn.execute(
                f"SELECT 1 FROM {schema}.schema_migrations WHERE version = %s", (migration.version,)
            ).fetchone()
            if done:
                continue
            conn.execute(f"SET LOCAL search_path TO {schema}, public")
            conn.execute(migration.sql)
            conn.execute(
                f"INSERT INTO {schema}.schema_migrations (version, name) VALUES (%s, %s)",
                (migration.version, migration.name),
            )
            applied.append(migration.version)
    return applied


def ensure_migrated(conn: Any, schema: str) -> list[int]:
    """Migrate only when the schema is behind (a cheap check on every job run)."""
    if not pending_migrations(conn, schema):
        return []
    return migrate(conn, schema)
