"""Prefect's API for a run: ``PREFECT_API_URL``, a long-lived local server, or a temporary one.

The temporary server is Prefect's own app (``prefect.server.api.server.create_app`` with its
public ``ephemeral`` and ``final`` arguments, through :func:`ephemeral_app`) under uvicorn, as
Prefect's ``SubprocessASGIServer`` runs it, started here instead because:

* it is started *before* Prefect is imported in this process, so its start-up (which creates
  the database on a fresh ``PREFECT_HOME``) overlaps the imports and the data validation;
* its start-up timeout is churn's (``CHURN_PREFECT_START_TIMEOUT``, wall-clock seconds), not
  Prefect's 20 s, and the wait says what it is waiting for;
* the kernel stops it if ``churn run`` is killed (a parent-death signal), so it never outlives
  the command that started it.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import closing, suppress
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Final

from churn.errors import ChurnError
from churn.orphans import parent_death_hook
from churn.settings import ChurnSettings, load_settings

START_TIMEOUT_ENV: Final = "CHURN_PREFECT_START_TIMEOUT"
NO_BLOCK_REGISTRATION: Final = (
    ("PREFECT_SERVER_REGISTER_BLOCKS_ON_START", "false"),
    ("PREFECT_SERVER_MEMOIZE_BLOCK_AUTO_REGISTRATION", "false"),
)
"""Prefect's settings (a user's own environment wins) that spare a temporary server the
registration of every block type Prefect ships (about 2 CPU s at each start, before it
answers): a run's flow and task runs use none; a long-lived server (``prefect server start``)
on the same home registers them when it starts."""


class PrefectServerError(ChurnError):
    """The temporary Prefect server did not start (exit code 1, with what to do)."""


def healthy(api_url: str, *, timeout: float = 0.5) -> bool:
    """Whether a Prefect API answers ``/health`` at ``api_url`` (``.../api``)."""
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout) as reply:
            return bool(reply.status == 200)
    except (OSError, urllib.error.URLError, ValueError):
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _prefect_dir() -> Path:
    """Prefect's package folder, found without importing Prefect (that costs seconds)."""
    found = importlib.util.find_spec("prefect")
    if found is None or not found.submodule_search_locations:
        raise PrefectServerError("Prefect is not installed: pip install -e .")
    return Path(next(iter(found.submodule_search_locations)))


def ephemeral_app() -> Any:
    """Prefect's API app for one command (uvicorn's factory in the server's process): no UI and
    no background services (``ephemeral``), the last app that process builds (``final``).

    A fresh ``PREFECT_HOME``'s database is created first by :func:`create_fresh_database`."""
    template = database_template(load_settings())
    if template is not None:
        create_fresh_database(template.database)
    from prefect.server.api.server import create_app

    return create_app(ephemeral=True, final=True)


def create_fresh_database(database: Path) -> bool:
    """Create Prefect's SQLite database at ``database`` if it does not exist yet, with
    Prefect's own migrations replayed on a synchronous connection (about half the CPU of
    Prefect's start-up path, see :func:`churn.private_apis.migrate_sqlite`); whether
    it did. Written beside it and linked into place, so a database another process made
    meanwhile is kept; on any failure Prefect's start-up migrates as it always does."""
    if database.exists():
        return False
    from churn.private_apis import migrate_sqlite

    database.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{database.name}.", dir=database.parent)
    os.close(fd)
    partial = Path(name)
    try:
        partial.unlink()  # SQLite creates it
        migrate_sqlite(partial, *prefect_sqlite_migrations())
        return _link_new(partial, database)
    except Exception as exc:  # noqa: BLE001 - Prefect's own path still creates the database
        print(f"churn: Prefect migrates its database itself ({exc!r})", file=sys.stderr)
        return False
    finally:
        partial.unlink(missing_ok=True)


def prefect_sqlite_migrations() -> tuple[Any, Path, Any]:
    """Prefect's Alembic configuration, its SQLite migrations' folder and its ORM metadata."""
    from prefect.server.database.alembic_commands import alembic_config
    from prefect.server.database.orm_models import AioSqliteORMConfiguration, Base

    return alembic_config(), AioSqliteORMConfiguration().versions_dir, Base.metadata


def _link_new(source: Path, target: Path) -> bool:
    """Link ``source`` at ``target`` unless ``target`` exists (atomic); whether it did."""
    try:
        target.hardlink_to(source)
    except FileExistsError:
        return False
    return True


