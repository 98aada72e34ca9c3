"""Split, cross-validate, fit, threshold and score candidates. Deterministic for a given seed.

The flow calls :func:`split_dataset` once and :func:`train_candidate` per candidate (in
parallel); :func:`evaluate_candidates` does both for callers without an orchestrator.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
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
from sklearn.model_selection import (
    FixedThresholdClassifier,
    StratifiedKFold,
    TimeSeriesSplit,
    TunedThresholdClassifierCV,
    cross_validate,
    train_test_split,
)
from sklearn.pipeline import Pipeline

from churn.contract import target_vector
from churn.spec import LOWER_IS_BETTER, Spec
from churn.training.compile import compile_spec
from churn.training.models import data_dependent_params

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


@dataclass(frozen=True)
class Split:
    """Train and hold-out parts. ``X`` holds the feature columns; ids are kept beside it."""

    X_train: pd.DataFrame
    X_test: pd.DataFrame
    y_train: np.ndarray
    y_test: np.ndarray
    ids_train: pd.Series
    ids_test: pd.Series
    test_positions: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    """Row positions of the hold-out in the validated frame (to re-score on all its columns)."""


@dataclass
class CandidateResult:
    """What training one candidate produced."""

    name: str
    model_type: str
    pipeline: Pipeline
    """Fitted on the whole training part."""
    threshold: float
    cv_scores: dict[str, list[float]]
    holdout: dict[str, float]
    test_proba: np.ndarray
    fit_seconds: float
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def cv_mean(self) -> dict[str, float]:
        """Mean of each metric over the folds."""
        return {metric: float(np.mean(values)) for metric, values in self.cv_scores.items()}

    @property
    def cv_std(self) -> dict[str, float]:
        """Standard deviation of each metric over the folds."""
        return {metric: float(np.std(values)) for metric, values in self.cv_scores.items()}

    def summary(self) -> dict[str, Any]:
        """JSON-ready metrics of this candidate (no model, no arrays)."""
        return {
            "name": self.name,
            "type": self.model_type,
            "threshold": self.threshold,
            "cv_mean": self.cv_mean,
            "cv_std": self.cv_std,
            "cv_folds": self.cv_scores,
            "holdout": self.holdout,
            "fit_seconds": round(self.fit_seconds, 3),
        }


def split_dataset(spec: Spec, frame: pd.DataFrame) -> Split:
    """Seeded hold-out split: stratified, or the latest rows when ``time_column`` is set."""
    settings = spec.evaluation.split
    y = target_vector(spec, frame)
    X = frame[spec.feature_columns]
    ids = frame[spec.data.id]
    if settings.time_column is not None:
        order = np.argsort(frame[settings.time_column].to_numpy(), kind="stable")
        cut = round(len(order) * (1 - settings.test_size))
        train, test = order[:cut], order[cut:]
    else:
        positions = np.arange(len(frame))
        train, test = train_test_split(
            positions,
            test_size=settings.test_size,
            random_state=settings.seed,
            stratify=y if settings.stratify else None,
        )
    return Split(
        X_train=X.iloc[train],
        X_test=X.iloc[test],
        y_train=y[train],
        y_test=y[test],
        ids_train=ids.iloc[train],
        ids_test=ids.iloc[test],
        test_positions=np.asarray(test, dtype=np.int64),
    )


def compute_metrics(
    metrics: list[str], y_true: np.ndarray, proba: np.ndarray, threshold: float
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
    }
    return {metric: float(functions[metric]()) for metric in metrics}


def _cv_splitter(spec: Spec) -> StratifiedKFold | TimeSeriesSplit:
    if spec.evaluation.split.time_column is not None:
        return TimeSeriesSplit(n_splits=spec.evaluation.cv_folds)
    return StratifiedKFold(
        n_splits=spec.evaluation.cv_folds, shuffle=True, random_state=spec.evaluation.split.seed
    )


def train_candidate(spec: Spec, name: str, pipeline: Pipeline, split: Split) -> CandidateResult:
    """Choose the threshold, cross-validate at it, fit on train, score the hold-out.

    A tuned threshold maximises the spec's metric over CV folds of the training part
    (``TunedThresholdClassifierCV``); the CV metrics that depend on a threshold are then
    reported at that threshold.
    """
    started = time.perf_counter()
    model_spec = next(model for model in spec.models if model.name == name)
    pipeline = clone(pipeline).set_params(**data_dependent_params(model_spec, split.y_train))
    evaluation = spec.evaluation
    cv = _cv_splitter(spec)
    if evaluation.threshold.strategy == "tuned":
        tuner = TunedThresholdClassifierCV(
            pipeline,
            scoring=SKLEARN_SCORERS[evaluation.threshold.metric],
            cv=cv,
            refit=True,
            random_state=evaluation.split.seed,
        ).fit(split.X_train, split.y_train)
        threshold = float(tuner.best_threshold_)
        fitted: Pipeline = tuner.estimator_
    else:
        threshold = evaluation.threshold.value
        fitted = clone(pipeline).fit(split.X_train, split.y_train)
    scores = cross_validate(
        FixedThresholdClassifier(pipeline, threshold=threshold, response_method="predict_proba"),
        split.X_train,
        split.y_train,
        cv=cv,
        scoring={metric: SKLEARN_SCORERS[metric] for metric in evaluation.metrics},
    )
    cv_scores: dict[str, list[float]] = {
        metric: [float(_unneg(metric, value)) for value in scores[f"test_{metric}"]]
        for metric in evaluation.metrics
    }
    proba = fitted.predict_proba(split.X_test)[:, 1]
    return CandidateResult(
        name=name,
        model_type=model_spec.type,
        pipeline=fitted,
        threshold=threshold,
        cv_scores=cv_scores,
        holdout=compute_metrics(list(evaluation.metrics), split.y_test, proba, threshold),
        test_proba=proba,
        fit_seconds=time.perf_counter() - started,
        params=dict(model_spec.params),
    )


def _unneg(metric: str, value: float) -> float:
    return -value if SKLEARN_SCORERS[metric].startswith("neg_") else value


def select_winner(spec: Spec, results: dict[str, CandidateResult]) -> str:
    """Best CV mean of the selection metric; ties go to the earlier candidate in the spec.

    A CV mean that is NaN (the metric was undefined in a fold, e.g. ROC-AUC in a fold with one
    class) ranks below every number, so such a candidate wins only when all are NaN.
    """
    metric = spec.evaluation.selection_metric
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    order = {model.name: index for index, model in enumerate(spec.models)}

    def rank(name: str) -> tuple[float, int]:
        score = sign * results[name].cv_mean[metric]
        return (-math.inf if math.isnan(score) else score, -order[name])

    return max(results, key=rank)


def rescore(
    spec: Spec, pipeline: Pipeline, threshold: float, split: Split, frame: pd.DataFrame
) -> dict[str, float]:
    """Score an already fitted model (the champion) on this run's hold-out.

    The champion gets every column of the hold-out rows, so one trained on columns that this
    spec drops can still be scored.
    """
    rows = frame.iloc[split.test_positions]
    proba = pipeline.predict_proba(rows)[:, 1]
    return compute_metrics(list(spec.evaluation.metrics), split.y_test, proba, threshold)


def evaluate_candidates(spec: Spec, frame: pd.DataFrame) -> dict[str, CandidateResult]:
    """Split, then train and score every candidate of the spec, sequentially."""
    split = split_dataset(spec, frame)
    return {
        name: train_candidate(spec, name, pipeline, split)
        for name, pipeline in compile_spec(spec).items()
    }
