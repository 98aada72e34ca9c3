"""Scoring on the calling thread: no OpenMP workers, no joblib processes.

One request scores one row or a few thousand; starting thread or process pools for that costs
more than the model. Per-row results do not depend on the number of threads.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from functools import cache
from typing import Any

from sklearn.pipeline import Pipeline
from threadpoolctl import ThreadpoolController


@cache
def threadpools() -> ThreadpoolController:
    """The process's thread-pool controller; the first call inspects the loaded libraries.

    The inspection takes about 20 ms, so callers that load a model call this once at load
    time rather than on the first request.
    """
    return ThreadpoolController()


def single_openmp_thread() -> AbstractContextManager[Any]:
    """Run OpenMP code (hist gradient boosting) on one thread in the calling thread.

    Waking OpenMP workers for a one-row prediction costs from a fraction of a millisecond to
    over 100 ms on a busy 2-core machine; per-row results do not depend on the thread count.
    The limit is per thread (OpenMP's nthreads is a thread-local setting), so concurrent
    requests do not interfere.
    """
    limiter: AbstractContextManager[Any] = threadpools().limit(limits=1, user_api="openmp")
    return limiter


def serve_single_threaded(pipeline: Pipeline) -> Pipeline:
    """Set every ``n_jobs`` in the pipeline to 1 (joblib costs 30-50 ms a call); returns it."""
    params = pipeline.get_params(deep=True)
    single = {
        name: 1
        for name, value in params.items()
        if name.endswith("n_jobs") and value not in (None, 1)
    }
    if single:
        pipeline.set_params(**single)
    return pipeline
