"""Metrics of the spec: hold-out values from probabilities, and CV scorers for scikit-learn."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    brier_score_loss,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)

from churn.spec import CostsSpec
from churn.training.thresholds import cost_kwargs, profit_per_customer, profit_scorer

SKLEARN_SCORERS: dict[str, str] = {
    "accuracy": "accuracy",
    "balanced_accuracy": "balanced_accuracy",
    "precision": "precision",
    "recall": "recall",
    "f1": "f1",
    "roc_auc": "roc_auc",
    "pr_auc": "average_precision",
    "brier": "neg_brier_score",
    "log_loss": "neg_log_loss",
}
"""Spec metric -> scikit-learn scorer name (``neg_`` scorers are negated back)."""


def scorer(metric: str, costs: CostsSpec | None) -> Any:
    """The scikit-learn scorer of one spec metric (``profit`` is built from the costs)."""
    if metric == "profit":
        assert costs is not None  # enforced by churn.spec.checks
        return profit_scorer(costs)
    return SKLEARN_SCORERS[metric]


def compute_metrics(
    metrics: list[str],
    y_true: np.ndarray,
    proba: np.ndarray,
    threshold: float,
    costs: CostsSpec | None = None,
) -> dict[str, float]:
    """Hold-out metrics; threshold-dependent ones at ``threshold`` (predict 1 iff p >= t)."""
    predicted = (proba >= threshold).astype(np.int64)
    both_classes = len(np.unique(y_true)) == 2
    functions: dict[str, Callable[[], float]] = {
        "accuracy": lambda: accuracy_score(y_true, predicted),
        "balanced_accuracy": lambda: balanced_accuracy_score(y_true, predicted),
        "precision": lambda: precision_score(y_true, predicted, zero_division=0),
        "recall": lambda: recall_score(y_true, predicted, zero_division=0),
        "f1": lambda: f1_score(y_true, predicted, zero_division=0),
        "roc_auc": lambda: roc_auc_score(y_true, proba) if both_classes else float("nan"),
        "pr_auc": lambda: average_precision_score(y_true, proba),
        "brier": lambda: brier_score_loss(y_true, proba),
        "log_loss": lambda: log_loss(y_true, proba, labels=[0, 1]),
        "profit": lambda: _profit(y_true, predicted, costs),
    }
    return {metric: float(functions[metric]()) for metric in metrics}


def _profit(y_true: np.ndarray, predicted: np.ndarray, costs: CostsSpec | None) -> float:
    if costs is None:
        return float("nan")
    return profit_per_customer(y_true, predicted, **cost_kwargs(costs))
