"""Where the warehouse is and how to connect to it (psycopg for SQL, JDBC for Spark).

Credentials come from a ``postgresql://`` URL (local runs), an RDS managed secret in Secrets
Manager, or a Glue Connection — never from job arguments, and never logged: :class:`DbTarget`'s
``repr`` hides the password.

Every connection has a deadline: :attr:`DbTarget.url` carries libpq's ``connect_timeout`` and
:meth:`DbTarget.jdbc_properties` the driver's ``connectTimeout``/``loginTimeout``
(``TWEETLAKE_DB_CONNECT_TIMEOUT``, default 10 s), so a server that accepts TCP and never answers
ends a command with exit 8 instead of hanging it. Statements themselves are never cut short.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlparse

from common.settings import DEFAULT_SCHEMA as DEFAULT_SCHEMA  # re-exported for the warehouse modules
from common.settings import load


def _connect_timeout() -> int:
    return load().db_connect_timeout


_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class DatabaseUnavailable(RuntimeError):
    """The warehouse could not be reached, refused us, or went away during a run: trying again
    later (with the server up) may work. The message names the server without its password."""


class InvalidDatabaseUrl(ValueError):
    """A database URL that is not ``postgresql://…``."""


class InvalidIdentifier(ValueError):
    """A schema or table name that is not a plain lower-case SQL identifier."""


def check_identifier(name: str) -> str:
    """A schema or table name we put into SQL text: lower-case letters, digits, underscores."""
    if not _IDENTIFIER.match(name):
        raise InvalidIdentifier(f"invalid SQL identifier {name!r} (use lower-case letters, digits and _)")
    return name


def lock_key(*parts: str) -> int:
    """A stable 63-bit advisory lock key for a name (``lock_key("job", schema, dataset)``)."""
    text = ":".join(("tweetlake", *parts)).encode()
    return (zlib.crc32(text) << 31 | zlib.crc32(text[::-1])) & 0x7FFF_FFFF_FFFF_FFFF


