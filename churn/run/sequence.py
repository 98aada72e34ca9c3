"""The one sequence of a run's steps, with its crash handling and report.

:func:`churn.run.compose.compose_run` (called by ``churn run``, tests and benchmarks) runs a run
through :func:`execute_run`; what differs is only *how* a step is called (:class:`Steps`: inline,
or as an orchestrator's task) and *where* candidates train (an
:class:`~concurrent.futures.Executor`: worker processes, a Dask cluster, or the calling thread).
Before it, :func:`churn.run.preflight.open_run` has taken the lock, loaded the spec and checked
the champion, and :func:`churn.run.preflight.check_data` has validated the data, so nothing
trains for a run that cannot.

Nothing writes ``champion.json`` or the ledger before the promote step. A run that dies before
its report is marked failed/incomplete (or, if it died after its promotion committed,
reconciled: see :meth:`churn.registry.Registry.mark_incomplete`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor, Future
from concurrent.futures import ThreadPoolExecutor as _Threads
from typing import Any, Protocol, TypeVar

from churn.gates.configured import has_gate_tests
from churn.gates.subjects import GateTestOutcome
from churn.registry.record import (
    ChampionScoresRecord,
    DecisionRecord,
    GateReportRecord,
    RunManifest,
)
from churn.run import report_steps, steps
from churn.run.context import RunContext
from churn.run.pool import describe_pool
from churn.run.preflight import PreparedRun
from churn.run.profile_step import profile_and_drift
from churn.run.step_log import timed
from churn.survival.names import survival_summary
from churn.training.evaluate import CandidateResult, Split

T = TypeVar("T")
log = logging.getLogger("churn.run")


class StepFuture(Protocol[T]):  # type: ignore[misc]
    """What :meth:`Steps.submit` returns: anything with a blocking ``result()``."""

    def result(self) -> T:
        """Wait for the step and return its value (or raise its exception)."""


class Steps(Protocol):
    """How the sequence calls a step: ``name`` is the step's name for logs and the UI."""

    def call(self, name: str, fn: Callable[..., T], /, *args: Any) -> T:
        """Run ``fn(*args)`` now and return its value."""

    def submit(self, name: str, fn: Callable[..., T], /, *args: Any) -> StepFuture[T]:
        """Start ``fn(*args)`` alongside the following steps."""


