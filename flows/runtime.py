"""How ``churn run`` starts: everything that can fail fast first, the slow starts overlapped.

1. The spec is loaded, the registry's run lock taken and the champion's model checked
   (:func:`churn.run.open_run`): a bad spec, a second run or a damaged champion ends here,
   before any server or worker process exists.
2. Prefect's API is found (``PREFECT_API_URL``, a long-lived local server) or a temporary
   server is started, and the training pool's fork server starts importing the training stack;
   both run in other processes while this one validates the data and imports Prefect.
3. The flow runs the sequence; then the pool and the server are stopped. If this process is
   killed instead, the kernel stops them (see :mod:`churn.orphans`).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from churn.run import open_run, validate
from churn.run.pool import start_training_pool
from flows.server import (
    TemporaryServer,
    configured_api_url,
    long_lived_url,
    start_timeout,
)

Say = Callable[[str], None]


def say_on_stderr(message: str) -> None:
    """Progress for a person at a terminal."""
    print(message, file=sys.stderr, flush=True)


def _quiet_prefect_defaults() -> None:
    """Offline hygiene before Prefect is imported, and churn's logs in Prefect's."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "churn")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
    logging.getLogger("churn").setLevel(logging.INFO)


@contextmanager
def prefect_api(say: Say) -> Iterator[Callable[[], str]]:
    """Find or start Prefect's API; yields a function that waits for it and returns its URL."""
    url = configured_api_url() or long_lived_url()
    if url is not None:
        yield lambda: url
        return
    fresh = not (_prefect_home() / "prefect.db").exists()
    say(
        "starting Prefect's local server"
        + (" (first start creates its database)" if fresh else "")
        + "; keep one running with `churn prefect-server` to skip this"
    )
    server = TemporaryServer()
    server.start()
    timeout = start_timeout()
    try:
        yield lambda: (server.wait_ready(timeout, say=say), server.api_url)[1]
    finally:
        server.stop()


def _prefect_home() -> Path:
    return Path(os.environ.get("PREFECT_HOME", "~/.prefect")).expanduser()


def run_training(
    spec_path: str, home: str | None = None, *, say: Say = say_on_stderr
) -> dict[str, Any]:
    """``churn run``: check, start Prefect and the workers together, run the flow.

    Raises:
        SpecError, DataContractError, RegistryError: before the flow starts.
        GateFailure: the gates were not met (the flow run is Failed).
        PrefectServerError: the temporary server did not start (the message says what to do).
    """
    _quiet_prefect_defaults()
    started = time.monotonic()
    with open_run(spec_path, home) as ctx, prefect_api(say) as api_url:
        pool = start_training_pool(len(ctx.spec.models))
        try:
            prepared = validate(ctx)
            from prefect.settings import PREFECT_API_URL, temporary_settings

            from flows import train

            url = api_url()
            say(f"Prefect API {url} ready after {time.monotonic() - started:.1f} s")
            with temporary_settings(updates={PREFECT_API_URL: url}):
                try:
                    manifest: dict[str, Any] = train.run_flow(spec_path, home, prepared, pool)
                    return manifest
                finally:
                    _drain_prefect_workers()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


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
