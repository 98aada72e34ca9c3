"""joblib's Dask backend for churn's loops only (imported on a Dask worker, never before).

Under joblib's own Dask backend every ``Parallel`` call fans out to the whole cluster whatever
its ``n_jobs``, and every task it sends runs its own ``Parallel`` calls under that backend
again: a ``ColumnTransformer`` (``n_jobs=None``) would ship its few transformers to other
workers on every fit and every transform of every fold. This backend sends only the loops that
ask for more than one job (churn's CV folds, threshold folds and search trials, through
:func:`churn.training.parallel.loop_jobs`); any other call, here or inside those tasks, runs in
place, as it does on one machine.
"""

from __future__ import annotations

from typing import Any

from joblib import parallel_config

from churn.private_apis import dask_distributed_backend

DaskDistributedBackend: Any = dask_distributed_backend()  # joblib's backend for "dask"


class LoopsOnlyDaskBackend(DaskDistributedBackend):  # type: ignore[misc]
    """``DaskDistributedBackend`` that runs ``n_jobs=1`` calls in place, and everything inside
    its tasks too."""

    default_n_jobs = 1

    def effective_n_jobs(self, n_jobs: Any) -> int:
        """1 for a call that asks for one job; else every thread of the cluster."""
        if n_jobs == 1:
            return 1
        return int(super().effective_n_jobs(n_jobs))

    async def _to_func_args(self, func: Any) -> tuple[Any, Any]:
        # joblib's private hook (see churn.private_apis): how a batch becomes a Dask task.
        batch, tasks = await super()._to_func_args(func)
        return InPlaceBatch(batch), tasks


class InPlaceBatch:
    """A batch of joblib's calls, run in one task with every nested ``Parallel`` in place
    (joblib's own batch runs them under the Dask backend again)."""

    def __init__(self, batch: Any) -> None:
        self._name = repr(batch)

    def __call__(self, tasks: Any = None) -> list[Any]:
        """Run the batch's calls one after another."""
        with parallel_config(backend="sequential"):
            return [func(*args, **kwargs) for func, args, kwargs in tasks or ()]

    def __repr__(self) -> str:
        return self._name
