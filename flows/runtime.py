"""Where the training flow runs: the Prefect API it reports to and the workers it trains in."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_NATIVE_LIMITS: list[Any] = []
NATIVE_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
WORKERS_VARIABLE = "CHURN_WORKERS"


def limit_native_threads() -> None:
    """Worker initializer: one BLAS/OpenMP thread per worker process.

    Each worker trains one candidate on one core; letting OpenBLAS or OpenMP (HistGradient
    Boosting, XGBoost) spread over every core as well oversubscribes the machine, and OpenMP's
    spin-waiting then makes fits 10-100x slower (measured: 3.9 s became 347 s for hgb). The
    environment covers libraries loaded later; threadpoolctl covers those already loaded.
    """
    for variable in NATIVE_THREAD_VARIABLES:
        os.environ[variable] = "1"
    import sklearn.ensemble  # noqa: F401 - load scikit-learn's OpenMP runtime before limiting
    from threadpoolctl import threadpool_limits

    _NATIVE_LIMITS.append(threadpool_limits(limits=1))


def training_task_runner() -> Any:
    """A process pool with one worker per core: candidates train in true parallel.

    Threads do not help: the pipelines hold the GIL for much of a fit (measured on the Telco
    candidates: two threads took longer than one).
    """
    from prefect.task_runners import ProcessPoolTaskRunner

    return ProcessPoolTaskRunner(max_workers=worker_count(), initializer=limit_native_threads)


def worker_count() -> int:
    """``CHURN_WORKERS`` when set, else one worker per core.

    ``os.cpu_count()`` sees the node's cores, not a container's CPU limit: the image's
    entrypoint sets ``CHURN_WORKERS`` from the cgroup quota.
    """
    raw = os.environ.get(WORKERS_VARIABLE, "").strip()
    if not raw:
        return max(1, os.cpu_count() or 1)
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{WORKERS_VARIABLE} must be a whole number >= 1, got {raw!r}")
    return int(raw)


@contextmanager
def prefect_api() -> Iterator[str]:
    """Use ``PREFECT_API_URL`` when set; else start Prefect's temporary local server.

    Prefect would start that server by itself, but only in this process; naming it in the
    settings lets the worker processes report to the same server instead of each starting one.
    Yields the API URL.
    """
    from prefect.settings import PREFECT_API_URL, temporary_settings

    configured = PREFECT_API_URL.value()
    if configured:
        yield str(configured)
        return
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start()
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            try:
                yield server.api_url
            finally:
                _drain_prefect_workers()
    finally:
        server.stop()


def _drain_prefect_workers() -> None:
    """Send queued logs and events while the server still listens (as Prefect's harness does)."""
    import inspect

    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.utilities.asyncutils import run_coro_as_sync

    async def drain() -> None:
        for result in (APILogWorker.instance().drain(), EventsWorker.drain_all()):
            if inspect.isawaitable(result):
                await result

    run_coro_as_sync(drain())
