"""One pass over a candidate's CV folds: the threshold and the CV scores from the same fits.

Each fold's model is fitted once; its probabilities on the fold's validation part give both the
threshold policy's score curve and the fold's metrics at the chosen threshold. (Tuning with
``TunedThresholdClassifierCV`` and then scoring with ``cross_validate`` fitted every fold twice:
11 fits per candidate at 5 folds instead of 6.)

The threshold is chosen exactly as ``TunedThresholdClassifierCV`` chooses it: each fold's
objective is scored at 100 thresholds spread over its own probabilities, the curves are
interpolated onto 100 thresholds spanning every fold, averaged, and the best one wins. The
objective is computed from the confusion counts at all 100 thresholds at once
(:func:`churn.training.thresholds.threshold_objective`) instead of 100 calls of scikit-learn's
metric functions per fold, which took most of a logistic regression's training time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.utils.parallel import Parallel, delayed

from churn.spec import Spec
from churn.training.metrics import compute_metrics
from churn.training.parallel import loop_jobs
from churn.training.thresholds import Counts, counts_at

THRESHOLDS: Final = 100
"""Thresholds per curve: ``TunedThresholdClassifierCV``'s default."""


@dataclass(frozen=True)
class Fold:
    """One fold's validation labels and the fold model's probabilities for them."""

    y: np.ndarray
    proba: np.ndarray


@dataclass(frozen=True)
class Tuned:
    """The chosen threshold and the mean objective score there (below 0: a floor not met)."""

    threshold: float
    best_score: float


def _fit_fold(
    pipeline: Any, X: pd.DataFrame, y: np.ndarray, train: np.ndarray, val: np.ndarray
) -> Fold:
    """Fit on ``train``; the probabilities of ``val``."""
    model = clone(pipeline).fit(X.iloc[train], y[train])
    return Fold(y[val], model.predict_proba(X.iloc[val])[:, 1])


def fit_folds(pipeline: Any, X: pd.DataFrame, y: np.ndarray, cv: Any) -> list[Fold]:
    """Every fold of ``cv`` fitted once (in parallel inside
    :func:`~churn.training.parallel.fan_out`)."""
    return list(
        Parallel(n_jobs=loop_jobs())(
            delayed(_fit_fold)(pipeline, X, y, train, val) for train, val in cv.split(X, y)
        )
    )


def best_threshold(folds: list[Fold], objective: Callable[[Counts], np.ndarray]) -> Tuned:
    """The threshold whose ``objective``, averaged over the folds, is highest (see the module's
    docstring).

    Raises:
        ValueError: A fold's model predicted one probability for every row.
    """
    curves = []
    for fold in folds:
        thresholds = np.linspace(np.min(fold.proba), np.max(fold.proba), THRESHOLDS)
        if np.isclose(thresholds[0], thresholds[-1]):
            raise ValueError(
                "The provided estimator makes constant predictions. Therefore, it is "
                "impossible to optimize the decision threshold."
            )
        curves.append((thresholds, objective(counts_at(fold.y, fold.proba, thresholds))))
    low = min(float(thresholds[0]) for thresholds, _ in curves)
    high = max(float(thresholds[-1]) for thresholds, _ in curves)
    grid = np.linspace(low, high, num=THRESHOLDS)
    mean = np.mean([np.interp(grid, thresholds, scores) for thresholds, scores in curves], axis=0)
    best = int(mean.argmax())
    return Tuned(float(grid[best]), float(mean[best]))


def fold_scores(spec: Spec, folds: list[Fold], threshold: float) -> dict[str, list[float]]:
    """Each spec metric on each fold's validation part, at ``threshold`` (p >= t is positive)."""
    evaluation = spec.evaluation
    per_fold = [
        compute_metrics(list(evaluation.metrics), fold.y, fold.proba, threshold, evaluation.costs)
        for fold in folds
    ]
    return {metric: [values[metric] for values in per_fold] for metric in evaluation.metrics}
