"""The ``step NAME: 1.23 s, peak 812 MB`` log line of each step (benchmarks read it).

:func:`measuring` samples the memory of this process and its children (the training workers)
for the length of a run (:mod:`churn.run.memory`); :func:`timed` wraps a step so that its
line gives its wall time and the tree's peak memory while it ran. Steps run in several threads
(EDA beside training), so the sampler is one per process, set here while a run measures.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, TypeVar

from churn.run.memory import Peak, TreeMemory

T = TypeVar("T")
log = logging.getLogger("churn.run")
_memory: TreeMemory | None = None
"""This process's sampler while :func:`measuring` runs."""
_fork_hook: list[bool] = []


def _forget_in_child() -> None:
    """A forked child has no sampler thread: its steps are measured by its parent."""
    global _memory
    _memory = None


@contextmanager
def measuring() -> Iterator[TreeMemory]:
    """Sample the process tree's memory for the block (nested calls share one sampler)."""
    global _memory
    if _memory is not None:
        yield _memory
        return
    if not _fork_hook:
        os.register_at_fork(after_in_child=_forget_in_child)
        _fork_hook.append(True)
    memory = _memory = TreeMemory().start()
    try:
        yield memory
    finally:
        _memory = None
        memory.stop()
        log.info("peak memory of the run: %.0f MB", memory.overall.megabytes)


def timed(name: str, fn: Callable[..., T]) -> Callable[..., T]:
    """``fn``, logging its wall time and, while :func:`measuring`, the tree's peak memory."""

    def step(*args: Any) -> T:
        started = time.perf_counter()
        memory = _memory
        with memory.watch() if memory is not None else nullcontext(Peak()) as peak:
            try:
                return fn(*args)
            finally:
                seconds = time.perf_counter() - started
                if memory is None:
                    log.info("step %s: %.2f s", name, seconds)
                else:
                    log.info("step %s: %.2f s, peak %.0f MB", name, seconds, peak.megabytes)

    step.__name__ = step.__qualname__ = getattr(fn, "__name__", name)
    step.__doc__ = fn.__doc__
    return step
