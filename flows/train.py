"""The training flow: churn's one run sequence with each step a Prefect task.

:func:`churn.run.sequence.execute_run` decides everything; this module only adapts it to Prefect:
every step becomes a task (shown in the UI with its logs), submitted steps (the EDA plots and each
candidate) run on Prefect's thread pool, and each candidate's fit runs in churn's worker pool or on
a Dask cluster. The flow receives the checked run and the pool as arguments (objects Prefect
cannot encode are not stored on its server). A run whose gates were not met ends the flow run
Failed with the reason (and its manifest as the state's data); :func:`run_flow` returns that
manifest as a value. ``churn run`` reaches it through :func:`churn.run.compose.compose_run` and
:func:`churn.flows.runtime.run_training`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

from prefect import flow, task
from prefect.cache_policies import NONE
from prefect.context import SyncClientContext
from prefect.futures import PrefectFuture
from prefect.states import Failed
from prefect.task_runners import ThreadPoolTaskRunner

from churn.registry import RunManifest
from churn.run.compose import RunOutcome
from churn.run.preflight import PreparedRun
from churn.run.sequence import execute_run

T = TypeVar("T")


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


@flow(
    name="churn-train",
    task_runner=ThreadPoolTaskRunner(max_workers=16),  # type: ignore[arg-type]
    log_prints=False,
    validate_parameters=False,
)
async def train_flow(run: PreparedRun, pool: Executor, report: bool = True) -> RunManifest:
    """Train, gate and (maybe) promote ``run`` with candidates in ``pool``; return its record.

    A winner that does not pass the gates ends the flow run Failed (its data is the record).
    Steps submitted alongside others (EDA, each candidate) wait in the task runner's threads.

    The flow is a coroutine only for how Prefect ends it: a synchronous flow run joins its
    heartbeat thread, which sleeps in 1 s steps, so every run with heartbeats (a long-lived
    server) idled 0-1 s after its last step; an asynchronous one stops that thread without
    waiting (the thread ends within a second on its own). The body blocks the event loop on
    purpose: the run's sequence is the flow's only work, and Ctrl-C reaches it in this thread
    as it would a synchronous flow's.

    The steps share one synchronous Prefect client, as a synchronous flow's do: without it
    each task run of this coroutine's flow built and closed its own (an HTTP client whose TLS
    context loads the CA bundle: about 20 ms of CPU a task run, even for a plain-HTTP API).
    Tasks submitted to the thread pool inherit the context, so they share it too.
    """
    with SyncClientContext.get_or_create():
        manifest = execute_run(run, PrefectSteps(), pool, report=report)
    outcome = RunOutcome(manifest)
    if outcome.failed:
        # An expected outcome, not a crash: the flow run is Failed with the reason, and no
        # traceback is logged.
        return Failed(message=outcome.reason, data=manifest)  # type: ignore[return-value]
    return manifest


def run_flow(run: PreparedRun, pool: Executor, report: bool = True) -> RunManifest:
    """Run :func:`train_flow`; return the run's record, also when the gates failed the flow run.

    Raises:
        BaseException: What stopped the run (the flow run crashed or failed with it).
    """
    loop = asyncio.new_event_loop()  # not asyncio.run: its SIGINT handler defers Ctrl-C
    try:
        state = loop.run_until_complete(train_flow(run, pool, report, return_state=True))
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
    data = state.result(raise_on_failure=False)
    if isinstance(data, RunManifest) and state.is_failed() == RunOutcome(data).failed:
        return data
    state.result()  # raises what stopped the run
    raise RuntimeError(f"the flow run ended {state.type.value} without a manifest")
