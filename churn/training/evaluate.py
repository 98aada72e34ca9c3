"""Split, cross-validate, fit, threshold and score candidates. Deterministic for a given seed.

The flow calls :func:`split_dataset` once and :func:`train_candidate` per candidate (in
parallel); :func:`evaluate_candidates` does both for callers without an orchestrator.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.metrics import brier_score_loss
from sklearn.model_selection import StratifiedKFold, TimeSeriesSplit
from sklearn.pipeline import Pipeline

from churn.contract import target_vector
from churn.contract.holdout import holdout_positions
from churn.registry.record import (
    CalibrationRecord,
    ResampleRecord,
    SearchRecord,
    ThresholdPolicyRecord,
)
from churn.spec import CalibrationSpec, Candidate, ModelSpec, Spec
from churn.spec.survival import lower_is_better
from churn.survival.outcome import survival_outcome
from churn.training.candidate_result import CandidateResult
from churn.training.compile import compile_spec
from churn.training.folds import best_threshold, fit_folds, fold_scores
from churn.training.metrics import compute_metrics, scorer
from churn.training.models import data_dependent_params
from churn.training.parallel import cluster_wide_fits
from churn.training.search import searched
from churn.training.survival import rescore_survival, train_survival_candidate
from churn.training.thresholds import check_policy_met, threshold_objective

__all__ = [
    "CandidateResult",
    "Split",
    "compute_metrics",
    "evaluate_candidates",
    "rescore",
    "select_winner",
    "split_dataset",
    "train_candidate",
]


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
    outcome_train: np.ndarray | None = None
    """Survival specs: the training part's (event, time) outcome (``y_train`` is the event)."""
    outcome_test: np.ndarray | None = None
    """Survival specs: the hold-out's (event, time) outcome."""


def split_dataset(spec: Spec, frame: pd.DataFrame) -> Split:
    """Seeded hold-out split: stratified, or the latest rows when ``time_column`` is set."""
    y = target_vector(spec, frame)
    X = frame[spec.feature_columns]
    ids = spec.row_ids(frame)
    train, test = holdout_positions(spec, frame, y)
    survival: dict[str, np.ndarray] = {}
    if spec.survival_target is not None:  # y is the event: the split is stratified on it
        outcome = survival_outcome(frame, spec.survival_target)
        survival = {"outcome_train": outcome[train], "outcome_test": outcome[test]}
    return Split(
        X_train=X.iloc[train],
        X_test=X.iloc[test],
        y_train=y[train],
        y_test=y[test],
        ids_train=ids.iloc[train],
        ids_test=ids.iloc[test],
        test_positions=np.asarray(test, dtype=np.int64),
        **survival,
    )


def _cv_splitter(spec: Spec, folds: int | None = None) -> StratifiedKFold | TimeSeriesSplit:
    n_splits = folds or spec.evaluation.cv_folds
    if spec.evaluation.split.time_column is not None:
        return TimeSeriesSplit(n_splits=n_splits)
    return StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=spec.evaluation.split.seed)


def calibrated(pipeline: Pipeline, calibration: CalibrationSpec, *, seed: int) -> Pipeline:
    """The pipeline with its model step wrapped in ``CalibratedClassifierCV``.

    The calibrators are fitted on folds the model step did not see (resampling, inside the
    model step, touches only the calibration's training folds).
    """
    steps = list(pipeline.steps)
    name, step = steps[-1]
    folds = StratifiedKFold(n_splits=calibration.cv, shuffle=True, random_state=seed)
    wrapped = CalibratedClassifierCV(step, method=calibration.method, cv=folds)
    return Pipeline([*steps[:-1], (name, wrapped)])


def choose_threshold(
    spec: Spec,
    pipeline: Pipeline,
    split: Split,
    cv: StratifiedKFold | TimeSeriesSplit,
    name: str = "",
) -> tuple[float, dict[str, list[float]]]:
    """The policy's threshold (tuned on CV folds of the training part) and each metric's CV
    scores at it, from one fit per fold (see :mod:`churn.training.folds`).

    Raises:
        SpecError: A min_recall/min_precision policy that no threshold meets.
    """
    policy = spec.evaluation.threshold
    folds = fit_folds(pipeline, split.X_train, split.y_train, cv)
    if policy.strategy == "fixed":
        return policy.value, fold_scores(spec, folds, policy.value)
    tuned = best_threshold(folds, threshold_objective(spec))
    check_policy_met(spec, name, tuned.best_score)
    return tuned.threshold, fold_scores(spec, folds, tuned.threshold)


