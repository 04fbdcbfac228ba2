"""The embedded PostgreSQL is private, keeps its port, and starts only when asked — on the real
server, driven through the real ``tweetlake db`` command in a temporary ``TWEETLAKE_HOME``."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

import psycopg
import pytest

from tweetlake import localdb

pytestmark = pytest.mark.slow
AS_ROOT = os.geteuid() == 0
only_as_root = pytest.mark.skipif(not AS_ROOT, reason="the privilege drop to another OS user happens only as root")


def child_env(home: Path) -> dict[str, str]:
    """The environment of a child whose only database is the embedded one in ``home``."""
    env = {k: v for k, v in os.environ.items() if k != "TWEETLAKE_DATABASE_URL" and not k.startswith("PG")}
    env["TWEETLAKE_HOME"] = str(home)
    return env


def tweetlake(home: Path, *args: str, **options: object) -> subprocess.CompletedProcess[str]:
    """``tweetlake <args>`` in a child process whose only database is the embedded one in ``home``."""
    options.setdefault("env", child_env(home))
    argv = [sys.executable, "-c", "import sys; from tweetlake.cli import main; sys.exit(main())", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=180, **options)  # type: ignore[call-overload]


def db_url(home: Path) -> str:
    result = tweetlake(home, "db", "url")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def port_of(url: str) -> int:
    port = urlparse(url).port
    assert port
    return port


NO_PASSFILE = "/nonexistent/.pgpass"  # libpq falls back on no password file


def hba_rules(home: Path) -> list[list[str]]:
    hba = (home / "pg" / "data" / "pg_hba.conf").read_text()
    return [line.split() for line in hba.splitlines() if line.strip() and not line.startswith("#")]


def passwordless(port: int) -> str:
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


def refuses(url: str) -> str:
    """The error a connection to ``url`` gets (no password file or environment to fall back on)."""
    with pytest.raises(psycopg.OperationalError) as caught:
        psycopg.connect(url, connect_timeout=5, passfile=NO_PASSFILE).close()
    return str(caught.value)


def postmaster_pid(home: Path) -> int:
    return int((home / "pg" / "data" / "postmaster.pid").read_text().split()[0])


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def new_home() -> Path:
    """A ``TWEETLAKE_HOME`` outside pytest's ``/tmp/pytest-of-<user>``: every pytest session that
    starts (other suites run beside this one) makes that folder 0700 again, and the server user
    could then no longer reach its data folder."""
    return Path(tempfile.mkdtemp(prefix="tweetlake-localdb-")) / "home"


def forget(home: Path) -> None:
    localdb.stop(home)
    shutil.rmtree(home.parent, ignore_errors=True)


@pytest.fixture
def home() -> Iterator[Path]:
    path = new_home()
    yield path
    forget(path)


@pytest.fixture
def started(home: Path) -> Iterator[Path]:
    """A fresh ``TWEETLAKE_HOME`` with the embedded server started by ``tweetlake db start``."""
    result = tweetlake(home, "db", "start")
    assert result.returncode == 0, result.stderr
    return home


@pytest.fixture(scope="module")
def server() -> Iterator[Path]:
    """One server for the checks that only look, started (as root) by a process that has root's
    group among its supplementary groups, as a root login often has."""
    home = new_home()
    result = tweetlake(home, "db", "start", **({"extra_groups": [0]} if AS_ROOT else {}))
    assert result.returncode == 0, result.stderr
    yield home
    forget(home)


# -- private ----------------------------------------------------------------------------------
def test_a_connection_without_the_password_is_refused(server: Path) -> None:
    url = db_url(server)
    assert "password" in refuses(passwordless(port_of(url)))
    assert "password authentication failed" in refuses(url.replace(urlparse(url).password or "", "wrong-password"))
    with psycopg.connect(url, connect_timeout=5) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("postgres",)


def test_db_url_holds_the_password_of_the_private_file(server: Path) -> None:
    password_file = server / "pg" / "password"
    mode = password_file.stat()
    assert stat.S_IMODE(mode.st_mode) == 0o600 and mode.st_uid == os.getuid()
    assert unquote(urlparse(db_url(server)).password or "") == password_file.read_text().strip()
    assert hba_rules(server) == [["host", "all", "all", "127.0.0.1/32", "scram-sha-256"]]


def test_the_server_syncs_to_disk(server: Path) -> None:
    with psycopg.connect(db_url(server)) as conn:
        assert conn.execute("SHOW fsync").fetchone() == ("on",)
        assert conn.execute("SHOW synchronous_commit").fetchone() == ("on",)
        assert conn.execute("SHOW password_encryption").fetchone() == ("scram-sha-256",)


@only_as_root
def test_another_os_user_cannot_connect_nor_read_the_password(server: Path) -> None:
    url = db_url(server)
    psql = str(Path(localdb._bin("psql")))
    import pwd

    nobody = pwd.getpwnam("nobody")
    as_nobody = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": [], "cwd": "/"}
    query = [psql, "-h", "127.0.0.1", "-p", str(port_of(url)), "-U", "postgres", "-w", "-Atc", "SELECT 1"]
    clean = {"PATH": "/usr/bin:/bin", "PGPASSFILE": NO_PASSFILE}
    denied = subprocess.run(query, env=clean, capture_output=True, text=True, timeout=30, **as_nobody)
    assert denied.returncode != 0 and "no password supplied" in denied.stderr
    password_file = server / "pg" / "password"
    peek = subprocess.run(
        ["cat", str(password_file)], env=clean, capture_output=True, text=True, timeout=30, **as_nobody
    )
    assert peek.returncode != 0 and "Permission denied" in peek.stderr
    # the same nobody, given the password, gets in: the refusals above are the password's doing
    allowed = subprocess.run(
        query,
        env={**clean, "PGPASSWORD": unquote(urlparse(url).password or "")},
        capture_output=True,
        text=True,
        timeout=30,
        **as_nobody,
    )
    assert (allowed.returncode, allowed.stdout.strip()) == (0, "1"), allowed.stderr


@only_as_root
def test_the_server_runs_without_the_root_group(server: Path) -> None:
    status = Path(f"/proc/{postmaster_pid(server)}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines())
    uids, gids, groups = (fields[k].split() for k in ("Uid", "Gid", "Groups"))
    assert "0" not in uids and "0" not in gids and "0" not in groups, fields
    assert gids[0] == str(localdb._server_ids()[1])  # type: ignore[index]


def test_the_password_is_on_no_command_line(server: Path) -> None:
    password = (server / "pg" / "password").read_text().strip()
    env = {**os.environ, "TWEETLAKE_HOME": str(server)}
    env.pop("TWEETLAKE_DATABASE_URL", None)
    sql = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from tweetlake.cli import main; sys.exit(main())",
            "sql",
            "SELECT pg_sleep(3)",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        with psycopg.connect(db_url(server), autocommit=True) as conn:
            deadline = time.monotonic() + 30
            while not conn.execute("SELECT 1 FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'").fetchone():
                assert time.monotonic() < deadline and sql.poll() is None, "tweetlake sql never reached the server"
                time.sleep(0.1)
            cmdlines = {}
            for proc in Path("/proc").glob("[0-9]*"):
                try:
                    cmdlines[int(proc.name)] = (proc / "cmdline").read_bytes()
                except OSError:
                    continue
    finally:
        assert sql.wait(30) == 0
    assert postmaster_pid(server) in cmdlines and sql.pid in cmdlines
    assert [pid for pid, line in cmdlines.items() if password.encode() in line] == []


def test_the_verifier_set_by_an_upgrade_is_the_one_libpq_computes(server: Path) -> None:
    with psycopg.connect(db_url(server)) as conn:
        theirs = conn.pgconn.encrypt_password(b"pencil", b"postgres", b"scram-sha-256").decode()
    iterations, salt = theirs.split("$")[1].split(":")
    import base64

    assert localdb.scram_verifier("pencil", salt=base64.b64decode(salt), iterations=int(iterations)) == theirs


# -- stable port, no surprise starts ----------------------------------------------------------
def test_the_port_survives_a_restart_and_url_never_starts_the_server(started: Path) -> None:
    url = db_url(started)
    held = psycopg.connect(url)  # open during the stop: the server's side of it lingers in TIME_WAIT
    assert tweetlake(started, "db", "stop").stdout.strip() == "stopped"
    held.close()
    for action in ("url", "status"):
        stopped = tweetlake(started, "db", action)
        assert stopped.returncode == 1 and stopped.stdout == ""
        assert stopped.stderr.strip().splitlines() == [
            "tweetlake db: the embedded PostgreSQL is not running: run `tweetlake db start`"
        ]
    assert not listening(port_of(url)) and not (started / "pg" / "data" / "postmaster.pid").exists()
    again = tweetlake(started, "db", "start")
    assert again.returncode == 0 and again.stderr == ""
    assert db_url(started) == url
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_a_taken_port_moves_and_says_so(started: Path) -> None:
    old = port_of(db_url(started))
    tweetlake(started, "db", "stop")
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past the server's TIME_WAIT sockets
        squatter.bind(("127.0.0.1", old))
        squatter.listen()
        moved = tweetlake(started, "db", "start")
        assert moved.returncode == 0, moved.stderr
        new = port_of(db_url(started))
    assert new != old
    assert moved.stderr.count("\n") == 1 and f"port {old}" in moved.stderr and str(new) in moved.stderr
    assert (started / "pg" / "port").read_text().strip() == str(new)
    assert f":{new}/" in moved.stdout and "password" not in moved.stdout.lower()


def test_status_reports_on_the_url_it_is_given(server: Path, tmp_path: Path) -> None:
    url = db_url(server)
    password = urlparse(url).password or ""
    nowhere = tmp_path / "nowhere"  # a home with no server: status must look at the URL, not here
    given = tweetlake(nowhere, "db", "status", "--database-url", url)
    assert given.returncode == 0, given.stderr
    assert given.stdout.startswith(f"running: {passwordless(port_of(url))} (PostgreSQL ")
    assert password not in given.stdout + given.stderr
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]  # bound, not listening: nothing answers
        unreachable = tweetlake(nowhere, "db", "status", "--database-url", passwordless(dead))
    assert unreachable.returncode == 8 and unreachable.stdout == ""
    assert len(unreachable.stderr.strip().splitlines()) == 1 and "Traceback" not in unreachable.stderr
    assert unreachable.stderr.startswith("tweetlake db: cannot reach the database:")
    wrong = tweetlake(nowhere, "db", "status", "--database-url", "mysql://root@127.0.0.1/db")
    assert (wrong.returncode, wrong.stderr.count("\n")) == (2, 1) and "postgresql://" in wrong.stderr
    assert not (nowhere / "pg" / "data").exists()


def test_commands_without_a_database_still_start_the_embedded_one(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWEETLAKE_HOME", str(home))
    monkeypatch.delenv("TWEETLAKE_DATABASE_URL", raising=False)
    url = localdb.database_url()
    assert urlparse(url).password == (home / "pg" / "password").read_text().strip()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert localdb.database_url() == url  # found running, not started twice


def test_no_fsync_is_asked_for_and_said(started: Path) -> None:
    tweetlake(started, "db", "stop")
    fast = tweetlake(started, "db", "start", "--no-fsync")
    assert fast.returncode == 0 and fast.stdout.rstrip().endswith(", fsync off)")
    with psycopg.connect(db_url(started)) as conn:
        assert conn.execute("SHOW fsync").fetchone() == ("off",)
        assert conn.execute("SHOW synchronous_commit").fetchone() == ("off",)
    tweetlake(started, "db", "stop")
    assert tweetlake(started, "db", "start").stdout.rstrip().endswith(")")
    with psycopg.connect(db_url(started)) as conn:
        assert conn.execute("SHOW fsync").fetchone() == ("on",)


# -- an older version's data folder -----------------------------------------------------------
def make_legacy_server(home: Path, port: int) -> None:
    """What tweetlake before the password did: initdb with trust, started with fsync off."""
    base, data = home / "pg", home / "pg" / "data"
    data.mkdir(parents=True)
    data.chmod(0o700)
    run_as = {}
    if AS_ROOT:
        localdb._prepare_for_system_user(base, data)
        run_as = {"user": localdb.system_user()}
    log = base / "server.log"

    def run(*args: str) -> None:
        subprocess.run(
            list(args), check=True, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL, timeout=120, **run_as
        )  # type: ignore[call-overload]

    run(localdb._bin("initdb"), "-D", str(data), "--auth=trust", "--encoding=UTF8", "--locale=C", "-U", "postgres")
    (base / "port").write_text(str(port))
    run(
        localdb._bin("pg_ctl"),
        "-D",
        str(data),
        "-l",
        str(log),
        "-w",
        "-o",
        f"-h 127.0.0.1 -p {port} -k '' -c fsync=off -c synchronous_commit=off",
        "start",
    )
    with psycopg.connect(passwordless(port), autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (note text)")
        conn.execute("INSERT INTO kept VALUES ('from the old version')")


@pytest.mark.parametrize("running", [True, False], ids=["running", "stopped"])
def test_an_old_trust_data_folder_is_upgraded_in_place(home: Path, running: bool) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    make_legacy_server(home, port)
    if not running:
        localdb.stop(home)
    upgraded = tweetlake(home, "db", "start")
    assert upgraded.returncode == 0, upgraded.stderr
    assert "password authentication only" in upgraded.stderr and "Traceback" not in upgraded.stderr
    url = db_url(home)
    assert port_of(url) == port
    assert "password" in refuses(passwordless(port))
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT note FROM kept").fetchall() == [("from the old version",)]
        assert conn.execute("SHOW fsync").fetchone() == ("on",)
    assert stat.S_IMODE((home / "pg" / "password").stat().st_mode) == 0o600
    assert hba_rules(home) == [["host", "all", "all", "127.0.0.1/32", "scram-sha-256"]]
    tweetlake(home, "db", "stop")
    again = tweetlake(home, "db", "start")
    assert again.stderr == "" and db_url(home) == url  # upgraded once; the password stays


# -- a fresh machine: the server user does not exist yet --------------------------------------
@only_as_root
def test_db_start_as_root_creates_a_missing_server_user(home: Path) -> None:
    import pwd

    name = f"tl_fresh_{os.getpid()}"
    with pytest.raises(KeyError):
        pwd.getpwnam(name)  # the machine has never seen this user, as a new VM never saw embedded_postgres
    env = {"TWEETLAKE_PG_SYSTEM_USER": name}
    try:
        started = tweetlake(home, "db", "start", env={**child_env(home), **env})
        assert started.returncode == 0, started.stderr
        assert "Traceback" not in started.stderr and f"creating the system user {name!r}" in started.stderr
        entry = pwd.getpwnam(name)
        assert entry.pw_uid != 0 and entry.pw_gid != 0
        url = tweetlake(home, "db", "url", env={**child_env(home), **env})
        assert url.returncode == 0, url.stderr
        with psycopg.connect(url.stdout.strip(), connect_timeout=10) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
            assert conn.execute("SELECT pg_postmaster_start_time() IS NOT NULL").fetchone() == (True,)
        assert os.stat(f"/proc/{postmaster_pid(home)}").st_uid == entry.pw_uid  # runs as the new user
        stopped = tweetlake(home, "db", "stop", env={**child_env(home), **env})
        assert (stopped.returncode, stopped.stdout.strip()) == (0, "stopped"), stopped.stderr
    finally:
        with_env = {**os.environ, **env}
        subprocess.run(
            [
                sys.executable,
                "-c",
                f"from tweetlake import localdb; localdb.stop(__import__('pathlib').Path({str(home)!r}))",
            ],
            env=with_env,
            capture_output=True,
            timeout=120,
        )
        subprocess.run(["userdel", name], capture_output=True, timeout=60)
        subprocess.run(["groupdel", name], capture_output=True, timeout=60)
    with pytest.raises(KeyError):
        pwd.getpwnam(name)


def test_one_home_wherever_you_stand_and_a_new_server_is_announced_once(home: Path) -> None:
    """No ``TWEETLAKE_HOME``: the per-user default (here under ``XDG_DATA_HOME``), the same from any
    folder; the first start says it created a server, later starts do not."""
    xdg = home.parent / "xdg"
    env = {k: v for k, v in child_env(home).items() if k != "TWEETLAKE_HOME"} | {"XDG_DATA_HOME": str(xdg)}
    here, there = home.parent / "here", home.parent / "there"
    here.mkdir()
    there.mkdir()
    (here / ".tweetlake" / "pg" / "data").mkdir(parents=True)  # an older tweetlake's home in this folder
    first = tweetlake(home, "db", "start", env=env, cwd=here)
    try:
        assert first.returncode == 0, first.stderr
        created = [line for line in first.stderr.splitlines() if "created a new embedded PostgreSQL" in line]
        assert len(created) == 1 and f"in {xdg / 'tweetlake' / 'pg'} " in created[0]
        assert f"{here / '.tweetlake'} (an older default home) is not used" in first.stderr
        again = tweetlake(home, "db", "start", env=env, cwd=there)
        assert again.returncode == 0 and "created" not in again.stderr
        urls = {tweetlake(home, "db", "url", env=env, cwd=cwd).stdout for cwd in (here, there)}
        assert len(urls) == 1 and urls != {""}
        assert not (there / ".tweetlake").exists()
    finally:
        localdb.stop(xdg / "tweetlake")
