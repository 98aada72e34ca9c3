"""Threads for explaining many rows at once (``churn score --explain``).

Explaining is the costly part of an explained file (TreeSHAP, even in table form, costs about
as much as scoring); its blocks of rows are independent and numpy releases the GIL for the
heavy steps, so inside :func:`explain_threads` they run on a pool of threads. Outside it (the
API: one request, one thread) everything runs on the calling thread. Results do not depend on
the number of threads.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar

_POOL: ContextVar[Executor | None] = ContextVar("churn_explain_pool", default=None)


@contextmanager
def explain_threads(count: int) -> Iterator[None]:
    """Explain on ``count`` threads inside the block (1 or fewer: the calling thread)."""
    if count <= 1:
        yield
        return
    with ThreadPoolExecutor(count, thread_name_prefix="churn-explain") as pool:
        token = _POOL.set(pool)
        try:
            yield
        finally:
            _POOL.reset(token)


def explain_pool() -> Executor | None:
    """The pool set by the enclosing :func:`explain_threads`, if any."""
    return _POOL.get()
