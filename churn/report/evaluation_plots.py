"""Evaluation plots of a run's candidates on the hold-out.

Files (in ``plots_dir``): ``eval_roc.png``, ``eval_precision_recall.png``,
``eval_calibration.png`` (all candidates), ``eval_confusion_matrix.png``,
``eval_threshold_metrics.png``, ``eval_gains_lift.png``, ``eval_feature_importance.png``
(the winner), ``eval_model_comparison.png`` (CV spread of every candidate); with costs
``eval_profit.png`` and for a calibrated winner ``eval_calibration_effect.png``
(:mod:`churn.report.policy_plots`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    average_precision_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

from churn.report.evaluation_parts import IMPORTANCE_PLOT
from churn.report.figures import (
    STANDARD_SIZE,
    WIDE_SIZE,
    WINNER_COLOR,
    color_of,
    draw_plots,
    new_figure,
    plain,
    style_axes,
)
from churn.report.model_plots import plot_feature_importance, plot_model_comparison
from churn.report.plotset import PlotSet
from churn.report.policy_plots import CALIBRATION_BINS, policy_plots
from churn.report.sampling import stratified_sample
from churn.spec import Spec
from churn.training.evaluate import CandidateResult, Split, compute_metrics

CONFUSION_SIZE = (6.0, 5.0)


def draw_evaluation(
    spec: Spec,
    split: Split,
    results: dict[str, CandidateResult],
    winner: str,
    plots_dir: Path,
    importance: Callable[[], pd.DataFrame] | None = None,
    *,
    names: Collection[str] | None = None,
) -> PlotSet:
    """Draw the evaluation plots into ``plots_dir`` (only those in ``names``, when given: parts
    drawn in several processes are joined by
    :func:`~churn.report.evaluation_parts.join_evaluation`); one failed plot spares the others.

    A hold-out larger than ``spec.output.evaluation_max_rows`` is drawn from a seeded
    stratified sample of that many rows (the permutation importance samples its own, see
    ``output.importance_max_rows``). ``importance`` returns the winner's permutation
    importance when it is computed elsewhere (in a worker process, while the plots before
    its own are drawn).
    """
    y = np.asarray(split.y_test)
    keep = stratified_sample(y, spec.output.evaluation_max_rows, seed=spec.evaluation.split.seed)
    if keep is not None:
        y = y[keep]
        results = {name: _rows(result, keep) for name, result in results.items()}

    def best() -> CandidateResult:
        return results[winner]

    plots: list[tuple[str, Callable[[], Figure | None]]] = [
        ("eval_roc", lambda: plot_roc(y, results, winner)),
        ("eval_precision_recall", lambda: plot_precision_recall(y, results, winner)),
        ("eval_confusion_matrix", lambda: plot_confusion_matrix(y, best())),
        ("eval_calibration", lambda: plot_calibration(y, results, winner)),
        ("eval_threshold_metrics", lambda: plot_threshold_metrics(y, best())),
        ("eval_gains_lift", lambda: plot_gains_lift(y, best())),
        (
            IMPORTANCE_PLOT,
            lambda: plot_feature_importance(
                spec, split, best(), None if importance is None else importance()
            ),
        ),
        ("eval_model_comparison", lambda: plot_model_comparison(spec, results, winner)),
        *policy_plots(spec, y, best()),
    ]
    paths, errors = draw_plots(
        [(name, draw) for name, draw in plots if names is None or name in names], plots_dir
    )
    return PlotSet(paths, errors, sampled=keep is not None, rows_used=len(y))


def _rows(result: CandidateResult, keep: npt.NDArray[np.int64]) -> CandidateResult:
    """``result`` with its hold-out probabilities cut to the sampled rows."""
    before = result.uncalibrated_proba
    return replace(
        result,
        test_proba=result.test_proba[keep],
        uncalibrated_proba=None if before is None else before[keep],
    )


def _candidate_style(index: int, name: str, winner: str) -> dict[str, Any]:
    is_winner = name == winner
    return {
        "color": WINNER_COLOR if is_winner else color_of(index),
        "linewidth": 2.6 if is_winner else 1.4,
        "zorder": 3 if is_winner else 2,
        "alpha": 1.0 if is_winner else 0.85,
    }


def _label(name: str, winner: str, score: str) -> str:
    return plain(f"{name}{' (winner)' if name == winner else ''}  {score}")


Curve = Callable[[npt.NDArray[np.int64], npt.NDArray[np.float64]], tuple[Any, Any, str]]
"""(y, P(churn)) -> (x values, y values, the score for the legend)."""


def _roc(y: npt.NDArray[np.int64], proba: npt.NDArray[np.float64]) -> tuple[Any, Any, str]:
    fpr, tpr, _ = roc_curve(y, proba)
    return fpr, tpr, f"AUC {roc_auc_score(y, proba):.3f}"


def _precision_recall(
    y: npt.NDArray[np.int64], proba: npt.NDArray[np.float64]
) -> tuple[Any, Any, str]:
    precision, recall, _ = precision_recall_curve(y, proba)
    return recall, precision, f"AP {average_precision_score(y, proba):.3f}"


def _curves(
    y: npt.NDArray[np.int64], results: dict[str, CandidateResult], winner: str, curve: Curve
) -> tuple[Figure, Axes]:
    """One figure with every candidate's curve, the winner drawn on top."""
    figure = new_figure(STANDARD_SIZE)
    ax = figure.subplots()
    for index, (name, result) in enumerate(results.items()):
        xs, ys, score = curve(y, result.test_proba)
        ax.plot(xs, ys, label=_label(name, winner, score), **_candidate_style(index, name, winner))
    return figure, ax