@dataclass(frozen=True)
class DbTarget:
    host: str
    port: int
    dbname: str
    user: str
    password: str = field(default="", repr=False)
    sslmode: str | None = None
    connect_timeout: int = field(default_factory=_connect_timeout)
    """Seconds the connection (TCP, TLS, login) may take; a URL's own ``connect_timeout`` wins."""

    @staticmethod
    def from_url(url: str) -> DbTarget:
        parsed = urlparse(url)
        if parsed.scheme not in ("postgresql", "postgres"):
            got = f"{parsed.scheme}://…" if parsed.scheme else "no scheme"
            raise InvalidDatabaseUrl(f"a database URL starts with postgresql:// (got {got})")
        query = dict(parse_qsl(parsed.query))
        return DbTarget(
            host=parsed.hostname or query.get("host", "127.0.0.1"),
            port=parsed.port or int(query.get("port", 5432)),
            dbname=unquote(parsed.path.lstrip("/")) or "postgres",
            user=unquote(parsed.username or query.get("user", "postgres")),
            password=unquote(parsed.password or query.get("password", "")),
            sslmode=query.get("sslmode"),
            connect_timeout=_timeout(query.get("connect_timeout")),
        )

    @staticmethod
    def from_secret(secret_string: str, *, base: DbTarget | None = None) -> DbTarget:
        """A Secrets Manager secret: ``username`` and ``password``, and ``host``/``port``/``dbname``
        unless ``base`` (a Glue Connection's JDBC URL) says where the server is.

        RDS managed master secrets (``ManageMasterUserPassword``) hold only ``username`` and
        ``password``: they need the connection's URL as ``base``.
        """
        value = json.loads(secret_string)
        host = value.get("host") or (base.host if base else None)
        if not host:
            raise ValueError(
                "the database secret holds no host (an RDS managed secret has only username and password): "
                "use --connection_name (a Glue Connection holds the JDBC URL) or a secret with host, port and dbname"
            )
        return DbTarget(
            host=host,
            port=int(value.get("port") or (base.port if base else 5432)),
            dbname=value.get("dbname") or value.get("dbName") or (base.dbname if base else "postgres"),
            user=value["username"],
            password=value["password"],
            sslmode=value.get("sslmode") or (base.sslmode if base and base.sslmode else "require"),
        )

    @staticmethod
    def from_jdbc_url(jdbc_url: str, user: str, password: str) -> DbTarget:
        """``jdbc:postgresql://host:port/db`` as a Glue Connection stores it."""
        target = DbTarget.from_url(jdbc_url.removeprefix("jdbc:"))
        return DbTarget(target.host, target.port, target.dbname, user, password, target.sslmode)

    @property
    def url(self) -> str:
        """A libpq URL (holds the password: never log it)."""
        auth = quote(self.user, safe="") + (":" + quote(self.password, safe="") if self.password else "")
        query = f"?connect_timeout={self.connect_timeout}" + (f"&sslmode={self.sslmode}" if self.sslmode else "")
        return f"postgresql://{auth}@{self.host}:{self.port}/{quote(self.dbname, safe='')}{query}"

    @property
    def safe_url(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}"

    @property
    def jdbc_url(self) -> str:
        query = "?reWriteBatchedInserts=true" + (f"&sslmode={self.sslmode}" if self.sslmode else "")
        return f"jdbc:postgresql://{self.host}:{self.port}/{self.dbname}{query}"

    def jdbc_properties(self) -> dict[str, str]:
        """The driver's properties: who we are, and the connection's deadline (``connectTimeout``
        for TCP, ``loginTimeout`` for the whole login, both in seconds; no ``socketTimeout``: a
        long statement is not a dead server)."""
        timeout = str(self.connect_timeout)
        return {
            "user": self.user,
            "password": self.password,
            "driver": "org.postgresql.Driver",
            "connectTimeout": timeout,
            "loginTimeout": timeout,
        }

    def connect(self, **kwargs: Any) -> Any:
        """A psycopg connection; :class:`DatabaseUnavailable` naming the wait actually used when the
        server does not answer within it (``connect_timeout`` in ``kwargs`` wins over the URL's)."""
        import psycopg  # imported lazily: the ingestion host never needs it

        try:
            return psycopg.connect(self.url, application_name="tweetlake", **kwargs)
        except psycopg.OperationalError as err:
            if "timeout expired" not in str(err):
                raise
            wait = kwargs.get("connect_timeout", self.connect_timeout)
            raise DatabaseUnavailable(
                f"cannot reach the database {self.safe_url}: connection timeout expired (no answer within "
                f"{wait} s; the URL's connect_timeout or TWEETLAKE_DB_CONNECT_TIMEOUT sets the wait)"
            ) from None


def _timeout(value: str | None) -> int:
    """A URL's ``connect_timeout`` (libpq reads whole seconds; below 2 it means 2), else the setting."""
    if value is None or not value.strip().isdigit():
        return _connect_timeout()
    return max(2, int(value))


def target_from_secrets_manager(secret_id: str, *, client: Any = None, base: DbTarget | None = None) -> DbTarget:
    if client is None:
        import boto3

        client = boto3.client("secretsmanager")
    return DbTarget.from_secret(client.get_secret_value(SecretId=secret_id)["SecretString"], base=base)


def target_from_glue_connection(name: str, *, client: Any = None, secrets_client: Any = None) -> DbTarget:
    """A Glue JDBC Connection: its URL, and either its ``SECRET_ID`` or its user name and password."""
    if client is None:
        import boto3

        client = boto3.client("glue")
    props = client.get_connection(Name=name, HidePassword=False)["Connection"]["ConnectionProperties"]
    base = DbTarget.from_url(props["JDBC_CONNECTION_URL"].removeprefix("jdbc:"))
    if props.get("SECRET_ID"):
        secret = target_from_secrets_manager(props["SECRET_ID"], client=secrets_client, base=base)
        # the connection's URL says where the server is; the secret says who we are
        return DbTarget(base.host, base.port, base.dbname, secret.user, secret.password, secret.sslmode)
    return DbTarget(base.host, base.port, base.dbname, props["USERNAME"], props["PASSWORD"], base.sslmode)
