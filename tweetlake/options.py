"""Options every ``tweetlake`` command shares, checked before anything starts.

A lake URI, a database URL, a schema name and a time are checked here, in the face, so that a typo
ends in one line (and exit 2) before Spark, the embedded PostgreSQL or an AWS client starts.
"""

from __future__ import annotations

import argparse
import functools
import re
from datetime import date, datetime
from typing import NoReturn

from common.lake import Lake, LocalLake
from common.layout import parse_time
from common.settings import load
from common.warehouse.db import DbTarget, check_identifier
from tweetlake.errors import UsageError

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class ArgumentParser(argparse.ArgumentParser):
    """``argparse`` with one-line usage errors (``tweetlake job: argument --lake: … (see --help)``,
    exit 2) and descriptions without reStructuredText markup (the docstrings they come from use it)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        for key in ("description", "epilog"):
            if isinstance(kwargs.get(key), str):
                kwargs[key] = plain(str(kwargs[key]))
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> NoReturn:
        usage_error(self, message)


def usage_error(parser: argparse.ArgumentParser, message: str) -> NoReturn:
    """One line on stderr and exit 2, instead of argparse's usage block and its ``error:`` line."""
    parser.exit(2, f"{parser.prog}: {message} (see {parser.prog} --help)\n")


def one_line_errors(parser: argparse.ArgumentParser) -> None:
    """Give a plain ``argparse.ArgumentParser`` the one-line errors of :class:`ArgumentParser`.
    :func:`add_log_level`, which every command calls, does it: a command built on argparse's own
    class gets them too."""
    if not isinstance(parser, ArgumentParser):
        parser.error = functools.partial(usage_error, parser)  # type: ignore[method-assign]


def plain(text: str) -> str:
    """Docstring text for ``--help``: ````code```` → ``code``, ``:class:`X``` → ``X``."""
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"\1", text)
    return text.replace("``", "")


LAKE_HELP = (
    "the lake: file:///absolute/path or s3://bucket/prefix (default: $TWEETLAKE_LAKE, else $TWEETLAKE_HOME/lake)"
)
DATABASE_HELP = (
    "the warehouse, postgresql://user@host:port/db (default: $TWEETLAKE_DATABASE_URL, else the embedded"
    " PostgreSQL under $TWEETLAKE_HOME; prefer the variable for a URL with a password: argv is visible"
    " in ps)"
)


def add_log_level(parser: argparse.ArgumentParser, default: str = "WARNING") -> None:
    one_line_errors(parser)
    parser.add_argument(
        "--log-level",
        default=default,
        type=str.upper,
        choices=LOG_LEVELS,
        help=f"how much to log on stderr; DEBUG also shows Spark's log and the traceback of an "
        f"error (default: {default})",
    )


def add_lake(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lake", default=None, metavar="URI", help=LAKE_HELP)


def add_database(parser: argparse.ArgumentParser, *, schema: bool = True) -> None:
    parser.add_argument("--database-url", default=None, metavar="URL", help=DATABASE_HELP)
    if schema:
        default = load().db_schema
        parser.add_argument(
            "--schema",
            default=default,
            help=f"the warehouse schema (default: $TWEETLAKE_DB_SCHEMA, else twitter; now {default})",
        )


def open_lake(option: str | None, *, must_exist: bool = False) -> Lake:
    """The lake of ``--lake`` (else ``$TWEETLAKE_LAKE``, else the one under ``$TWEETLAKE_HOME``).
    A plain or relative path is refused with the absolute URI to use; ``must_exist``: a local
    lake's folder must be there (a job on a lake that does not exist is a typo, not an empty lake)."""
    settings = load()
    uri = option or settings.lake_uri
    lake = Lake.from_user_uri(uri) if (option or settings.lake_configured) else Lake.from_uri(uri)
    if must_exist and isinstance(lake, LocalLake) and not lake.root.is_dir():
        raise UsageError(
            f"no lake at {lake.uri} (the folder does not exist): pass --lake, set TWEETLAKE_LAKE, "
            "or collect first with tweetlake ingest"
        )
    return lake


def check_database_url(option: str | None) -> str | None:
    """``--database-url`` (else ``$TWEETLAKE_DATABASE_URL``) checked for shape; ``None`` means the
    embedded server (not started here)."""
    url = option or load().database_url
    if url is not None:
        DbTarget.from_url(url)
    return url


def check_schema(name: str) -> str:
    return check_identifier(name)


def rfc3339(value: str) -> datetime:
    """An ``argparse`` type: a time as RFC 3339 (``2026-01-01T00:00:00Z``); argparse names the option."""
    try:
        return parse_time(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an RFC 3339 time: {value!r} (e.g. 2026-01-01T00:00:00Z or 2026-01-01)"
        ) from None


def rfc3339_text(value: str) -> str:
    """:func:`rfc3339` that keeps the text (for options passed on as strings)."""
    rfc3339(value)
    return value


def iso_day(value: str) -> date:
    """An ``argparse`` type: a UTC day as ``YYYY-MM-DD``; argparse names the option."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a day (YYYY-MM-DD): {value!r}") from None
