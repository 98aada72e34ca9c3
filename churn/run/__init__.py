"""One training run: what it checks before anything starts (:mod:`churn.run.preflight`), its
steps (:mod:`churn.run.steps`), their one sequence (:mod:`churn.run.sequence`) and where
candidates train (:mod:`churn.run.pool`). The Prefect flow, tests and benchmarks all run a run
through :func:`~churn.run.sequence.execute_run`."""

from __future__ import annotations

from churn.run.preflight import PreparedRun, open_run, validate
from churn.run.sequence import LocalSteps, Steps, execute_run, run_in_process
from churn.run.steps import RunContext

__all__ = [
    "LocalSteps",
    "PreparedRun",
    "RunContext",
    "Steps",
    "execute_run",
    "open_run",
    "run_in_process",
    "validate",
]
