"""Decision threshold policies, and expected profit from offer costs.

Every policy but ``fixed`` is tuned on CV folds of the training part (see
:mod:`churn.training.folds`), maximising :func:`threshold_objective`: the policy's score at
many thresholds at once, from the confusion counts at each. :func:`threshold_scorer` is the
same objective as a scikit-learn scorer (as in scikit-learn's cost-sensitive example:
``make_scorer`` over a confusion-matrix gain), for ``TunedThresholdClassifierCV``; the tests
check that both choose the same threshold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
    return float(
        _gain_per_customer(tp, fp, len(y_true), retained_value, offer_cost, acceptance_rate)
    )


def _gain_per_customer(
    tp: Any, fp: Any, rows: int, retained_value: float, offer_cost: float, acceptance_rate: float
) -> Any:
    gain = tp * (acceptance_rate * retained_value - offer_cost) - fp * offer_cost
    return gain / max(rows, 1)


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


@dataclass(frozen=True)
class Counts:
    """Confusion counts of one set of labels at each of several thresholds (``p >= t`` is
    positive): arrays of one length."""

    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    tn: np.ndarray

    @property
    def rows(self) -> int:
        """How many labels were counted."""
        return int(self.tp[0] + self.fp[0] + self.fn[0] + self.tn[0]) if len(self.tp) else 0


def counts_at(y_true: np.ndarray, proba: np.ndarray, thresholds: np.ndarray) -> Counts:
    """The confusion counts at every threshold, in one pass of numpy."""
    positive = np.asarray(y_true) == 1
    flagged = np.asarray(proba)[None, :] >= np.asarray(thresholds)[:, None]
    tp = np.count_nonzero(flagged & positive, axis=1)
    fp = np.count_nonzero(flagged & ~positive, axis=1)
    positives = int(np.count_nonzero(positive))
    return Counts(tp=tp, fp=fp, fn=positives - tp, tn=(len(positive) - positives) - fp)


def _share(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator``, 0 where the denominator is 0 (``zero_division=0``)."""
    safe = np.where(denominator == 0, 1, denominator)
    return np.where(denominator == 0, 0.0, numerator / safe)


def _balanced_accuracy(counts: Counts) -> np.ndarray:
    """Mean recall of the classes present (scikit-learn drops a class without labels)."""
    recalls = [
        _share(hits, hits + misses)
        for hits, misses in ((counts.tp, counts.fn), (counts.tn, counts.fp))
        if (hits + misses)[0] > 0
    ]
    return np.asarray(np.mean(recalls, axis=0))


def threshold_objective(spec: Spec) -> Callable[[Counts], np.ndarray]:
    """What the spec's tuned threshold policy maximises, at every threshold of ``Counts``:
    the same numbers as :func:`threshold_scorer` at each."""
    policy = spec.evaluation.threshold

    def precision(c: Counts) -> np.ndarray:
        return _share(c.tp, c.tp + c.fp)

    def recall(c: Counts) -> np.ndarray:
        return _share(c.tp, c.tp + c.fn)

    if policy.strategy == "tuned":
        objectives: dict[str, Callable[[Counts], np.ndarray]] = {
            "f1": lambda c: _share(2.0 * c.tp, (c.tp + c.fn) + (c.tp + c.fp)),
            "balanced_accuracy": _balanced_accuracy,
            "precision": precision,
            "recall": recall,
            "accuracy": lambda c: (c.tp + c.tn) / max(c.rows, 1),
        }
        return objectives[policy.metric]
    if policy.strategy == "max_profit":
        assert spec.evaluation.costs is not None  # enforced by churn.spec.checks
        costs = cost_kwargs(spec.evaluation.costs)
        return lambda c: np.asarray(_gain_per_customer(c.tp, c.fp, c.rows, **costs))
    if policy.strategy in ("min_recall", "min_precision"):
        floor = float(getattr(policy, policy.strategy.removeprefix("min_")))
        held, other = (
            (recall, precision) if policy.strategy == "min_recall" else (precision, recall)
        )

        def constrained(c: Counts) -> np.ndarray:
            kept = held(c)
            return np.where(kept >= floor, other(c), kept - floor - 1.0)

        return constrained
    raise ValueError(f"threshold strategy {policy.strategy!r} is not tuned")


def profit_curve(
    y_true: np.ndarray, proba: np.ndarray, costs: CostsSpec, points: int = 99
) -> tuple[np.ndarray, np.ndarray]:
    """Thresholds in (0, 1) and the expected profit per customer at each (for the report)."""
    thresholds = np.linspace(0.01, 0.99, points)
    counts = counts_at(y_true, proba, thresholds)
    values = _gain_per_customer(counts.tp, counts.fp, len(y_true), **cost_kwargs(costs))
    return thresholds, np.asarray(values, dtype=np.float64)
