"""Where candidates train: worker processes forked from a server that has already imported
the training stack, so a worker starts in milliseconds instead of seconds.

Each worker trains one candidate on one core: BLAS and OpenMP are limited to one thread before
the libraries load (oversubscribed OpenMP spin-waiting made one fit 90x slower here), and the
kernel kills the worker if its parent ends (see :mod:`churn.orphans`). The fork server itself
exits when the process that started it ends, so nothing outlives ``churn run``.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
import sys
import threading
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import TYPE_CHECKING, Any, Final

from churn.orphans import die_with_parent

if TYPE_CHECKING:
    from churn.run.cluster import Scheduler

NATIVE_THREAD_VARIABLES: Final = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
PRELOAD: Final = ["churn.run.forkserver_guard", "churn.run.steps"]
"""What the fork server imports once: a guard that ties its life to ours, then the steps and,
through them, the whole training stack."""
DRAWING_PRELOAD: Final = [
    "churn.run.report_steps",
    "churn.report.eda_reuse",
    "churn.report.eda",
    "churn.report.evaluation_plots",
]
"""Added to :data:`PRELOAD` for a run that draws its report: the modules whose functions the
workers call to draw the EDA and evaluation plots once their fits end (named one by one:
``churn.report`` itself imports none of its modules). matplotlib imported once in the fork
server is not imported again in each worker (about 0.7 CPU s each); ``churn run``'s own
process draws nothing and never imports it."""

_LIMITS: list[Any] = []


def limit_native_threads() -> None:
    """One BLAS/OpenMP thread in this process: the environment for libraries not yet loaded,
    threadpoolctl for those already loaded."""
    for variable in NATIVE_THREAD_VARIABLES:
        os.environ[variable] = "1"
    from threadpoolctl import threadpool_limits

    _LIMITS.append(threadpool_limits(limits=1))


def _initialize_worker() -> None:
    die_with_parent()
    limit_native_threads()


class InlineExecutor(Executor):
    """Runs each call in the calling thread (tests, ``CHURN_TRAIN_WORKERS=1``, a single CPU).

    One call at a time: candidates submitted from several step threads train one after
    another, so the process holds one fit's working set, not one per candidate, and fits do
    not contend for the GIL.
    """

    def __init__(self) -> None:
        self._one_at_a_time = threading.RLock()

    def describe(self) -> dict[str, Any]:
        """Where calls run, for the run record (``run.json``'s ``compute``)."""
        return {"executor": "inline", "workers": 1}

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Call ``fn`` now; return a finished future holding its result or its exception."""
        future: Future[Any] = Future()
        with self._one_at_a_time:
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller via the future
                future.set_exception(exc)
        return future


class WorkerPool(ProcessPoolExecutor):
    """Worker processes forked from the fork server (see :func:`start_training_pool`)."""

    def __init__(self, workers: int, context: Any) -> None:
        super().__init__(max_workers=workers, mp_context=context, initializer=_initialize_worker)
        self.workers = workers

    def describe(self) -> dict[str, Any]:
        """Where calls run, for the run record (``run.json``'s ``compute``)."""
        return {"executor": "processes", "workers": self.workers}


def describe_pool(pool: Executor) -> dict[str, Any] | None:
    """What ``run.json`` records of where candidates trained; None for a foreign executor."""
    describe = getattr(pool, "describe", None)
    return describe() if callable(describe) else None


def works_here(pool: Executor) -> bool:
    """Whether ``pool`` runs calls in worker processes on this machine (they can write this
    run's files, and leave this process's cores alone)."""
    described = describe_pool(pool)
    return described is not None and described.get("executor") == "processes"


def start_training_pool(candidates: int, workers: int) -> Executor:
    """A pool of ``min(candidates, workers)`` workers (``workers``: see
    :meth:`churn.settings.ChurnSettings.training_workers`), its fork server starting in the
    background.

    Call it early: the fork server imports the training stack while this process does other
    work (loading the spec, starting Prefect's server, validating the data).
    """
    workers = min(max(1, candidates), workers)
    if workers == 1 or not sys.platform.startswith("linux"):
        return InlineExecutor()
    return WorkerPool(workers, warm_fork_server())


def preload(*, draws: bool) -> list[str]:
    """The modules the fork server imports before it forks a worker (see :data:`PRELOAD`)."""
    return PRELOAD + DRAWING_PRELOAD if draws else list(PRELOAD)


def warm_fork_server(*, draws: bool = False) -> Any:
    """Start the fork server now (once; it imports the training stack in the background, and
    with ``draws`` the plotting stack after it) and return its multiprocessing context.

    ``churn run`` calls it as soon as it holds the run lock, before the spec loads (which
    imports scikit-learn and XGBoost to check each candidate's params), so the two imports
    overlap on two cores; :func:`start_training_pool` then finds the server running. A run
    that stops before training (a spec error) leaves nothing behind: the server exits with
    the process that started it (:mod:`churn.run.forkserver_guard`).
    """
    previous = {name: os.environ.get(name) for name in NATIVE_THREAD_VARIABLES}
    os.environ.update(dict.fromkeys(NATIVE_THREAD_VARIABLES, "1"))  # the fork server's imports
    try:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(preload(draws=draws))
        multiprocessing.forkserver.ensure_running()
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return context


def open_pool(candidates: int, scheduler: Scheduler | None, workers: int) -> Executor:
    """Where a run's candidates train: on the Dask cluster of ``scheduler`` (see
    :func:`churn.run.cluster.named_scheduler`), else at most ``workers`` processes here.

    Raises:
        ClusterError: The scheduler does not answer, or has no worker, within its timeout.
    """
    if scheduler is None:
        return start_training_pool(candidates, workers)
    from churn.run.cluster import connect

    return connect(scheduler)
