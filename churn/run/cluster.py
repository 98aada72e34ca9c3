"""Training on a Dask cluster: which scheduler a run uses, connecting to it, and the pool.

A scheduler is named by ``CHURN_DASK_SCHEDULER`` or the spec's ``compute.scheduler``; the
environment wins (the same spec runs on a laptop and, through the Kubernetes overlay, on the
cluster), and ``CHURN_DASK_SCHEDULER=local`` keeps a run on this machine whatever the spec says.
Dask is imported only when a scheduler is named, so the local path pays nothing for it.

:class:`DaskPool` is an :class:`~concurrent.futures.Executor`: ``execute_run`` submits each
candidate to it as it would to the local worker processes. Each candidate is a task on a worker
and fans out its CV folds and search trials as further tasks (:func:`churn.training.parallel.
fan_out`). What a candidate returns comes back to this process, which alone writes the registry,
so workers need the image (the code) but not the registry's volume.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any, Final

from churn.errors import ClusterError, one_line
from churn.spec import Spec, scheduler_address

SCHEDULER_ENV: Final = "CHURN_DASK_SCHEDULER"
LOCAL: Final = "local"
"""``CHURN_DASK_SCHEDULER=local``: train on this machine even when the spec names a scheduler."""

log = logging.getLogger("churn.run")


@dataclass(frozen=True)
class Scheduler:
    """A named Dask scheduler: its address, who named it, how long to wait for it."""

    address: str
    source: str
    timeout: float


def named_scheduler(spec: Spec, named: str = "") -> Scheduler | None:
    """The scheduler this run uses: ``named`` (``CHURN_DASK_SCHEDULER``, see
    :class:`churn.settings.ChurnSettings`), else the spec's; None: local.

    Raises:
        ClusterError: ``CHURN_DASK_SCHEDULER`` is not a scheduler address (nor ``local``).
    """
    timeout = spec.compute.connect_timeout
    raw = named.strip()
    if raw.lower() == LOCAL:
        return None
    if raw:
        try:
            return Scheduler(scheduler_address(raw), SCHEDULER_ENV, timeout)
        except ValueError as exc:
            raise ClusterError(f"{SCHEDULER_ENV}: {exc}") from None
    if spec.compute.scheduler is not None:
        return Scheduler(spec.compute.scheduler, "the spec's compute.scheduler", timeout)
    return None


def connect(scheduler: Scheduler) -> DaskPool:
    """A pool on the cluster, once its scheduler answers and has at least one worker.

    Raises:
        ClusterError: dask is not installed, the scheduler does not answer within the timeout,
            or it has no worker in that time.
    """
    where = f"the Dask scheduler at {scheduler.address} (from {scheduler.source})"
    fix = f"start it, fix the address, or set {SCHEDULER_ENV}={LOCAL} to train on this machine"
    try:
        from distributed import Client
    except ImportError:
        raise ClusterError(
            f"{where} needs dask: pip install 'churn[dask]' (or set {SCHEDULER_ENV}={LOCAL})"
        ) from None
    try:
        client = Client(  # type: ignore[no-untyped-call]
            scheduler.address, timeout=scheduler.timeout, set_as_default=False
        )
    except (OSError, TimeoutError) as exc:
        raise ClusterError(
            f"cannot reach {where} within {scheduler.timeout:g} s: {one_line(exc)}; {fix}"
        ) from None
    try:
        client.wait_for_workers(1, timeout=scheduler.timeout)
    except (OSError, TimeoutError):
        client.close()  # type: ignore[no-untyped-call]
        raise ClusterError(
            f"{where} has no worker after {scheduler.timeout:g} s; start workers "
            f"(`dask worker {scheduler.address}`) or set {SCHEDULER_ENV}={LOCAL}"
        ) from None
    workers = len(client.scheduler_info(n_workers=-1).get("workers", {}))
    log.info("training on %s: %d worker(s)", where, workers)
    return DaskPool(client)


class _FannedOut:
    """``fn`` called inside :func:`~churn.training.parallel.fan_out` on a worker; keeps
    ``fn``'s name, which Dask uses for the task's key (``train-...`` on the dashboard)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.__name__ = getattr(fn, "__name__", "call")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from churn.training.parallel import fan_out

        with fan_out():
            return self.fn(*args, **kwargs)


class DaskPool(Executor):
    """Calls as tasks of a Dask cluster; each argument object is sent to it once.

    Every candidate gets the same run context and split: they are scattered to the cluster the
    first time and referenced after, instead of travelling inside each task.
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self._executor = client.get_executor(pure=False)
        self._sent: dict[int, tuple[Any, Any]] = {}

    def describe(self) -> dict[str, Any]:
        """Where calls run, for the run record (``run.json``'s ``compute``)."""
        workers = self.client.scheduler_info(n_workers=-1).get("workers", {})
        return {
            "executor": "dask",
            "workers": len(workers),
            "scheduler": self.client.scheduler.address,
        }

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Run ``fn(*args, **kwargs)`` on a worker, its loops fanned out to the cluster."""
        shipped = [self._send_once(arg) for arg in args]
        future: Future[Any] = self._executor.submit(_FannedOut(fn), *shipped, **kwargs)
        return future

    def _send_once(self, arg: Any) -> Any:
        if arg is None or isinstance(arg, str | int | float | bool):
            return arg
        sent = self._sent.get(id(arg))
        if sent is None or sent[0] is not arg:
            sent = (arg, self.client.scatter(arg, hash=False))
            self._sent[id(arg)] = sent
        return sent[1]

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Wait for (or cancel) what was submitted, then disconnect from the scheduler."""
        try:
            self._executor.shutdown(wait=wait and not cancel_futures)
        finally:
            self._sent.clear()
            self.client.close()
