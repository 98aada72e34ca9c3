"""Helpers for the flow tests."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def preserved_logging() -> Iterator[None]:
    """Put the root and ``churn`` loggers back as they were: a flow in this process gives them
    Prefect's handlers, bound to the streams of that moment (a CliRunner's), which later tests
    on this worker must not write to once those streams are closed."""
    loggers = [logging.getLogger(), logging.getLogger("churn")]
    saved = [(list(log.handlers), log.level, log.propagate) for log in loggers]
    try:
        yield
    finally:
        for log, (handlers, level, propagate) in zip(loggers, saved, strict=True):
            log.handlers[:] = handlers
            log.setLevel(level)
            log.propagate = propagate


def reread_prefect_settings() -> None:
    """Make Prefect in this process read its settings from the environment again.

    Prefect reads ``PREFECT_*`` once, when ``prefect.context`` is first imported, into a
    process-wide settings context that every client outside a ``temporary_settings`` block
    uses. An earlier test on this xdist worker (one that imports ``churn.flows.train``) may have
    imported Prefect before the session's server existed: its settings then name no API (so
    ``get_client()`` starts Prefect's own ephemeral server) and the caller's ``PREFECT_HOME``
    (so that server opens the caller's database, not the session's, and finds no flow runs).
    Without Prefect imported there is nothing to refresh: its first import reads the
    environment as it is then.
    """
    context = sys.modules.get("prefect.context")
    if context is not None:
        context.refresh_global_settings_context()