def _titled(
    figure: Figure, ax: Axes, title: str, *, legend: Literal["lower right", "upper right"]
) -> Figure:
    ax.legend(loc=legend, fontsize="small")
    ax.set_title(title)
    return figure


def plot_roc(y: npt.NDArray[np.int64], results: dict[str, CandidateResult], winner: str) -> Figure:
    """ROC curves of every candidate on one figure, AUC in the legend."""
    figure, ax = _curves(y, results, winner, _roc)
    ax.plot([0, 1], [0, 1], color="#999999", linestyle=":", label="chance")
    _unit_square(ax, "false positive rate (stayers flagged)", "true positive rate (recall)")
    return _titled(figure, ax, "ROC curves on the hold-out", legend="lower right")


def plot_precision_recall(
    y: npt.NDArray[np.int64], results: dict[str, CandidateResult], winner: str
) -> Figure:
    """Precision-recall curves of every candidate, average precision in the legend."""
    figure, ax = _curves(y, results, winner, _precision_recall)
    base = float(np.mean(y)) if len(y) else 0.0
    ax.axhline(base, color="#999999", linestyle=":", label=f"base rate {base:.1%}")
    _unit_square(ax, "recall (churners found)", "precision (flagged who churn)")
    return _titled(figure, ax, "Precision-recall curves on the hold-out", legend="upper right")


def plot_calibration(
    y: npt.NDArray[np.int64], results: dict[str, CandidateResult], winner: str
) -> Figure:
    """Observed churn rate against predicted probability (quantile bins) per candidate."""
    figure = new_figure(STANDARD_SIZE)
    ax = figure.subplots()
    for index, (name, result) in enumerate(results.items()):
        observed, predicted = calibration_curve(
            y, result.test_proba, n_bins=CALIBRATION_BINS, strategy="quantile"
        )
        ax.plot(
            predicted,
            observed,
            marker="o",
            markersize=3.5,
            label=_label(name, winner, ""),
            **_candidate_style(index, name, winner),
        )
    ax.plot([0, 1], [0, 1], color="#999999", linestyle=":", label="perfectly calibrated")
    _unit_square(ax, "mean predicted probability", "observed churn rate")
    ax.legend(loc="upper left", fontsize="small")
    ax.set_title(f"Calibration on the hold-out ({CALIBRATION_BINS} equal-count bins)")
    return figure


def plot_confusion_matrix(y: npt.NDArray[np.int64], result: CandidateResult) -> Figure:
    """Counts of the winner's decisions at its served threshold."""
    predicted = (result.test_proba >= result.threshold).astype(np.int64)
    matrix = np.zeros((2, 2), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y, dtype=np.int64), predicted), 1)
    figure = new_figure(CONFUSION_SIZE)
    ax = figure.subplots()
    ax.imshow(matrix, cmap="Blues")
    total = max(int(matrix.sum()), 1)
    for (row, col), count in np.ndenumerate(matrix):
        dark = count > matrix.max() * 0.6
        ax.text(
            col,
            row,
            f"{count:,}\n{count / total:.1%}",
            ha="center",
            va="center",
            fontsize="large",
            color="white" if dark else "black",
        )
    labels = ["stayed", "churned"]
    ax.set_xticks([0, 1], [f"predicted {label}" for label in labels])
    ax.set_yticks([0, 1], [f"actually {label}" for label in labels])
    ax.set_title(plain(f"{result.name} at threshold {result.threshold:.3f}"))
    return figure


