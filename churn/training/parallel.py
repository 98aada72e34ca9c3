"""How many jobs churn's own loops use: CV folds, search trials, the threshold tuner's folds.

On this machine each candidate trains on one core (:mod:`churn.run.pool`), so these loops run
one after another (``n_jobs=1``). A candidate trained on a Dask worker runs inside
:func:`fan_out`: the loops then get ``n_jobs=-1`` under joblib's Dask backend, so each fold and
each trial is a task of the cluster. The candidate's task secedes from its worker's thread pool
while it waits (joblib's Dask backend does this inside a worker), so waiting on its own folds
cannot deadlock a worker. Estimators' own ``n_jobs`` stay 1: a forest's trees are not shipped
one by one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_FANNING_OUT: ContextVar[bool] = ContextVar("churn_fanning_out", default=False)


def loop_jobs() -> int:
    """``n_jobs`` for churn's loops here: -1 (every worker) under :func:`fan_out`, else 1."""
    return -1 if _FANNING_OUT.get() else 1


@contextmanager
def fan_out() -> Iterator[None]:
    """Run churn's loops as tasks of the Dask cluster this code runs on (inside a worker)."""
    from joblib import parallel_config

    token = _FANNING_OUT.set(True)
    try:
        with parallel_config(backend="dask", n_jobs=1):
            yield
    finally:
        _FANNING_OUT.reset(token)
