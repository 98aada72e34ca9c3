"""How many jobs churn's own loops use: CV folds, search trials, the threshold tuner's folds.

On this machine each candidate trains on one core (:mod:`churn.run.pool`), so these loops run
one after another (``n_jobs=1``). A candidate trained on a Dask worker runs inside
:func:`fan_out`: the loops then get ``n_jobs=-1`` under joblib's Dask backend
(:class:`churn.training.dask_loops.LoopsOnlyDaskBackend`), so each fold and each trial is a task
of the cluster. The candidate's task secedes from its worker's thread pool while it waits
(joblib's Dask backend does this inside a worker), so waiting on its own folds cannot deadlock
a worker. Every other ``Parallel`` call (an estimator's ``n_jobs=None`` or 1: a
``ColumnTransformer``, a voting ensemble) runs in place, as it does on this machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_FANNING_OUT: ContextVar[bool] = ContextVar("churn_fanning_out", default=False)
_ON_CLUSTER: ContextVar[bool] = ContextVar("churn_on_cluster", default=False)
_CLUSTER_WIDE: ContextVar[bool] = ContextVar("churn_cluster_wide_fits", default=False)


def loop_jobs() -> int:
    """``n_jobs`` for churn's loops here: -1 (every worker) under :func:`fan_out`, else 1."""
    return -1 if _FANNING_OUT.get() else 1


@contextmanager
def fan_out() -> Iterator[None]:
    """Run churn's loops as tasks of the Dask cluster this code runs on (inside a worker)."""
    from joblib import parallel_config

    from churn.training.dask_loops import LoopsOnlyDaskBackend

    fanning, on_cluster = _FANNING_OUT.set(True), _ON_CLUSTER.set(True)
    try:
        with parallel_config(backend=LoopsOnlyDaskBackend(), n_jobs=1):
            yield
    finally:
        _FANNING_OUT.reset(fanning)
        _ON_CLUSTER.reset(on_cluster)


def cluster_wide_fits_active() -> bool:
    """Whether fits that can use the whole cluster should (inside :func:`cluster_wide_fits`)."""
    return _CLUSTER_WIDE.get()


@contextmanager
def cluster_wide_fits(wanted: bool) -> Iterator[None]:
    """For a candidate whose every fit uses the whole cluster (``distributed: true``).

    On a cluster (inside :func:`fan_out`) and ``wanted``: the candidate's loops run here one
    after another, each fit spanning every worker; its task leaves its worker's thread pool
    meanwhile (``secede``), so that worker trains its share too. Otherwise nothing changes.
    """
    if not (wanted and _ON_CLUSTER.get()):
        yield
        return
    from distributed import rejoin, secede
    from joblib import parallel_config

    fanning, wide = _FANNING_OUT.set(False), _CLUSTER_WIDE.set(True)
    secede()  # type: ignore[no-untyped-call]
    try:
        with parallel_config(backend="sequential"):
            yield
    finally:
        rejoin()  # type: ignore[no-untyped-call]
        _FANNING_OUT.reset(fanning)
        _CLUSTER_WIDE.reset(wide)
