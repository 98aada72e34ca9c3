"""Train and score a survival candidate: CV folds and the hold-out, on survival metrics.

The split is the classifiers' (stratified on the event, or by time), with the survival outcome
(:func:`churn.survival.outcome.survival_outcome`) kept beside the event flags. A survival
candidate has no threshold: it is searched (the estimators' ``score`` is Harrell's C), cross-
validated on stratified folds of the training part, fitted on all of it and scored on the
hold-out by :func:`churn.survival.metrics.survival_metrics`. The champion is re-scored on the
same hold-out rows.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, TimeSeriesSplit

from churn.survival.metrics import evaluation_times, survival_metrics
from churn.training.candidate_result import CandidateResult

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.pipeline import Pipeline

    from churn.registry.record import SearchRecord
    from churn.spec import Candidate, Spec
    from churn.spec.survival import SurvivalTargetSpec

NO_THRESHOLD = float("nan")
"""A survival candidate's threshold: it has none (null in run.json)."""


class SurvivalSplit(Protocol):
    """What survival training reads of :class:`churn.training.evaluate.Split`."""

    @property
    def X_train(self) -> pd.DataFrame: ...  # noqa: N802 - the split's own name
    @property
    def y_train(self) -> np.ndarray: ...
    @property
    def test_positions(self) -> np.ndarray: ...
    @property
    def X_test(self) -> pd.DataFrame: ...  # noqa: N802 - the split's own name
    @property
    def outcome_train(self) -> np.ndarray | None: ...
    @property
    def outcome_test(self) -> np.ndarray | None: ...


def outcomes(split: SurvivalSplit) -> tuple[np.ndarray, np.ndarray]:
    """The training and hold-out survival outcomes of a survival spec's split."""
    if split.outcome_train is None or split.outcome_test is None:
        raise ValueError("this split has no survival outcome (the spec's target is a classifier)")
    return split.outcome_train, split.outcome_test


def fold_positions(
    spec: Spec, split: SurvivalSplit, folds: int | None = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The CV folds of the training part: stratified on the event, or in time order."""
    n_splits = folds or spec.evaluation.cv_folds
    splitter: StratifiedKFold | TimeSeriesSplit
    if spec.evaluation.split.time_column is not None:
        splitter = TimeSeriesSplit(n_splits=n_splits)
    else:
        seed = spec.evaluation.split.seed
        splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return list(splitter.split(split.X_train, split.y_train))


def predict_and_score(
    target: SurvivalTargetSpec,
    model: Pipeline,
    X: pd.DataFrame,
    y_train: np.ndarray,
    y_test: np.ndarray,
) -> tuple[dict[str, float], np.ndarray]:
    """Every survival metric of a fitted pipeline on ``(X, y_test)`` and each row's predicted
    P(churn by h), one column per horizon (the features are computed once for both)."""
    times = evaluation_times(y_train, y_test, target.horizons)
    horizons = np.asarray(target.horizons, dtype=np.float64)
    features, final = model[:-1].transform(X), model[-1]
    risk = np.asarray(final.predict(features), dtype=np.float64)
    # One curve call on the grid and the horizons (a curve's value at t is t's alone).
    grid = np.union1d(times, horizons)
    curves = np.asarray(final.predict_survival(features, grid), dtype=np.float64)
    survival = curves[:, np.searchsorted(grid, times)]
    metrics = survival_metrics(y_train, y_test, risk, survival, times, target.horizons)
    return metrics, 1.0 - curves[:, np.searchsorted(grid, horizons)]


def train_survival_candidate(
    spec: Spec, name: str, model_spec: Candidate, pipeline: Pipeline, split: SurvivalSplit
) -> CandidateResult:
    """Search, cross-validate, fit and score the survival candidate ``name`` (no threshold)."""
    from churn.spec import ModelSpec
    from churn.training.search import searched

    target = spec.survival_target
    assert target is not None  # callers dispatch on it
    started = time.perf_counter()
    y_train, y_test = outcomes(split)
    pipeline = clone(pipeline)
    params: dict[str, Any] = dict(getattr(model_spec, "params", {}))  # ensembles have none
    search_record: SearchRecord | None = None
    if isinstance(model_spec, ModelSpec) and model_spec.search is not None:
        pipeline, best, search_record = searched(
            pipeline,
            model_spec,
            X=split.X_train,
            y=y_train,
            cv=fold_positions(spec, split, model_spec.search.cv),
            scoring=None,  # the estimators' score: Harrell's C
            seed=spec.evaluation.split.seed,
        )
        params.update(best)
    cv_scores = cross_validate(spec, target, pipeline, split)
    fitted = clone(pipeline).fit(split.X_train, y_train)
    holdout, churn_by = predict_and_score(target, fitted, split.X_test, y_train, y_test)
    return CandidateResult(
        name=name,
        model_type=model_spec.type,
        threshold=NO_THRESHOLD,
        pipeline=fitted,
        cv_scores=cv_scores,
        holdout=_reported(spec, holdout),
        test_proba=churn_by[:, -1],
        fit_seconds=time.perf_counter() - started,
        params=params,
        search=search_record,
        members=list(getattr(model_spec, "members", [])) or None,
    )


def cross_validate(
    spec: Spec, target: SurvivalTargetSpec, pipeline: Pipeline, split: SurvivalSplit
) -> dict[str, list[float]]:
    """Each reported metric on every validation fold (the pipeline fitted on the others)."""
    y_train, _ = outcomes(split)
    scores: dict[str, list[float]] = {metric: [] for metric in spec.evaluation.metrics}
    for train, valid in fold_positions(spec, split):
        model = clone(pipeline).fit(split.X_train.iloc[train], y_train[train])
        X_valid = split.X_train.iloc[valid]
        metrics, _ = predict_and_score(target, model, X_valid, y_train[train], y_train[valid])
        for metric, value in _reported(spec, metrics).items():
            scores[metric].append(value)
    return scores


def rescore_survival(
    spec: Spec, model: Pipeline, split: SurvivalSplit, frame: pd.DataFrame
) -> dict[str, float]:
    """The champion's survival metrics on this run's hold-out rows (every column given).

    Raises:
        TypeError: The champion is a classifier, which a survival run cannot compare.
    """
    target = spec.survival_target
    assert target is not None  # callers dispatch on it
    if not hasattr(model[-1], "predict_survival"):
        raise TypeError(
            "the champion is a classifier; a survival spec's runs compare only with survival "
            "champions (give the survival spec its own --home)"
        )
    y_train, y_test = outcomes(split)
    rows = frame.iloc[split.test_positions]
    metrics, _ = predict_and_score(target, model, rows, y_train, y_test)
    return _reported(spec, metrics)


def _reported(spec: Spec, metrics: dict[str, float]) -> dict[str, float]:
    return {metric: metrics[metric] for metric in spec.evaluation.metrics}