class LocalSteps:
    """Steps called in this process; submitted ones run in threads (tests, benchmarks)."""

    def __init__(self) -> None:
        self._threads = _Threads(max_workers=8, thread_name_prefix="churn-step")

    def call(self, name: str, fn: Callable[..., T], /, *args: Any) -> T:
        """Call ``fn`` in this thread."""
        return fn(*args)

    def submit(self, name: str, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        """Run ``fn`` in a thread."""
        return self._threads.submit(fn, *args)

    def close(self) -> None:
        """Wait for submitted steps and release the threads."""
        self._threads.shutdown(wait=True)


def train_in_pool(pool: Executor, ctx: RunContext, name: str, data: Split) -> CandidateResult:
    """Train one candidate in ``pool`` and wait for it (the step a task runner runs)."""
    result = pool.submit(steps.train, ctx, name, data).result()
    metric = ctx.spec.evaluation.selection_metric
    summary = (  # a survival candidate has no threshold: its survival summary instead
        f"threshold {result.threshold:.3f}"
        if ctx.spec.survival_target is None
        else survival_summary(result.holdout)
    )
    log.info(
        "%s: CV %s %.4f ± %.4f, hold-out %.4f, %s, %.1fs",
        name,
        metric,
        result.cv_mean[metric],
        result.cv_std[metric],
        result.holdout[metric],
        summary,
        result.fit_seconds,
    )
    return result


def execute_run(
    run: PreparedRun, runner: Steps, pool: Executor, *, report: bool = True
) -> RunManifest:
    """Train every candidate, gate, decide, record, promote, report; return the run's record.

    A run whose gates were not met is returned like any other (its ``decision.run_failed``
    says so); see :class:`churn.run.compose.RunOutcome`.

    Raises:
        BaseException: Anything that stopped the run, after the run is marked incomplete.
    """
    ctx, frame = run.ctx, run.frame
    try:
        compute = describe_pool(pool)
        if compute is not None:
            ctx.registry.update_manifest(ctx.run_id, compute=compute)
        eda = (
            runner.submit("eda", timed("eda", report_steps.eda_step), ctx, frame, pool)
            if report
            else None
        )
        data = runner.call("split", timed("split", run.split))
        log.info("split: %d train / %d hold-out rows", len(data.y_train), len(data.y_test))
        futures = {
            model.name: runner.submit(
                f"train-{model.name}",
                timed(f"train-{model.name}", train_in_pool),
                pool,
                ctx,
                model.name,
                data,
            )
            for model in ctx.spec.models
        }
        results = {name: future.result() for name, future in futures.items()}
        winner = runner.call("select", timed("select", steps.select), ctx, results)
        drawing = (  # in the idle workers while the steps below gate, record and promote
            report_steps.start_evaluation(ctx, data, results, winner, pool) if report else None
        )
        runner.call("profile", timed("profile", profile_and_drift), ctx, frame, results[winner])
        champion = runner.call(
            "score-champion", timed("score-champion", steps.score_champion), ctx, data, frame
        )
        tests = None
        if has_gate_tests(ctx.spec):
            from churn.run.gate_tests import run_gate_tests_step  # imports pytest

            tests = runner.call(
                "gate-tests",
                timed("gate-tests", run_gate_tests_step),
                ctx.spec,
                ctx.registry,
                results,
                winner,
                data,
            )
        gates, decision = runner.call(
            "gate", timed("gate", steps.judge), ctx, results[winner], champion, tests or []
        )
        _log_verdicts(winner, champion, gates, decision)
        _log_tests(tests or [])
        runner.call(
            "record",
            timed("record", steps.record),
            ctx,
            results,
            winner,
            champion,
            gates,
            decision,
            tests,
            data,
            frame,
        )
        manifest = runner.call("promote", timed("promote", steps.apply_decision), ctx, decision)
    except BaseException as exc:
        if ctx.run_dir.exists():
            ctx.registry.mark_incomplete(ctx.run_id, f"{type(exc).__name__}: {exc}")
        raise
    try:
        plots = eda.result() if eda is not None else None
    except Exception as exc:  # noqa: BLE001 - the run is recorded; the report says EDA failed
        plots = report_steps.eda_failed(exc)
    if plots is not None:
        runner.call(
            "report",
            timed("report", report_steps.report_step),
            ctx,
            manifest,
            frame,
            data,
            results,
            winner,
            plots,
            pool,
            drawing,
        )
    return manifest


def _log_tests(outcomes: list[GateTestOutcome]) -> None:
    for outcome in outcomes:
        where = f" ({outcome.file}:{outcome.line})" if outcome.file and outcome.line else ""
        text = " ".join(outcome.message.split())[:300]
        log.info(
            "gate test %s [%s]: %s%s%s",
            outcome.nodeid,
            outcome.candidate,
            outcome.outcome,
            f": {text}" if text else "",
            where if outcome.outcome in ("failed", "error") else "",
        )


def _log_verdicts(
    winner: str,
    champion: ChampionScoresRecord | None,
    gates: GateReportRecord,
    decision: DecisionRecord,
) -> None:
    log.info("winner: %s", winner)
    if champion is None:
        log.info("no champion yet: change thresholds are skipped")
    elif champion.error:
        log.warning("champion %s could not be re-scored: %s", champion.run_id, champion.error)
    for result in gates.results:
        log.info("gate %s %s: %s (%s)", result.kind, result.metric, result.verdict, result.reason)
    log.info("decision: %s (%s)", decision.action, decision.reason)
