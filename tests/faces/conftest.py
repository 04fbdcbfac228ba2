"""The faces' tests share the Glue tests' embedded PostgreSQL fixtures (one server per session)."""

from tests.glue.conftest import pg_url, schema

__all__ = ["pg_url", "schema"]
