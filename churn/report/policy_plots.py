"""Plots of the winner's decision policy: expected profit by threshold, calibration effect.

``eval_profit`` needs ``evaluation.costs``; ``eval_calibration_effect`` needs a calibrated
winner. :func:`policy_plots` lists only the plots that apply to a run.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss

from churn.report.figures import STANDARD_SIZE, WINNER_COLOR, new_figure, plain, style_axes
from churn.spec import CostsSpec, Spec
from churn.training.evaluate import CandidateResult
from churn.training.thresholds import profit_curve, profit_per_customer

CALIBRATION_BINS = 10


def policy_plots(
    spec: Spec, y: npt.NDArray[np.int64], winner: CandidateResult
) -> list[tuple[str, Callable[[], Figure]]]:
    """The policy plots that apply: profit (with costs), calibration effect (calibrated)."""
    plots: list[tuple[str, Callable[[], Figure]]] = []
    costs = spec.evaluation.costs
    if costs is not None:
        plots.append(("eval_profit", lambda: plot_profit(y, winner, costs)))
    if winner.uncalibrated_proba is not None:
        plots.append(("eval_calibration_effect", lambda: plot_calibration_effect(y, winner)))
    return plots


def plot_profit(y: npt.NDArray[np.int64], result: CandidateResult, costs: CostsSpec) -> Figure:
    """Expected profit per customer on the hold-out against the threshold; served one marked."""
    thresholds, profits = profit_curve(y, result.test_proba, costs)
    served = profit_per_customer(
        y, (result.test_proba >= result.threshold).astype(np.int64), **costs.model_dump()
    )
    best = int(np.argmax(profits))
    figure = new_figure(STANDARD_SIZE)
    ax = figure.subplots()
    ax.plot(thresholds, profits, color="#4c72b0", linewidth=2, label="expected profit")
    ax.axhline(0.0, color="#999999", linestyle=":")
    ax.axvline(result.threshold, color=WINNER_COLOR, linestyle="--", label="served threshold")
    ax.scatter(
        [thresholds[best]],
        [profits[best]],
        color="#55a868",
        zorder=3,
        label=f"hold-out best {thresholds[best]:.2f}",
    )
    ax.annotate(
        f"served {result.threshold:.3f}: {served:,.2f} per customer",
        xy=(result.threshold, served),
        xytext=(8, -16),
        textcoords="offset points",
        fontsize="small",
        color=WINNER_COLOR,
        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8},
    )
    style_axes(ax)
    ax.set_xlim(0, 1)
    ax.set_xlabel("threshold (offer to every customer with probability >= threshold)")
    ax.set_ylabel("expected profit per customer scored")
    ax.legend(loc="upper right", fontsize="small")
    ax.set_title(
        plain(
            f"{result.name}: profit by threshold (value {costs.retained_value:g}, offer "
            f"{costs.offer_cost:g}, accepted {costs.acceptance_rate:.0%})"
        )
    )
    return figure


def plot_calibration_effect(y: npt.NDArray[np.int64], result: CandidateResult) -> Figure:
    """Reliability curves of the winner before and after calibration, with Brier scores."""
    assert result.uncalibrated_proba is not None
    figure = new_figure(STANDARD_SIZE)
    ax = figure.subplots()
    for label, proba, color in (
        ("before", result.uncalibrated_proba, "#999999"),
        ("after", result.test_proba, WINNER_COLOR),
    ):
        observed, predicted = calibration_curve(
            y, proba, n_bins=CALIBRATION_BINS, strategy="quantile"
        )
        brier = brier_score_loss(y, proba)
        ax.plot(
            predicted,
            observed,
            marker="o",
            markersize=3.5,
            color=color,
            label=f"{label} calibration (Brier {brier:.4f})",
        )
    ax.plot([0, 1], [0, 1], color="#bbbbbb", linestyle=":", label="perfectly calibrated")
    style_axes(ax)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed churn rate")
    ax.legend(loc="upper left", fontsize="small")
    method = result.calibration.method if result.calibration else ""
    ax.set_title(plain(f"{result.name}: reliability before and after {method} calibration"))
    return figure
