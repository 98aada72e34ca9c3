"""Serving with several worker processes: ``churn serve --workers N``.

uvicorn's supervisor starts N processes that share the listening socket; each one builds the
app (:func:`worker_app`), loads the champion and hot-reloads it on its own. Prometheus metrics
are kept in prometheus-client's multiprocess mode: every worker writes its values to memory-
mapped files in ``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics``, whichever worker answers, adds up
the counters and histograms of all of them. The folder is emptied when ``churn serve`` starts
(a fresh one under the temp folder, which a read-only container still has, unless
``PROMETHEUS_MULTIPROC_DIR`` names one), a worker that exits removes its live gauges, and the
folder is removed when ``churn serve`` ends (or, after a ``kill -9``, by the next start).

No worker outlives ``churn serve``: the supervisor stops its workers when it is stopped, and each
worker asks Linux to send it SIGTERM when its parent dies (``PR_SET_PDEATHSIG``), so even a
``kill -9`` of ``churn serve`` ends them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from churn.api.server_limits import server_limits
from churn.orphans import die_with_parent, process_running
from churn.settings import load_settings

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
PARENT_ENV = "CHURN_SUPERVISOR_PID"
FOLDER_PREFIX = "churn-metrics-"
"""Metric folders are named ``churn-metrics-<pid of churn serve>-<random>``."""
PROTOCOL = "churn.api.protocol:BoundedHttpToolsProtocol"
"""The HTTP protocol every process serves with (by name: ``--workers N`` processes import it)."""
HEALTHCHECK_SECONDS = 30
"""How long the supervisor waits for a worker to answer its ping before restarting it
(uvicorn's 5 s default restarts workers that are still importing on a busy machine)."""


def default_workers() -> int:
    """``CHURN_API_WORKERS`` if set, else one worker per CPU of the container (see
    :meth:`churn.settings.ChurnSettings.serving_workers`).

    Raises:
        SettingsError: ``CHURN_API_WORKERS`` is not a whole number of at least 1.
    """
    return load_settings().serving_workers()


def run_server(host: str, port: int, workers: int, *, access_log: bool = False) -> None:
    """Serve with ``workers`` processes until stopped (one process: no supervisor); a line per
    request only with ``access_log`` (formatting and writing it costs every request)."""
    import uvicorn

    bounded: dict[str, Any] = {
        "http": PROTOCOL,
        "timeout_keep_alive": server_limits().idle_timeout,
        "access_log": access_log,
    }
    if workers <= 1:
        uvicorn.run("churn.api.app:create_app", factory=True, host=host, port=port, **bounded)
        return
    folder, owned = _metrics_folder()
    os.environ[MULTIPROC_ENV] = str(folder)
    os.environ[PARENT_ENV] = str(os.getpid())
    try:
        uvicorn.run(
            "churn.api.workers:worker_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            timeout_worker_healthcheck=HEALTHCHECK_SECONDS,
            **bounded,
        )
    finally:
        if owned:
            shutil.rmtree(folder, ignore_errors=True)


def _metrics_folder() -> tuple[Path, bool]:
    """An empty folder for the workers' metric files, and whether ``run`` should remove it."""
    named = load_settings().prometheus_multiproc_dir
    if named is None:
        _remove_orphaned_folders(Path(tempfile.gettempdir()))
        return Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-")), True
    folder = Path(named)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    return folder, False


def _remove_orphaned_folders(temp: Path) -> None:
    """Remove the metric folders of ``churn serve`` processes that were killed (``kill -9``)."""
    for folder in temp.glob(f"{FOLDER_PREFIX}*-*"):
        pid = folder.name.removeprefix(FOLDER_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not process_running(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def worker_app() -> FastAPI:
    """The app of one worker process: it ends with its parent and cleans its metric files."""
    _die_with_parent()
    from churn.api.app import create_app

    app = create_app()
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            async with inner(app):
                yield
        finally:
            from prometheus_client import multiprocess

            drift = app.state.churn.drift
            if drift is not None:
                drift.forget()
            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

    app.router.lifespan_context = lifespan
    return app


def _die_with_parent() -> None:
    """SIGTERM when the parent dies (so the worker shuts down and drops its live gauges); exit
    now if it already has (then this process was re-parented before it could ask)."""
    die_with_parent(signal.SIGTERM)
    parent = load_settings().supervisor_pid
    if parent is not None and os.getppid() != parent:
        raise SystemExit(f"churn serve (pid {parent}) has ended; this worker stops too")
