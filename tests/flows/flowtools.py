"""Helpers for the flow tests."""

from __future__ import annotations

import contextlib
import logging
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
