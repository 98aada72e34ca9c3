"""A throwaway PostgreSQL server for the database tests (Debian's ``postgresql`` package).

One server per test session (per xdist worker; the tests that use it share the
``postgres`` xdist group, so in practice one worker starts one). The cluster lives in a fresh
folder under the system temp directory: ``initdb`` with a superuser ``churn`` whose password is
random and checked by ``scram-sha-256`` (for TCP and the unix socket alike, so a wrong password
is refused as it would be in production), then ``postgres`` itself is started as a child of the
test process (not daemonised by ``pg_ctl``) listening on ``127.0.0.1`` at a free port and on a
socket in that folder. It dies with the test process (``PR_SET_PDEATHSIG``), and the fixture
stops it (SIGINT, a fast shutdown) and removes the folder at session end, also when tests fail.

``initdb`` and ``postgres`` refuse to run as root, and the tests run as root here: the server
then runs as the unprivileged user ``nobody`` (``subprocess``'s ``user=``/``group=``, i.e.
``setuid`` in the child), and the folder is created by root and handed to ``nobody`` with
``chown``. Run as any other user, the server runs as that user.

A missing ``initdb`` is a skip locally and a failure in CI (``.ci/run`` installs the package).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from churn.orphans import parent_death_hook

POSTGRES_BIN_DIRS = tuple(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True))
"""Debian's ``postgresql`` package puts initdb and postgres here (newest major first)."""
UNPRIVILEGED_USER = "nobody"
START_TIMEOUT = 30.0


@dataclass(frozen=True)
class PostgresServer:
    """Where the throwaway server listens and how to log in."""

    host: str
    port: int
    user: str
    password: str
    database: str
    socket_dir: Path

    @property
    def url(self) -> str:
        """A libpq URL with the password (what a user puts in ``CHURN_DATABASE_URL``)."""
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{self.database}"

    def secret_url(self) -> SecretStr:
        """:attr:`url` as churn holds it."""
        return SecretStr(self.url)

    def execute(self, *statements: str) -> None:
        """Run SQL statements in one transaction (fixture setup; not the code under test)."""
        import adbc_driver_postgresql.dbapi as dbapi

        with dbapi.connect(self.url) as connection, connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
            connection.commit()

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """The rows of one query."""
        import adbc_driver_postgresql.dbapi as dbapi

        with dbapi.connect(self.url) as connection, connection.cursor() as cursor:
            cursor.execute(sql)
            rows: list[tuple[Any, ...]] = cursor.fetchall()
            return rows


def _bin_dir() -> Path | None:
    for folder in POSTGRES_BIN_DIRS:
        if (folder / "initdb").is_file() and (folder / "postgres").is_file():
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _as_server_user() -> dict[str, Any]:
    """``subprocess`` options that drop root to :data:`UNPRIVILEGED_USER` (none otherwise)."""
    if os.geteuid() != 0:
        return {}
    entry = pwd.getpwnam(UNPRIVILEGED_USER)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _wait_ready(server: PostgresServer, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"postgres exited ({process.returncode}): {log.read_text()}")
        with contextlib.suppress(Exception):
            server.query("SELECT 1")
            return
        time.sleep(0.1)
    raise RuntimeError(
        f"postgres did not accept connections in {START_TIMEOUT} s: {log.read_text()}"
    )


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Start a throwaway cluster; stop it and remove its folder on exit."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed (apt-get install postgresql)")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="churn-pg-"))
    process: subprocess.Popen[bytes] | None = None
    try:
        as_user = _as_server_user()
        if as_user:
            os.chown(root, as_user["user"], as_user["group"])
        password = secrets.token_urlsafe(18)
        (root / "pwfile").write_text(password + "\n")
        if as_user:
            os.chown(root / "pwfile", as_user["user"], as_user["group"])
        subprocess.run(
            [bin_dir / "initdb", "-D", root / "data", "-U", "churn", "--pwfile", root / "pwfile",
             "-A", "scram-sha-256", "-E", "UTF8", "--locale", "C", "--no-sync"],
            check=True, capture_output=True, cwd=root, **as_user,
        )  # fmt: skip
        server = PostgresServer("127.0.0.1", _free_port(), "churn", password, "postgres", root)
        log = root / "postgres.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [bin_dir / "postgres", "-D", root / "data", "-p", str(server.port),
                 "-k", root, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                 "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                 "-c", "max_connections=30"],
                stdout=sink, stderr=subprocess.STDOUT, cwd=root,
                preexec_fn=parent_death_hook(signal.SIGTERM), **as_user,
            )  # fmt: skip
        _wait_ready(server, process, log)
        yield server
    finally:
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)  # fast shutdown
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(root, ignore_errors=True)
