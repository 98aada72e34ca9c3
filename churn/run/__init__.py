"""One training run: its steps (:mod:`churn.run.steps`) and their one sequence
(:mod:`churn.run.sequence`), run inline by tests and benchmarks and as tasks by the flow."""

from __future__ import annotations

from churn.run.steps import (
    ChampionScore,
    RunContext,
    apply_decision,
    judge,
    load_data,
    prepare_run,
    raise_if_failed,
    record,
    run_in_process,
    score_champion,
    select,
    split,
    start_run,
    train,
)

__all__ = [
    "ChampionScore",
    "RunContext",
    "apply_decision",
    "judge",
    "load_data",
    "prepare_run",
    "raise_if_failed",
    "record",
    "run_in_process",
    "score_champion",
    "select",
    "split",
    "start_run",
    "train",
]
