"""The run's report steps: EDA plots beside training, then plots, predictions and report.html.

Neither may fail a run: a failure is logged and written into the report, and the run's record,
model and decision stand.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pandas as pd

from churn.run.steps import RunContext
from churn.training.evaluate import CandidateResult, Split

if TYPE_CHECKING:
    from churn.report import PlotSet

log = logging.getLogger("churn.run")


def draw_eda(ctx: RunContext, frame: pd.DataFrame) -> PlotSet:
    """EDA plots into ``plots/``."""
    from churn import report

    plots = report.draw_eda(ctx.spec, frame, ctx.run_dir / "plots")
    _log_plots("eda", plots)
    return plots


def eda_failed(exc: BaseException) -> PlotSet:
    """The PlotSet that stands in for an EDA step that raised."""
    from churn import report

    log.warning("eda failed: %s: %s", type(exc).__name__, exc)
    return report.PlotSet(paths=[], errors=[f"EDA failed: {type(exc).__name__}: {exc}"])


def write_report(
    ctx: RunContext,
    manifest: dict[str, Any],
    frame: pd.DataFrame,
    data: Split,
    results: dict[str, CandidateResult],
    winner: str,
    eda: PlotSet,
) -> None:
    """Evaluation plots, predictions.csv and report.html; a failure is logged, never raised."""
    from churn import report

    try:
        evaluation = report.draw_evaluation(ctx.spec, data, results, winner, ctx.run_dir / "plots")
        _log_plots("evaluation", evaluation)
        predictions = report.build_predictions(ctx.spec, results[winner], data, frame)
        ctx.registry.write_text(ctx.run_dir / "predictions.csv", predictions.to_csv(index=False))
        path = report.write_report(
            ctx.run_dir,
            manifest,
            spec_text=ctx.spec_text,
            predictions=predictions,
            eda=eda,
            evaluation=evaluation,
            top_at_risk=ctx.spec.output.top_at_risk,
        )
        log.info("report: %s", path)
    except Exception as exc:
        log.exception("report failed: %s", exc)


def _log_plots(kind: str, plots: PlotSet) -> None:
    sampled = f" (sampled {plots.rows_used} rows)" if plots.sampled else ""
    log.info("%s: %d plots%s", kind, len(plots.paths), sampled)
    for error in plots.errors:
        log.warning("%s: %s", kind, error)
