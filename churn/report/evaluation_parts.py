"""The evaluation plots' names, their order in the report, and the two parts they are drawn in
(in two workers), joined again by :func:`join_evaluation`; no plotting library: ``churn run``'s
own process splits and joins the parts and draws nothing."""

from __future__ import annotations

from collections.abc import Sequence

from churn.report.plotset import PlotSet

IMPORTANCE_PLOT = "eval_feature_importance"
"""The winner's permutation importance: the one evaluation plot that computes much."""
PLOT_ORDER = (
    "eval_roc",
    "eval_precision_recall",
    "eval_confusion_matrix",
    "eval_calibration",
    "eval_threshold_metrics",
    "eval_gains_lift",
    IMPORTANCE_PLOT,
    "eval_model_comparison",
    "eval_profit",
    "eval_calibration_effect",
)
"""The evaluation plots in the report's order (those that apply to the run)."""
FIRST_PART = frozenset({IMPORTANCE_PLOT, "eval_gains_lift", "eval_model_comparison"})
"""Drawn together when the evaluation plots are drawn in two parts (in two workers): the
permutation importance and its plot with two others, about half of the CPU (measured with
``benchmarks/bench_drawing.py`` once the importance was batched); the rest is the other half."""


def join_evaluation(parts: Sequence[PlotSet]) -> PlotSet:
    """One PlotSet of evaluation plots drawn in parts, its paths in :data:`PLOT_ORDER`."""
    rank = {name: index for index, name in enumerate(PLOT_ORDER)}
    paths = sorted(
        (path for part in parts for path in part.paths),
        key=lambda path: rank.get(path.stem, len(rank)),
    )
    errors = [error for part in parts for error in part.errors]
    rows = max((part.rows_used for part in parts), default=0)
    return PlotSet(paths, errors, sampled=any(part.sampled for part in parts), rows_used=rows)