def plot_threshold_metrics(y: npt.NDArray[np.int64], result: CandidateResult) -> Figure:
    """Precision, recall and F1 of the winner against the threshold; served one marked."""
    precision, recall, thresholds = precision_recall_curve(y, result.test_proba)
    precision, recall = precision[:-1], recall[:-1]
    denominator = np.where(precision + recall > 0, precision + recall, 1.0)
    f1 = 2 * precision * recall / denominator
    figure = new_figure(STANDARD_SIZE)
    ax = figure.subplots()
    ax.plot(thresholds, precision, label="precision", color="#4c72b0")
    ax.plot(thresholds, recall, label="recall", color="#55a868")
    ax.plot(thresholds, f1, label="F1", color="#8172b3", linewidth=2)
    served = compute_metrics(["precision", "recall", "f1"], y, result.test_proba, result.threshold)
    ax.axvline(result.threshold, color=WINNER_COLOR, linestyle="--")
    ax.annotate(
        f"served threshold {result.threshold:.3f}\nprecision {served['precision']:.3f}\n"
        f"recall {served['recall']:.3f}\nF1 {served['f1']:.3f}",
        xy=(result.threshold, 0.02),
        xytext=(8, 8),
        textcoords="offset points",
        fontsize="small",
        color=WINNER_COLOR,
        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8},
    )
    _unit_square(ax, "threshold (flag a customer when probability >= threshold)", "score")
    ax.legend(loc="upper center", fontsize="small")
    ax.set_title(plain(f"{result.name}: precision, recall and F1 by threshold (hold-out)"))
    return figure


def plot_gains_lift(y: npt.NDArray[np.int64], result: CandidateResult) -> Figure:
    """Cumulative gains and lift of the winner when customers are contacted riskiest first."""
    order = np.argsort(-result.test_proba, kind="stable")
    hits = np.cumsum(np.asarray(y)[order])
    share = np.arange(1, len(order) + 1) / max(len(order), 1)
    positives = max(int(hits[-1]) if len(hits) else 0, 1)
    gains = hits / positives
    lift = gains / share
    figure = new_figure(WIDE_SIZE)
    left, right = figure.subplots(1, 2)
    left.plot(
        np.r_[0, share], np.r_[0, gains], color=WINNER_COLOR, linewidth=2, label=plain(result.name)
    )
    left.plot([0, 1], [0, 1], color="#999999", linestyle=":", label="random")
    perfect = min(positives / max(len(order), 1), 1.0)
    left.plot([0, perfect, 1], [0, 1, 1], color="#55a868", linestyle="--", label="perfect")
    _unit_square(left, "share of customers contacted (riskiest first)", "share of churners found")
    left.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    left.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    left.legend(loc="lower right", fontsize="small")
    left.set_title("Cumulative gains")
    start = max(1, len(order) // 100)
    right.plot(share[start - 1 :], lift[start - 1 :], color=WINNER_COLOR, linewidth=2)
    right.axhline(1.0, color="#999999", linestyle=":")
    decile = max(1, len(order) // 10)
    right.plot([share[decile - 1]], [lift[decile - 1]], marker="o", color=WINNER_COLOR)
    right.annotate(
        f"top 10%: lift {lift[decile - 1]:.2f}",
        xy=(share[decile - 1], lift[decile - 1]),
        xytext=(12, 6),
        textcoords="offset points",
        fontsize="small",
    )
    right.set_xlim(0, 1)
    right.set_ylim(0, float(lift[start - 1 :].max(initial=1.0)) * 1.1)
    right.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    right.set_xlabel("share of customers contacted (riskiest first)")
    right.set_ylabel("lift over random")
    right.set_title("Lift")
    style_axes(right)
    figure.suptitle(plain(f"{result.name} on the hold-out"))
    return figure


def _unit_square(ax: Axes, xlabel: str, ylabel: str) -> None:
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    style_axes(ax)
