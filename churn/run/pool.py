"""Where candidates train: worker processes forked from ``churn run``'s own process once it
has imported the training stack (for the spec's checks), so the stack is imported once per run
and a worker starts in milliseconds.

Each worker trains one candidate on one core: BLAS and OpenMP are limited to one thread in the
worker (oversubscribed OpenMP spin-waiting made one fit 90x slower here), and the kernel kills
the worker if its parent ends (see :mod:`churn.orphans`), so nothing outlives ``churn run``.
A process that runs another Python thread when the workers would fork (a caller embedding
churn, a test runner) gets them from a fork server instead, which imports the stack itself.
"""

from __future__ import annotations

import gc
import importlib
import logging
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
FORK_SERVER_GUARD: Final = "churn.run.forkserver_guard"
PRELOAD: Final = [FORK_SERVER_GUARD, "churn.run.steps"]
"""What the fork server imports once: a guard that ties its life to ours, then the steps and,
through them, the whole training stack (a process that forks its workers itself imports all
but the guard before it forks)."""
DRAWING_PRELOAD: Final = [
    "churn.run.report_steps",
    "churn.report.eda_reuse",
    "churn.report.eda",
    "churn.report.evaluation_plots",
]
"""Added to :data:`PRELOAD` for a run that draws its report: the modules whose functions the
workers call to draw the EDA and evaluation plots once their fits end (named one by one:
``churn.report`` itself imports none of its modules). matplotlib imported once before the fork is
not imported again in each worker (about 0.7 CPU s each); ``churn run``'s own process draws
nothing with it."""

_LIMITS: list[Any] = []
log = logging.getLogger("churn.run")


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
    """Worker processes forked from this process or from the fork server (see
    :func:`start_training_pool`)."""

    def __init__(self, workers: int, context: Any) -> None:
        super().__init__(max_workers=workers, mp_context=context, initializer=_initialize_worker)
        self.workers = workers
        self.started = False
        """True once every worker runs: a submit then never waits for one to start."""

    def fork_now(self) -> None:
        """Fork every worker now, from this thread (a ``fork`` context only).

        CPython's pool forks all its workers on the first submit, before it starts its manager
        thread (a ``fork`` context cannot add workers later from that thread): a no-op submit
        makes that first submit now, while the caller knows this process runs no other thread.
        The objects alive at the fork are frozen for the workers (``gc.freeze``, as Python's
        documentation advises before a fork): their collections skip the imported stack
        instead of walking it and copying every page it touches; this process unfreezes them.
        """
        gc.freeze()
        try:
            self.submit(os.getpid)
        finally:
            gc.unfreeze()
        self.started = True

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


def only_thread() -> bool:
    """Whether the calling thread is this process's main thread and its only thread running
    Python: forking then copies no lock another thread holds. ``sys._current_frames`` also
    sees threads started without :mod:`threading` (pytest-xdist's execnet starts one);
    native pools that run no Python (OpenBLAS, numexpr, jemalloc) are not counted: they have
    fork handlers, and the fork server had them too."""
    return (
        threading.current_thread() is threading.main_thread()
        and threading.active_count() == 1
        and len(sys._current_frames()) == 1
    )


def start_training_pool(candidates: int, workers: int, *, draws: bool = False) -> Executor:
    """A pool of ``min(candidates, workers)`` workers (``workers``: see
    :meth:`churn.settings.ChurnSettings.training_workers`), or the calling thread for one.

    With no other thread running here, this process imports the training stack (and, with
    ``draws``, the drawing modules) and forks its workers now; call it before starting any
    thread, once the spec's checks have imported scikit-learn and XGBoost. Otherwise the
    workers come from the fork server (:func:`warm_fork_server`), which imports the stack
    itself: forking a process whose other thread may hold a lock (the import lock, a logging
    handler's, the allocator's) can leave a worker hung on it.
    """
    workers = min(max(1, candidates), workers)
    if workers == 1 or not sys.platform.startswith("linux"):
        return InlineExecutor()
    if only_thread():
        for module in preload(draws=draws):
            if module != FORK_SERVER_GUARD:  # its parent is this process
                importlib.import_module(module)
        if only_thread():  # no import started a thread
            pool = WorkerPool(workers, multiprocessing.get_context("fork"))
            pool.fork_now()
            return pool
    log.info("training workers from a fork server: this process runs other threads")
    return WorkerPool(workers, warm_fork_server(draws=draws))


def preload(*, draws: bool) -> list[str]:
    """The modules imported before a worker forks, by the fork server or (all but its guard)
    by this process (see :data:`PRELOAD`)."""
    return PRELOAD + DRAWING_PRELOAD if draws else list(PRELOAD)


def warm_fork_server(*, draws: bool = False) -> Any:
    """Start the fork server now (once; it imports the training stack in the background, and
    with ``draws`` the plotting stack after it) and return its multiprocessing context.

    Only for a process that already runs another thread (see :func:`start_training_pool`):
    ``compose_run`` calls it as soon as it holds the run lock, before the spec's checks
    (which import scikit-learn and XGBoost), so the two imports overlap on two cores. A run
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


def open_pool(
    candidates: int, scheduler: Scheduler | None, workers: int, *, draws: bool = False
) -> Executor:
    """Where a run's candidates train: on the Dask cluster of ``scheduler`` (see
    :func:`churn.run.cluster.named_scheduler`), else at most ``workers`` processes here
    (``draws``: they draw the report's plots, see :func:`start_training_pool`).

    Raises:
        ClusterError: The scheduler does not answer, or has no worker, within its timeout.
    """
    if scheduler is None:
        return start_training_pool(candidates, workers, draws=draws)
    from churn.run.cluster import connect

    return connect(scheduler)
