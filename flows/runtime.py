"""How ``churn run`` runs under Prefect: :func:`churn.run.compose.compose_run` with Prefect as
its orchestrator.

The composition takes the run lock, loads the spec and checks the champion first; then
:func:`prefect_steps` finds Prefect's API (``PREFECT_API_URL``, a long-lived local server) or
starts a temporary server, in another process while this one opens the training pool, validates
the data and imports Prefect; the flow (:func:`churn.flows.train.run_flow`) runs the sequence; then
the pool and the server are stopped. If this process is killed instead, the kernel stops them
(see :mod:`churn.orphans`).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from churn.flows.server import (
    TemporaryServer,
    configured_api_url,
    database_template,
    long_lived_url,
)
from churn.registry.record import RunManifest
from churn.run.compose import Execute, RunOutcome, Say, compose_run
from churn.settings import ChurnSettings


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
def prefect_api(say: Say, settings: ChurnSettings) -> Iterator[Callable[[], dict[str, Any]]]:
    """Find or start Prefect's API; yields a function that waits for it and returns the
    Prefect settings to run under (its URL, and no heartbeats for a temporary server)."""
    url = configured_api_url(settings) or long_lived_url(settings)
    if url is not None:
        yield lambda: {"PREFECT_API_URL": url}
        return
    template = database_template(settings)
    fresh = template is not None and not template.database.exists()
    copied = fresh and template is not None and template.fill()
    timeout = settings.prefect_start_timeout
    server = TemporaryServer()
    server.start()  # in the background: the data is validated meanwhile

    def ready() -> dict[str, Any]:
        say(
            "starting Prefect's local server"
            + (" (its database copied from churn's template)" if copied else "")
            + (" (first start creates its database)" if fresh and not copied else "")
            + "; keep one running with `churn prefect-server` to skip this"
        )
        server.wait_ready(timeout, say=say)
        if fresh and not copied and template is not None:
            template.keep()  # before any run is written: the next fresh home copies it
        # Heartbeats let a long-lived server notice a crashed run; this one dies with the run,
        # so they would be events for nobody.
        return {"PREFECT_API_URL": server.api_url, "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": None}

    try:
        yield ready
    finally:
        server.stop()


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


@contextmanager
def prefect_steps(
    settings: ChurnSettings, say: Say, mark: Callable[[str], None]
) -> Iterator[Callable[[], Execute]]:
    """The orchestrator of ``churn run``: Prefect's API starts now; once the data is valid,
    Prefect is imported, its API awaited, and the run executes as the ``churn-train`` flow."""
    with prefect_api(say, settings) as prefect_settings:

        def ready() -> Execute:
            import prefect.settings

            from churn.flows import train

            mark("imports")
            settings = prefect_settings()
            mark("waiting for Prefect")
            say(f"Prefect API {settings['PREFECT_API_URL']}")
            updates = {getattr(prefect.settings, name): value for name, value in settings.items()}

            def execute(run: Any, pool: Any, report: bool) -> RunManifest:
                with prefect.settings.temporary_settings(updates=updates):
                    try:
                        return train.run_flow(run, pool, report)
                    finally:
                        _drain_prefect_workers()
                        mark("flow")

            return execute

        yield ready


def run_training(
    spec_path: str, home: str | None = None, *, say: Say = say_on_stderr
) -> RunOutcome:
    """``churn run``: the run composed with Prefect as its orchestrator.

    Raises:
        SpecError, DataContractError, RegistryError, ClusterError, SettingsError: before the
            flow starts.
        PrefectServerError: the temporary server did not start (the message says what to do).
    """
    _quiet_prefect_defaults()
    watch = Stopwatch()
    try:
        return compose_run(
            spec_path,
            home,
            orchestrator=lambda ctx, settings: prefect_steps(settings, say, watch.mark),
            say=say,
            mark=watch.mark,
        )
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