@dataclass
class TemporaryServer:
    """Prefect's API server in a child process, for the length of one command."""

    port: int = field(default_factory=_free_port)
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    _stderr: Any = field(
        default_factory=lambda: tempfile.TemporaryFile(prefix="churn-prefect-")  # noqa: SIM115
    )
    """Where the server writes its errors (closed by :meth:`stop`)."""

    @property
    def api_url(self) -> str:
        """``http://127.0.0.1:PORT/api``."""
        return f"http://127.0.0.1:{self.port}/api"

    def start(self) -> None:
        """Start the server process and return at once (see :meth:`wait_ready`)."""
        _prefect_dir()  # a clear message now when Prefect is missing
        environment = {**dict(NO_BLOCK_REGISTRATION), **os.environ, "PREFECT_UI_ENABLED": "0"}
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "churn.flows.server:ephemeral_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "error",
                "--lifespan",
                "on",
                "--timeout-graceful-shutdown",
                "2",
            ],
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            preexec_fn=parent_death_hook(signal.SIGTERM),
        )

    def wait_ready(self, timeout: float, *, say: Callable[[str], None] = lambda _: None) -> float:
        """Block until ``/health`` answers; return the seconds since :meth:`start`.

        Raises:
            PrefectServerError: The process exited, or ``timeout`` wall-clock seconds passed;
                the message says what to do.
        """
        assert self.process is not None, "start() first"
        deadline = self.started_at + timeout
        said_slow = False
        while True:
            if healthy(self.api_url, timeout=1.0):
                return time.monotonic() - self.started_at
            code = self.process.poll()
            if code is not None:
                raise PrefectServerError(self._failure(f"its process exited with code {code}"))
            now = time.monotonic()
            if now >= deadline:
                message = self._failure(f"it did not answer in {timeout:g} s")
                self.stop()
                raise PrefectServerError(message)
            if not said_slow and now - self.started_at > 10:
                say("still starting Prefect's local server")
                said_slow = True
            time.sleep(0.1)

    def _failure(self, what: str) -> str:
        self._stderr.seek(0)
        stderr = self._stderr.read()[-2000:]
        detail = f"\n  server said: {stderr.decode(errors='replace').strip()}" if stderr else ""
        return (
            f"Prefect's temporary local server did not start: {what}.{detail}\n"
            "  - try again (a busy machine can be slow to create Prefect's database);\n"
            f"  - or wait longer: {START_TIMEOUT_ENV}=600 churn run ...;\n"
            "  - or use a running server: `churn prefect-server` in another terminal, or\n"
            "    PREFECT_API_URL=http://HOST:4200/api churn run ..."
        )

    def stop(self) -> None:
        """Terminate the server and wait for it (killed after 10 s)."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._stderr.close()


def _profile(settings: ChurnSettings) -> dict[str, Any]:
    """The active Prefect profile's settings, read without importing Prefect (the profile
    file is TOML, as ``prefect config set`` writes it); empty when there is none."""
    home = settings.prefect_home.expanduser()
    path = (settings.prefect_profiles_path or home / "profiles.toml").expanduser()
    try:
        profiles = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    active = settings.prefect_profile or profiles.get("active") or "ephemeral"
    profile = profiles.get("profiles", {}).get(active, {})
    return profile if isinstance(profile, dict) else {}


def configured_api_url(settings: ChurnSettings | None = None) -> str | None:
    """``PREFECT_API_URL`` from the environment, else from the active Prefect profile."""
    settings = settings or load_settings()
    url = settings.prefect_api_url.strip()
    if url:
        return url
    value = _profile(settings).get("PREFECT_API_URL")
    return str(value) if value else None


DATABASE_URL_SETTINGS: Final = (
    "PREFECT_SERVER_DATABASE_CONNECTION_URL",
    "PREFECT_API_DATABASE_CONNECTION_URL",
)


@dataclass(frozen=True)
class DatabaseTemplate:
    """An empty Prefect database, migrated once per Prefect version and kept outside any
    ``PREFECT_HOME``: a fresh home starts from a copy instead of running Prefect's hundreds
    of migrations again (most of a first start's seconds).

    The template is what Prefect's own start-up wrote (migrations, block types), copied with
    SQLite's backup API as soon as the server that made it answered, before any run.
    """

    database: Path
    """The temporary server's database: ``PREFECT_HOME/prefect.db``."""
    template: Path
    """``CHURN_PREFECT_TEMPLATE_DIR/prefect-VERSION.db``."""

    def fill(self) -> bool:
        """Copy the template to a database that does not exist yet; whether it was copied
        (never over a database another process created meanwhile)."""
        if self.database.exists() or not self.template.is_file():
            return False
        self.database.parent.mkdir(parents=True, exist_ok=True)
        return _copy_database(self.template, self.database, replace=False)

    def keep(self) -> None:
        """Save the database (just created by Prefect's start-up) as the template, unless
        one exists; a failure only costs the next fresh home its migrations."""
        if self.template.exists() or not self.database.is_file():
            return
        with suppress(OSError, sqlite3.Error):
            self.template.parent.mkdir(parents=True, exist_ok=True)
            _copy_database(self.database, self.template, replace=True)


def _copy_database(source: Path, target: Path, *, replace: bool) -> bool:
    """A consistent copy of the SQLite database ``source`` (its WAL included) at ``target``, in
    one file, written beside it and moved into place; ``replace=False`` keeps an existing
    target."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    partial = Path(name)
    try:
        with (
            closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as reading,
            closing(sqlite3.connect(partial)) as writing,
        ):
            reading.backup(writing)
            writing.execute("PRAGMA journal_mode=DELETE")  # one file (Prefect sets WAL again)
        if replace:
            partial.replace(target)
            return True
        return _link_new(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def database_template(settings: ChurnSettings) -> DatabaseTemplate | None:
    """The template for a temporary server's database; None when Prefect's database is
    configured elsewhere (``PREFECT_SERVER_DATABASE_CONNECTION_URL``, in the environment or
    the active profile) or Prefect's version is unknown."""
    profile = _profile(settings)
    if settings.prefect_database_url is not None or any(
        profile.get(name) for name in DATABASE_URL_SETTINGS
    ):
        return None
    try:
        version = metadata.version("prefect")
    except metadata.PackageNotFoundError:
        return None
    return DatabaseTemplate(
        database=settings.prefect_home.expanduser() / "prefect.db",
        template=settings.prefect_template_dir.expanduser() / f"prefect-{version}.db",
    )


def long_lived_url(settings: ChurnSettings | None = None) -> str | None:
    """The URL of a local long-lived server (``churn prefect-server``), if one answers."""
    url = (settings or load_settings()).prefect_local_url
    return url if healthy(url, timeout=0.3) else None
