"""The training flow: churn's one run sequence with each step a Prefect task.

:func:`churn.run.sequence.execute_run` decides everything; this module only adapts it to Prefect:
every step becomes a task (shown in the UI with its logs), submitted steps (the EDA plots and each
candidate) run on Prefect's thread pool, and each candidate's fit runs in churn's worker pool or,
when a Dask scheduler is named, on the Dask cluster (:mod:`churn.run.cluster`). A
gate failure raises :class:`churn.errors.GateFailure`, so the flow run is Failed (and a Kubernetes
Job running it fails too). ``churn run`` starts it through :func:`flows.runtime.run_training`.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

from prefect import flow, task
from prefect.cache_policies import NONE
from prefect.futures import PrefectFuture
from prefect.states import Failed
from prefect.task_runners import ThreadPoolTaskRunner

from churn.errors import GateFailure
from churn.run.cluster import named_scheduler
from churn.run.pool import open_pool
from churn.run.preflight import PreparedRun, open_run, validate
from churn.run.sequence import execute_run

T = TypeVar("T")

_HANDOFF: dict[str, tuple[PreparedRun, Executor]] = {}
"""Runs checked by :func:`flows.runtime.run_training` before the flow started, by run id.

A validated DataFrame is not a flow parameter (Prefect stores parameters on its server); the
flow body runs in the process that called it, so it takes its run from here.
"""


class PrefectSteps:
    """Run each step of the sequence as a Prefect task (no caching: inputs are DataFrames)."""

    def call(self, name: str, fn: Callable[..., T], /, *args: Any) -> T:
        """The step as a task, run now."""
        result: T = _task(name, fn)(*args)
        return result

    def submit(self, name: str, fn: Callable[..., T], /, *args: Any) -> PrefectFuture[T]:
        """The step as a task on the flow's thread pool."""
        future: PrefectFuture[T] = _task(name, fn).submit(*args)
        return future


def _task(name: str, fn: Callable[..., Any]) -> Any:
    return task(name=name, cache_policy=NONE, persist_result=False)(fn)


_STEP_THREADS: ThreadPoolTaskRunner[Any] = ThreadPoolTaskRunner(max_workers=16)
"""Steps submitted alongside others (EDA, each candidate) wait in these threads."""


@flow(name="churn-train", task_runner=_STEP_THREADS, log_prints=False)  # type: ignore[arg-type]
def train_flow(
    spec_path: str = "spec/telco.yaml", home: str | None = None, run_id: str | None = None
) -> dict[str, Any]:
    """Train, gate and (maybe) promote; return the run's manifest.

    A winner that does not pass the gates ends the flow run Failed (its data is the manifest).
    """
    try:
        handed = _HANDOFF.pop(run_id, None) if run_id else None
        if handed is not None:
            prepared, pool = handed
            return execute_run(prepared, PrefectSteps(), pool)
        # Started on its own (a deployment, a test): the same preflight, inside the flow.
        with open_run(spec_path, home) as ctx:
            pool = open_pool(len(ctx.spec.models), named_scheduler(ctx.spec))
            try:
                return execute_run(validate(ctx), PrefectSteps(), pool)
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
    except GateFailure as failure:
        # An expected outcome, not a crash: the flow run is Failed with the reason, and no
        # traceback is logged. run_training() turns this state back into the GateFailure.
        return Failed(message=str(failure), data=failure.manifest)  # type: ignore[return-value]


def hand_over(prepared: PreparedRun, pool: Executor) -> str:
    """Leave a checked run for :func:`train_flow`; returns the run id to pass it."""
    _HANDOFF[prepared.ctx.run_id] = (prepared, pool)
    return prepared.ctx.run_id


def run_flow(spec_path: str, home: str | None, prepared: PreparedRun, pool: Executor) -> Any:
    """Run :func:`train_flow` on a checked run; re-raise a gate failure as :class:`GateFailure`.

    Raises:
        GateFailure: The gates were not met (the flow run is Failed).
    """
    run_id = hand_over(prepared, pool)
    try:
        state = train_flow(spec_path, home, run_id, return_state=True)
    finally:
        _HANDOFF.pop(run_id, None)
    if state.is_failed():
        data = state.result(raise_on_failure=False)
        if isinstance(data, dict) and (data.get("decision") or {}).get("run_failed"):
            raise GateFailure(state.message or "quality gates not met", data)
    return state.result()
