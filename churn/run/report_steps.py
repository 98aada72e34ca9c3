"""The run's report steps: EDA plots beside training, then plots, predictions and report.html.

Neither may fail a run: a failure is logged and written into the report, and the run's record,
model and decision stand.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from churn.errors import RegistryError
from churn.registry.record import RunManifest
from churn.run.context import RunContext
from churn.run.pool import works_here
from churn.spec import Spec
from churn.training.evaluate import CandidateResult, Split

if TYPE_CHECKING:
    from churn.report.plotset import PlotSet
    from churn.report.reasons import RunReasons

log = logging.getLogger("churn.run")


REUSE_LOOKBACK = 20
"""How many of the newest earlier runs are searched for EDA plots to reuse."""


def eda_step(ctx: RunContext, frame: pd.DataFrame, pool: Executor | None = None) -> PlotSet:
    """EDA plots into ``plots/`` (see :func:`eda_plots`), drawn in a worker of ``pool`` when its
    workers are processes on this machine.

    The call queues behind the candidates' fits (submitted first), so it takes a core only when
    a worker has finished its fits, and this process imports Prefect and runs the flow beside
    them; otherwise the plots are drawn in the calling thread.
    """
    data_sha256 = eda_data_hash(ctx)
    if pool is not None and works_here(pool):
        plots = pool.submit(eda_plots, ctx, frame, data_sha256).result()
    else:
        plots = eda_plots(ctx, frame, data_sha256)
    if plots.reused_from is not None:
        log.info(
            "eda: reused %d plots of run %s (same data and EDA settings)",
            len(plots.paths),
            plots.reused_from,
        )
    else:
        _log_plots("eda", plots)
    return plots


def eda_data_hash(ctx: RunContext) -> str | None:
    """The run's data hash (the EDA's reuse key), None when the record has none."""
    try:
        return ctx.registry.record(ctx.run_id).data_sha256
    except RegistryError as exc:  # no record to key on: draw, and keep nothing for reuse
        log.warning("eda: drawing without reuse: %s", exc)
        return None


def eda_plots(ctx: RunContext, frame: pd.DataFrame, data_sha256: str | None) -> PlotSet:
    """EDA plots into ``plots/``: copied from an earlier run of the same data and EDA settings,
    else drawn (and recorded in ``plots/eda.json`` for the next run); logs nothing (it may run
    in a worker process)."""
    from churn import report
    from churn.report import eda_reuse

    plots_dir = ctx.run_dir / "plots"
    key = eda_reuse.eda_key(ctx.spec, data_sha256) if data_sha256 else None
    if key is not None:
        earlier = (
            (run_id, ctx.registry.run_dir(run_id) / "plots")
            for run_id in ctx.registry.run_ids()[: REUSE_LOOKBACK + 1]
            if run_id != ctx.run_id
        )
        reused = eda_reuse.reuse(key, earlier, plots_dir)
        if reused is not None:
            return reused
    plots = report.draw_eda(ctx.spec, frame, plots_dir)
    if key is not None and not plots.errors:
        eda_reuse.write_record(plots, plots_dir, key, reused_from=None)
    return plots


def eda_failed(exc: BaseException) -> PlotSet:
    """The PlotSet that stands in for an EDA step that raised."""
    from churn.report.plotset import PlotSet

    log.warning("eda failed: %s: %s", type(exc).__name__, exc)
    return PlotSet(paths=[], errors=[f"EDA failed: {type(exc).__name__}: {exc}"])


def report_step(
    ctx: RunContext,
    manifest: RunManifest,
    frame: pd.DataFrame,
    data: Split,
    results: dict[str, CandidateResult],
    winner: str,
    eda: PlotSet,
    pool: Executor | None = None,
    started: EvaluationPlots | None = None,
) -> None:
    """Evaluation plots, predictions.csv and report.html; a failure is logged, never raised.

    ``started``: the evaluation plots already drawing in the pool (:func:`start_evaluation`);
    without it, with a ``pool`` (the run's training workers, idle by now), the winner's
    permutation importance is computed there while this process draws the other plots.
    """
    from churn import report

    if data.outcome_test is not None:
        _write_survival_report(ctx, manifest, data, results[winner], eda)
        return
    try:
        if started is None:
            winning = results[winner]
            importance = start_importance(pool, ctx.spec, data, winning) if pool else None
            evaluation = report.draw_evaluation(
                ctx.spec, data, results, winner, ctx.run_dir / "plots", importance
            )
        predictions = report.build_predictions(ctx.spec, results[winner], data, frame)
        if manifest.predictions is None:  # else the record step wrote and hashed this table
            csv_text = predictions.to_csv(index=False)
            ctx.registry.write_text(ctx.run_dir / "predictions.csv", csv_text)
        reasons = _reasons(ctx, results[winner], data, predictions, frame)
        if started is not None:
            evaluation = started()  # drawn in the workers meanwhile
        _log_plots("evaluation", evaluation)
        path = report.write_report(
            ctx.run_dir,
            manifest,
            spec_text=ctx.spec_text,
            predictions=predictions,
            eda=eda,
            evaluation=evaluation,
            top_at_risk=ctx.spec.output.top_at_risk,
            reasons=reasons,
        )
        log.info("report: %s", path)
    except Exception as exc:
        log.exception("report failed: %s", exc)


EvaluationPlots = Callable[[], "PlotSet"]
"""Waits for the evaluation plots started by :func:`start_evaluation` and returns them."""


def start_evaluation(
    ctx: RunContext,
    data: Split,
    results: dict[str, CandidateResult],
    winner: str,
    pool: Executor,
) -> EvaluationPlots | None:
    """The evaluation plots, started in ``pool``'s workers as soon as the winner is known
    (they are idle once the fits are done): the winner's permutation importance, its plot
    and two others in one worker (:data:`~churn.report.evaluation_parts.FIRST_PART`), every
    other plot in another, while this process gates, records and promotes. None when ``pool``
    does not run here or the run is a survival run (the report step then draws them itself).

    The returned function waits for both parts and joins them in the report's order; a part
    whose worker failed is drawn in the calling process instead.
    """
    from churn.report.evaluation_parts import FIRST_PART, PLOT_ORDER

    if data.outcome_test is not None or not works_here(pool):
        return None
    holdout = _holdout_only(data)
    plots_dir = ctx.run_dir / "plots"
    rest = frozenset(PLOT_ORDER) - FIRST_PART
    parts = [
        (names, pool.submit(_draw_part, ctx.spec, holdout, results, winner, plots_dir, names))
        for names in (FIRST_PART, rest)
    ]

    def joined() -> PlotSet:
        from churn.report.evaluation_parts import join_evaluation

        drawn = []
        for names, future in parts:
            try:
                drawn.append(future.result())
            except Exception as exc:  # noqa: BLE001 - a lost worker: draw the part here
                log.warning("evaluation: drawing here, the worker failed: %s", exc)
                drawn.append(_draw_part(ctx.spec, holdout, results, winner, plots_dir, names))
        return join_evaluation(drawn)

    return joined


def _draw_part(
    spec: Spec,
    data: Split,
    results: dict[str, CandidateResult],
    winner: str,
    plots_dir: Path,
    names: frozenset[str],
) -> PlotSet:
    """The evaluation plots in ``names`` (in a worker process: logs nothing)."""
    from churn import report

    return report.draw_evaluation(spec, data, results, winner, plots_dir, names=names)


def _holdout_only(data: Split) -> Split:
    """``data`` without its training rows (what the evaluation plots read, smaller to send)."""
    return replace(
        data, X_train=data.X_train.iloc[:0], y_train=data.y_train[:0], ids_train=data.ids_train[:0]
    )


def start_importance(
    pool: Executor, spec: Spec, data: Split, winner: CandidateResult
) -> Callable[[], pd.DataFrame]:
    """The winner's permutation importance, started in ``pool`` (with the hold-out only)."""
    from churn.report.model_plots import importance_table

    holdout = _holdout_only(data)
    model = replace(winner, test_proba=winner.test_proba[:0], uncalibrated_proba=None)
    return pool.submit(importance_table, spec, holdout, model).result


def _write_survival_report(
    ctx: RunContext, manifest: RunManifest, data: Split, winner: CandidateResult, eda: PlotSet
) -> None:
    """report.html of a survival run: its survival section in place of the classifier's
    evaluation plots, predictions and reasons; a failure is logged, never raised."""
    from churn import report
    from churn.report.survival import survival_holdout
    from churn.spec.survival import SurvivalTargetSpec

    target = ctx.spec.data.target
    try:
        if not isinstance(target, SurvivalTargetSpec) or data.outcome_test is None:
            raise TypeError("a survival report needs a survival target and outcome")
        holdout = survival_holdout(
            winner.pipeline, data.X_test, data.outcome_test, tuple(target.horizons), target.unit
        )
        path = report.write_report(
            ctx.run_dir,
            manifest,
            spec_text=ctx.spec_text,
            predictions=pd.DataFrame(),
            eda=eda,
            evaluation=report.PlotSet(paths=[], errors=[]),
            top_at_risk=ctx.spec.output.top_at_risk,
            survival=holdout,
        )
        log.info("report: %s", path)
    except Exception as exc:
        log.exception("report failed: %s", exc)


def _reasons(
    ctx: RunContext,
    result: CandidateResult,
    data: Split,
    predictions: pd.DataFrame,
    frame: pd.DataFrame,
) -> RunReasons | None:
    """The report's reasons; a failure is logged and leaves them out."""
    from churn.report.reasons import explain_run

    try:
        return explain_run(ctx.spec, result, data, predictions, ctx.spec.output.top_at_risk, frame)
    except Exception as exc:
        log.exception("report reasons failed: %s", exc)
        return None


def _log_plots(kind: str, plots: PlotSet) -> None:
    sampled = f" (sampled {plots.rows_used} rows)" if plots.sampled else ""
    log.info("%s: %d plots%s", kind, len(plots.paths), sampled)
    for error in plots.errors:
        log.warning("%s: %s", kind, error)
