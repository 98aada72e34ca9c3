"""One pass over a candidate's CV folds: the threshold and the CV scores from the same fits.

Each fold's model is fitted once; its probabilities on the fold's validation part give both the
threshold policy's score curve and the fold's metrics at the chosen threshold. (Tuning with
``TunedThresholdClassifierCV`` and then scoring with ``cross_validate`` fitted every fold twice:
11 fits per candidate at 5 folds instead of 6.)

The threshold is chosen exactly as ``TunedThresholdClassifierCV`` chooses it: each fold's
objective is scored at 100 thresholds spread over its own probabilities (the tuner itself,
given the fold's fitted model as ``cv="prefit"``, computes that curve), the curves are
interpolated onto 100 thresholds spanning every fold, averaged, and the best one wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import TunedThresholdClassifierCV
from sklearn.utils.parallel import Parallel, delayed

from churn.spec import Spec
from churn.training.metrics import compute_metrics
from churn.training.parallel import loop_jobs

THRESHOLDS: Final = 100
"""Thresholds per curve: ``TunedThresholdClassifierCV``'s default."""


@dataclass(frozen=True)
class Fold:
    """One fold's validation labels and probabilities, and the objective's curve over them
    (thresholds ascending, the score at each; None for a fixed threshold)."""

    y: np.ndarray
    proba: np.ndarray
    curve: tuple[np.ndarray, np.ndarray] | None = None


@dataclass(frozen=True)
class Tuned:
    """The chosen threshold and the mean objective score there (below 0: a floor not met)."""

    threshold: float
    best_score: float


def _fit_fold(
    pipeline: Any, X: pd.DataFrame, y: np.ndarray, train: np.ndarray, val: np.ndarray, scoring: Any
) -> Fold:
    """Fit on ``train``, predict ``val``; with ``scoring``, also the objective's curve there."""
    model = clone(pipeline).fit(X.iloc[train], y[train])
    X_val, y_val = X.iloc[val], y[val]
    proba = model.predict_proba(X_val)[:, 1]
    if scoring is None:
        return Fold(y_val, proba)
    curve = TunedThresholdClassifierCV(
        model, scoring=scoring, cv="prefit", refit=False, store_cv_results=True
    ).fit(X_val, y_val)
    results = curve.cv_results_
    return Fold(y_val, proba, (results["thresholds"], results["scores"]))


def fit_folds(
    pipeline: Any, X: pd.DataFrame, y: np.ndarray, cv: Any, scoring: Any = None
) -> list[Fold]:
    """Every fold of ``cv`` fitted once (in parallel inside
    :func:`~churn.training.parallel.fan_out`).

    ``scoring``: the threshold policy's objective (a scorer or its name), or None for a fixed
    threshold.
    """
    return list(
        Parallel(n_jobs=loop_jobs())(
            delayed(_fit_fold)(pipeline, X, y, train, val, scoring) for train, val in cv.split(X, y)
        )
    )


def best_threshold(curves: Sequence[tuple[np.ndarray, np.ndarray]]) -> Tuned:
    """The threshold whose objective, averaged over the folds' curves, is highest (see the
    module's docstring)."""
    low = min(float(np.min(thresholds)) for thresholds, _ in curves)
    high = max(float(np.max(thresholds)) for thresholds, _ in curves)
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