def train_candidate(spec: Spec, name: str, pipeline: Pipeline, split: Split) -> CandidateResult:
    """Search, calibrate, choose the threshold, cross-validate at it, fit, score the hold-out.

    Everything before the hold-out scoring sees only the training part: the search and the
    threshold tuner cross-validate inside it, and resampling runs inside training folds.
    """
    model_spec = spec.candidate(name)
    if spec.survival_target is not None:
        return train_survival_candidate(spec, name, model_spec, pipeline, split)
    with cluster_wide_fits(getattr(model_spec, "distributed", False)):
        return _train(spec, name, model_spec, pipeline, split)


def _train(
    spec: Spec, name: str, model_spec: Candidate, pipeline: Pipeline, split: Split
) -> CandidateResult:
    started = time.perf_counter()
    evaluation = spec.evaluation
    seed = evaluation.split.seed
    pipeline = clone(pipeline).set_params(**data_dependent_params(spec, model_spec, split.y_train))
    params: dict[str, Any] = dict(getattr(model_spec, "params", {}))
    search_record: SearchRecord | None = None
    if isinstance(model_spec, ModelSpec) and model_spec.search is not None:
        pipeline, best, search_record = searched(
            pipeline,
            model_spec,
            X=split.X_train,
            y=split.y_train,
            cv=_cv_splitter(spec, model_spec.search.cv),
            scoring=scorer(
                model_spec.search.metric or evaluation.selection_metric, evaluation.costs
            ),
            seed=seed,
        )
        params.update(best)
    uncalibrated = pipeline
    if model_spec.calibration is not None:
        pipeline = calibrated(pipeline, model_spec.calibration, seed=seed)
    threshold, cv_scores = choose_threshold(spec, pipeline, split, _cv_splitter(spec), name)
    fitted = clone(pipeline).fit(split.X_train, split.y_train)
    proba = fitted.predict_proba(split.X_test)[:, 1]
    before: np.ndarray | None = None
    calibration_record: CalibrationRecord | None = None
    if model_spec.calibration is not None:
        before = clone(uncalibrated).fit(split.X_train, split.y_train).predict_proba(split.X_test)
        before = before[:, 1]
        calibration_record = CalibrationRecord(
            **model_spec.calibration.model_dump(),
            brier_before=float(brier_score_loss(split.y_test, before)),
            brier_after=float(brier_score_loss(split.y_test, proba)),
        )
    resample = getattr(model_spec, "resample", None)
    return CandidateResult(
        name=name,
        model_type=model_spec.type,
        pipeline=fitted,
        threshold=threshold,
        cv_scores=cv_scores,
        holdout=compute_metrics(
            list(evaluation.metrics), split.y_test, proba, threshold, evaluation.costs
        ),
        test_proba=proba,
        fit_seconds=time.perf_counter() - started,
        params=params,
        threshold_policy=ThresholdPolicyRecord(
            **evaluation.threshold.model_dump(), threshold=threshold
        ),
        search=search_record,
        calibration=calibration_record,
        uncalibrated_proba=before,
        resample=ResampleRecord(**resample.model_dump()) if resample is not None else None,
        members=list(getattr(model_spec, "members", [])) or None,
    )


def select_winner(spec: Spec, results: dict[str, CandidateResult]) -> str:
    """Best CV mean of the selection metric; ties go to the earlier candidate in the spec.

    A CV mean that is NaN (the metric was undefined in a fold, e.g. ROC-AUC in a fold with one
    class) ranks below every number, so such a candidate wins only when all are NaN.
    """
    metric = spec.evaluation.selection_metric
    sign = -1.0 if lower_is_better(metric) else 1.0
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
    if spec.survival_target is not None:
        return rescore_survival(spec, pipeline, split, frame)
    rows = frame.iloc[split.test_positions]
    proba = pipeline.predict_proba(rows)[:, 1]
    evaluation = spec.evaluation
    return compute_metrics(
        list(evaluation.metrics), split.y_test, proba, threshold, evaluation.costs
    )


def evaluate_candidates(spec: Spec, frame: pd.DataFrame) -> dict[str, CandidateResult]:
    """Split, then train and score every candidate of the spec, sequentially."""
    split = split_dataset(spec, frame)
    return {
        name: train_candidate(spec, name, pipeline, split)
        for name, pipeline in compile_spec(spec).items()
    }
