"""Decision threshold policies as scikit-learn scorers, and expected profit from offer costs.

Every policy but ``fixed`` is tuned by ``TunedThresholdClassifierCV`` on CV folds of the
training part, maximising the scorer built here (as in scikit-learn's cost-sensitive example:
``make_scorer`` over a confusion-matrix gain).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, make_scorer, precision_score, recall_score

from churn.errors import SpecError
from churn.spec import CostsSpec, Spec

TUNED_SCORERS: dict[str, str] = {
    "f1": "f1",
    "balanced_accuracy": "balanced_accuracy",
    "precision": "precision",
    "recall": "recall",
    "accuracy": "accuracy",
}


def profit_per_customer(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    *,
    retained_value: float,
    offer_cost: float,
    acceptance_rate: float,
) -> float:
    """Mean gain per scored customer: ``(TP x (accept x value - cost) - FP x cost) / n``.

    Flagged churners who accept stay (worth ``retained_value``); every flagged customer gets an
    offer that costs ``offer_cost``; customers not flagged cost and earn nothing.
    """
    _tn, fp, _fn, tp = confusion_matrix(y_true, y_pred, labels=[0, 1]).ravel()
    gain = tp * (acceptance_rate * retained_value - offer_cost) - fp * offer_cost
    return float(gain / max(len(y_true), 1))


def cost_kwargs(costs: CostsSpec) -> dict[str, float]:
    """The costs block as keyword arguments of :func:`profit_per_customer`."""
    return costs.model_dump()


def profit_scorer(costs: CostsSpec) -> Any:
    """A scorer of expected profit per customer at the estimator's predictions."""
    return make_scorer(profit_per_customer, **cost_kwargs(costs))


def _constrained(
    y_true: np.ndarray, y_pred: np.ndarray, *, floor: float, constrained: str
) -> float:
    """The other metric when ``constrained`` >= ``floor``, else a negative shortfall.

    Feasible thresholds score in [0, 1]; infeasible ones score below 0 and rise as they get
    closer to the floor, so the tuner prefers any feasible threshold and, among them, the best.
    """
    recall = recall_score(y_true, y_pred, zero_division=0)
    precision = precision_score(y_true, y_pred, zero_division=0)
    held, other = (recall, precision) if constrained == "recall" else (precision, recall)
    return float(other) if held >= floor else float(held - floor - 1.0)


def check_policy_met(spec: Spec, name: str, best_score: float) -> None:
    """Refuse a ``min_recall``/``min_precision`` policy no threshold met on the training folds.

    ``best_score`` is the tuner's best mean score of :func:`_constrained`: below 0 when even the
    best threshold falls short of the floor (it would otherwise be kept, often flagging nobody).

    Raises:
        SpecError: Names the policy's line, the floor and the best value reached.
    """
    policy = spec.evaluation.threshold
    if policy.strategy not in ("min_recall", "min_precision") or best_score >= 0:
        return
    held = "recall" if policy.strategy == "min_recall" else "precision"
    floor = float(getattr(policy, held))
    raise SpecError(
        [
            f"{spec.place('evaluation', 'threshold', held)}: candidate {name!r}: no threshold "
            f"reaches {held} {floor:g} across the training folds (the policy cannot be met; "
            f"the tuner would otherwise keep a threshold that misses it): lower "
            f"evaluation.threshold.{held}, or choose another strategy"
        ]
    )


def threshold_scorer(spec: Spec) -> Any:
    """What the spec's tuned threshold policy maximises (a scorer name or object)."""
    policy = spec.evaluation.threshold
    if policy.strategy == "tuned":
        return TUNED_SCORERS[policy.metric]
    if policy.strategy == "max_profit":
        assert spec.evaluation.costs is not None  # enforced by churn.spec.checks
        return profit_scorer(spec.evaluation.costs)
    if policy.strategy == "min_recall":
        return make_scorer(_constrained, floor=policy.recall, constrained="recall")
    if policy.strategy == "min_precision":
        return make_scorer(_constrained, floor=policy.precision, constrained="precision")
    raise ValueError(f"threshold strategy {policy.strategy!r} is not tuned")


def profit_curve(
    y_true: np.ndarray, proba: np.ndarray, costs: CostsSpec, points: int = 99
) -> tuple[np.ndarray, np.ndarray]:
    """Thresholds in (0, 1) and the expected profit per customer at each (for the report)."""
    thresholds = np.linspace(0.01, 0.99, points)
    kwargs = cost_kwargs(costs)
    values = np.array(
        [profit_per_customer(y_true, (proba >= t).astype(np.int64), **kwargs) for t in thresholds]
    )
    return thresholds, values
