"""The one composition of a run: ``churn run``, the Prefect flow, tests and benchmarks call
:func:`compose_run`.

1. :func:`~churn.run.preflight.open_run` takes the run lock, validates the spec (its estimator
   checks import scikit-learn and XGBoost) and checks the champion's model file: a second run,
   a bad spec or a damaged champion ends here, before Prefect's server or any worker exists.
2. The orchestrator starts (Prefect's API server, in the background: a child process, no
   thread here), then the training pool opens: this process imports the rest of the training
   stack (and the drawing modules for a run that draws) and forks its workers while it still
   runs no other thread (:func:`~churn.run.pool.start_training_pool`), or connects to a Dask
   scheduler. A process that already runs another thread started the pool's fork server
   instead as soon as it held the run lock, so that server's imports overlapped the checks.
3. This process creates the run folder and validates the data, submits every candidate's fit
   (the head start), and the orchestrator runs :func:`~churn.run.sequence.execute_run` on the
   checked run; then the pool and the orchestrator are stopped.

The result is a :class:`RunOutcome`: a run whose gates were not met is a value whose
``exit_code`` is 4, never an exception.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from churn.errors import ClusterError
from churn.registry.record import RunManifest
from churn.run.preflight import PreparedRun, check_data, open_run
from churn.settings import ChurnSettings, load_settings
from churn.spec import Spec

if TYPE_CHECKING:
    from churn.run.context import RunContext

GATES_NOT_MET: Final = 4
"""The exit code of a run whose decision fails it (``decision.run_failed``)."""

Execute = Callable[[PreparedRun, Executor, bool], RunManifest]
"""Runs the sequence on a checked run with a pool (and the report, or not); returns the run's
record (run.json)."""
Orchestrator = Callable[
    ["RunContext", ChurnSettings], AbstractContextManager[Callable[[], Execute]]
]
"""Started once the run is open (with the settings the run read); yields a function that
waits until it is ready (called after the data is validated) and returns how to execute the
run. Stopped when the run ends."""
Say = Callable[[str], None]

log = logging.getLogger("churn.run")


@dataclass(frozen=True)
class RunOutcome:
    """A finished run: its record, and whether its decision failed it."""

    manifest: RunManifest

    @property
    def failed(self) -> bool:
        """True when the gates were not met and the spec's policy fails the run."""
        return self.manifest.run_failed

    @property
    def reason(self) -> str:
        """``run ID: quality gates not met: REASON`` for a failed run, else the decision."""
        decision = self.manifest.decision
        reason = decision.reason if decision is not None else ""
        if self.failed:
            return f"run {self.manifest.run_id}: quality gates not met: {reason}"
        return reason

    @property
    def exit_code(self) -> int:
        """0, or :data:`GATES_NOT_MET` when the decision fails the run."""
        return GATES_NOT_MET if self.failed else 0


@contextmanager
def in_process(ctx: RunContext, settings: ChurnSettings) -> Iterator[Callable[[], Execute]]:
    """No orchestrator: each step is called in this process (submitted ones in threads)."""
    from churn.run.sequence import LocalSteps, execute_run

    runner = LocalSteps()

    def execute(run: PreparedRun, pool: Executor, report: bool) -> RunManifest:
        return execute_run(run, runner, pool, report=report)

    try:
        yield lambda: execute
    finally:
        runner.close()


def forks_workers(spec: Spec, settings: ChurnSettings) -> bool:
    """Whether a run of ``spec`` trains in worker processes forked here (so, in a process
    running other threads, its fork server is worth starting before the spec's estimator
    checks): more than one candidate, more than one
    training worker, and no Dask scheduler (a bad ``CHURN_DASK_SCHEDULER`` is reported later,
    after the spec's own checks)."""
    from churn.run.cluster import named_scheduler

    if len(spec.models) < 2 or settings.training_workers() < 2:
        return False
    if not sys.platform.startswith("linux"):
        return False  # the pool trains inline there (see churn.run.pool.start_training_pool)
    try:
        return named_scheduler(spec, settings.dask_scheduler) is None
    except ClusterError:
        return False


def compose_run(
    spec_path: str | Path,
    home: str | Path | None = None,
    *,
    orchestrator: Orchestrator = in_process,
    pool: Executor | None = None,
    report: bool = True,
    say: Say = log.info,
    mark: Callable[[str], None] = lambda stage: None,
) -> RunOutcome:
    """Open, check, start, execute and shut down one run (see the module's docstring).

    Args:
        spec_path: The YAML spec.
        home: The registry home (default: ``CHURN_HOME`` or ``./artifacts``).
        orchestrator: How the steps are called (default: in this process).
        pool: Where candidates train; default: the spec's Dask scheduler or this machine's
            worker processes, opened here and shut down when the run ends.
        report: Draw the EDA plots and write report.html (tests often skip them).
        say: Progress for a person.
        mark: Called with ``checks``, ``workers`` and ``data`` as those stages end (for
            timings).

    Raises:
        SpecError, DataContractError, RegistryError, ClusterError, SettingsError: before
            anything trains.
    """
    from churn.run.cluster import named_scheduler
    from churn.run.pool import only_thread, open_pool, warm_fork_server
    from churn.run.step_log import measuring

    settings = load_settings()

    def warm(spec: Spec) -> None:
        if pool is None and not only_thread() and forks_workers(spec, settings):
            warm_fork_server(draws=report)  # a thread runs: no fork from this process

    with open_run(spec_path, home, locked=warm) as ctx:
        scheduler = named_scheduler(ctx.spec, settings.dask_scheduler) if pool is None else None
        mark("checks")
        with orchestrator(ctx, settings) as ready:
            if scheduler is not None:
                say(f"training on the Dask cluster at {scheduler.address} ({scheduler.source})")
            if pool is None:
                workers = settings.training_workers()
                training = open_pool(len(ctx.spec.models), scheduler, workers, draws=report)
            else:
                training = pool
            mark("workers")
            try:
                with measuring():  # its sampler is a thread: started after the workers fork
                    prepared = check_data(ctx)
                    mark("data")
                    from churn.run.head_start import start_training

                    training = start_training(prepared, training, eda=report)
                    execute = ready()
                    return RunOutcome(execute(prepared, training, report))
            finally:
                if pool is None:
                    training.shutdown(wait=True, cancel_futures=True)
