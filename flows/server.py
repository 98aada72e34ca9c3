"""Prefect's API for a run: ``PREFECT_API_URL``, a long-lived local server, or a temporary one.

The temporary server is Prefect's own (``prefect.server.api.server:create_app`` under uvicorn,
as Prefect's ``SubprocessASGIServer`` runs it), started here instead because:

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
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from churn.errors import ChurnError
from churn.orphans import parent_death_hook

START_TIMEOUT_ENV: Final = "CHURN_PREFECT_START_TIMEOUT"
DEFAULT_START_TIMEOUT: Final = 180.0
LONG_LIVED_URL_ENV: Final = "CHURN_PREFECT_LOCAL_URL"
DEFAULT_LONG_LIVED_URL: Final = "http://127.0.0.1:4200/api"
"""Where ``prefect server start`` (or ``churn prefect-server``) listens by default."""


class PrefectServerError(ChurnError):
    """The temporary Prefect server did not start (exit code 1, with what to do)."""


def start_timeout() -> float:
    """Seconds to wait for the temporary server (``CHURN_PREFECT_START_TIMEOUT``, default 180)."""
    raw = os.environ.get(START_TIMEOUT_ENV, "")
    try:
        value = float(raw) if raw else DEFAULT_START_TIMEOUT
    except ValueError:
        raise PrefectServerError(
            f"{START_TIMEOUT_ENV}={raw!r}: expected a number of seconds"
        ) from None
    if value <= 0:
        raise PrefectServerError(f"{START_TIMEOUT_ENV}={raw!r}: expected a positive number")
    return value


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
        environment = {
            **os.environ,
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
        }
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                str(_prefect_dir().parent),
                "--factory",
                "prefect.server.api.server:create_app",
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
                say("still starting Prefect's local server (a first start creates its database)")
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


def configured_api_url() -> str | None:
    """``PREFECT_API_URL`` from the environment, else from the active Prefect profile.

    Read without importing Prefect: the profile file is TOML (``prefect config set`` writes it).
    """
    url = os.environ.get("PREFECT_API_URL", "").strip()
    if url:
        return url
    home = Path(os.environ.get("PREFECT_HOME", "~/.prefect")).expanduser()
    path = Path(os.environ.get("PREFECT_PROFILES_PATH", home / "profiles.toml")).expanduser()
    try:
        profiles = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    active = os.environ.get("PREFECT_PROFILE") or profiles.get("active") or "ephemeral"
    profile = profiles.get("profiles", {}).get(active, {})
    value = profile.get("PREFECT_API_URL") if isinstance(profile, dict) else None
    return str(value) if value else None


def long_lived_url() -> str | None:
    """The URL of a local long-lived server (``churn prefect-server``), if one answers."""
    url = os.environ.get(LONG_LIVED_URL_ENV, DEFAULT_LONG_LIVED_URL)
    return url if healthy(url, timeout=0.3) else None
