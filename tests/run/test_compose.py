"""One composition of a run: open, check, start, execute, shut down; gates that fail are a value."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from factories import subscriptions_spec, write_project

from churn.registry import Registry, as_manifest
from churn.run.compose import GATES_NOT_MET, RunOutcome, compose_run, in_process
from churn.run.pool import InlineExecutor

IMPOSSIBLE = {"value": [{"metric": "roc_auc", "lower": 0.999}]}
LOGREG = [{"name": "logreg", "type": "logistic_regression"}]


def test_a_run_whose_gates_fail_returns_exit_code_4_as_a_value(tmp_path: Path) -> None:
    spec = write_project(tmp_path, subscriptions_spec(models=LOGREG, gates=IMPOSSIBLE), rows=300)

    outcome = compose_run(spec, tmp_path / "home", pool=InlineExecutor(), report=False)

    assert (outcome.failed, outcome.exit_code) == (True, GATES_NOT_MET)
    assert outcome.reason.startswith(f"run {outcome.manifest.run_id}: quality gates not met: ")
    assert Registry(tmp_path / "home").record(outcome.manifest.run_id).status == "failed"
    assert not (tmp_path / "home" / "champion.json").exists()


def test_an_orchestrator_starts_after_the_checks_and_executes_after_the_data(
    tmp_path: Path,
) -> None:
    spec = write_project(tmp_path, subscriptions_spec(models=LOGREG), rows=300)
    events: list[str] = []

    @contextmanager
    def recording(ctx: Any, settings: Any) -> Iterator[Callable[[], Any]]:
        events.append("start")
        with in_process(ctx, settings) as ready:
            yield lambda: (events.append("ready"), ready())[1]
        events.append("stop")

    outcome = compose_run(
        spec, tmp_path / "home", orchestrator=recording, report=False, mark=events.append
    )

    assert events == ["checks", "start", "workers", "data", "ready", "stop"]
    assert outcome.manifest.decision is not None and outcome.manifest.compute is not None
    assert (outcome.exit_code, outcome.manifest.decision.action) == (0, "promote")
    assert outcome.manifest.compute.executor in {"inline", "processes"}


def test_the_pool_opens_before_the_run_starts_any_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers forked from this process must find no other thread (the step log's memory
    sampler starts after them); nothing here asks the fork server for them."""
    from churn.run import pool

    models = [*LOGREG, {"name": "forest", "type": "random_forest", "params": {"n_estimators": 5}}]
    spec = write_project(tmp_path, subscriptions_spec(models=models), rows=300)
    before = set(threading.enumerate())
    started: list[set[threading.Thread]] = []

    def opened(candidates: int, scheduler: Any, workers: int, *, draws: bool = False) -> Any:
        started.append(set(threading.enumerate()) - before)
        return InlineExecutor()

    monkeypatch.setattr(pool, "open_pool", opened)
    monkeypatch.setattr(pool, "only_thread", lambda: True)  # xdist's own thread aside
    monkeypatch.setattr(pool, "warm_fork_server", lambda **_: pytest.fail("a fork server"))
    outcome = compose_run(spec, tmp_path / "home", report=False)

    assert started == [set()]
    assert outcome.exit_code == 0


def test_an_outcome_without_a_failing_decision_exits_0() -> None:
    decision = {"action": "keep_champion", "run_failed": False, "reason": "kept"}
    kept = RunOutcome(as_manifest({"run_id": "r", "status": "succeeded", "decision": decision}))
    assert (kept.exit_code, kept.failed, kept.reason) == (0, False, "kept")


def test_candidates_start_training_before_the_orchestrator_is_ready_and_train_once(
    tmp_path: Path,
) -> None:
    from churn.run import steps

    models = [*LOGREG, {"name": "forest", "type": "random_forest", "params": {"n_estimators": 5}}]
    spec = write_project(tmp_path, subscriptions_spec(models=models), rows=300)
    events: list[str] = []

    class Recording(InlineExecutor):
        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            if fn is steps.train:
                events.append(f"fit {args[1]}")
            return super().submit(fn, *args, **kwargs)

    @contextmanager
    def recording(ctx: Any, settings: Any) -> Iterator[Callable[[], Any]]:
        with in_process(ctx, settings) as ready:
            yield lambda: (events.append("ready"), ready())[1]

    outcome = compose_run(
        spec, tmp_path / "home", orchestrator=recording, pool=Recording(), report=False
    )

    assert events == ["fit logreg", "fit forest", "ready"]
    assert outcome.manifest.candidates is not None and set(outcome.manifest.candidates) == {
        "logreg",
        "forest",
    }


def test_the_head_started_eda_is_handed_to_its_step_once_and_only_for_its_inputs() -> None:
    from concurrent.futures import Future

    from churn.run import report_steps
    from churn.run.head_start import HeadStart

    calls: list[str] = []

    class Recording(InlineExecutor):
        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            calls.append(fn.__name__)
            return super().submit(lambda: "drawn here")

    ctx, frame, drawing = object(), object(), Future[Any]()
    head = HeadStart(Recording(), {}, split=object(), eda=((ctx, frame, "sha"), drawing))

    assert head.submit(report_steps.eda_plots, object(), frame, "sha") is not drawing
    assert head.submit(report_steps.eda_plots, ctx, frame, "other") is not drawing
    assert head.submit(report_steps.eda_plots, ctx, frame, "sha") is drawing
    assert head.submit(report_steps.eda_plots, ctx, frame, "sha").result() == "drawn here"
    assert calls == ["eda_plots", "eda_plots", "eda_plots"]
