"""How ``churn run`` starts: everything that can fail fast first, the slow starts overlapped.

1. The spec is loaded, the registry's run lock taken and the champion's model checked
   (:func:`churn.run.open_run`): a bad spec, a second run or a damaged champion ends here,
   before any server or worker process exists.
2. Prefect's API is found (``PREFECT_API_URL``, a long-lived local server) or a temporary
   server is started, and the training pool's fork server starts importing the training stack
   (or, when a Dask scheduler is named, this process connects to it: an unreachable one ends the
   run with exit 1); both run in other processes while this one validates the data and imports
   Prefect.
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

from churn.run.cluster import named_scheduler
from churn.run.pool import open_pool
from churn.run.preflight import open_run, validate
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
def prefect_api(say: Say) -> Iterator[Callable[[], dict[str, Any]]]:
    """Find or start Prefect's API; yields a function that waits for it and returns the
    Prefect settings to run under (its URL, and no heartbeats for a temporary server)."""
    url = configured_api_url() or long_lived_url()
    if url is not None:
        yield lambda: {"PREFECT_API_URL": url}
        return
    fresh = not (_prefect_home() / "prefect.db").exists()
    timeout = start_timeout()
    server = TemporaryServer()
    server.start()  # in the background: the data is validated meanwhile

    def ready() -> dict[str, Any]:
        say(
            "starting Prefect's local server"
            + (" (first start creates its database)" if fresh else "")
            + "; keep one running with `churn prefect-server` to skip this"
        )
        server.wait_ready(timeout, say=say)
        # Heartbeats let a long-lived server notice a crashed run; this one dies with the run,
        # and the flow's exit would wait up to 2 s for the heartbeat thread.
        return {"PREFECT_API_URL": server.api_url, "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": None}

    try:
        yield ready
    finally:
        server.stop()


def _prefect_home() -> Path:
    return Path(os.environ.get("PREFECT_HOME", "~/.prefect")).expanduser()


class Stopwatch:
    """Seconds spent in each stage of the start-up and the run, for the closing line."""

    def __init__(self) -> None:
        self.stages: dict[str, float] = {}
        self._last = self._start = time.monotonic()

    def mark(self, stage: str) -> None:
        """Close ``stage`` now."""
        now = time.monotonic()
        self.stages[stage] = now - self._last
        self._last = now

    def line(self) -> str:
        """``stages: checks 0.9 s, data 0.3 s, ...; total 21.2 s``."""
        parts = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.stages.items())
        return f"stages: {parts}; total {time.monotonic() - self._start:.1f} s"


def run_training(
    spec_path: str, home: str | None = None, *, say: Say = say_on_stderr
) -> dict[str, Any]:
    """``churn run``: check, start Prefect and the workers together, run the flow.

    Raises:
        SpecError, DataContractError, RegistryError, ClusterError: before the flow starts.
        GateFailure: the gates were not met (the flow run is Failed).
        PrefectServerError: the temporary server did not start (the message says what to do).
    """
    _quiet_prefect_defaults()
    watch = Stopwatch()
    try:
        with open_run(spec_path, home) as ctx:
            scheduler = named_scheduler(ctx.spec)  # a malformed address ends the run here
            watch.mark("checks")
            with prefect_api(say) as prefect_settings:
                if scheduler is not None:
                    say(f"training on the Dask cluster at {scheduler.address} ({scheduler.source})")
                pool = open_pool(len(ctx.spec.models), scheduler)
                try:
                    prepared = validate(ctx)
                    watch.mark("data")
                    import prefect.settings

                    from flows import train

                    watch.mark("imports")
                    settings = prefect_settings()
                    watch.mark("waiting for Prefect")
                    say(f"Prefect API {settings['PREFECT_API_URL']}")
                    updates = {
                        getattr(prefect.settings, name): value for name, value in settings.items()
                    }
                    with prefect.settings.temporary_settings(updates=updates):
                        try:
                            manifest: dict[str, Any] = train.run_flow(
                                spec_path, home, prepared, pool
                            )
                            return manifest
                        finally:
                            _drain_prefect_workers()
                            watch.mark("flow")
                finally:
                    pool.shutdown(wait=True, cancel_futures=True)
    finally:
        if "flow" in watch.stages:
            watch.mark("stop")
            say(watch.line())


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
