"""The vectorised bootstrap equals a direct one: the same seeded draws, scikit-learn's metrics."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline
from telco_models import Telco

from churn.gates.bootstrap import estimate, point, resample_weights, weighted_metric
from churn.gates.declarative import test_declared_slices as declared_slices
from churn.gates.expectations import slice_metrics
from churn.gates.subjects import GateModel, collecting

THRESHOLD = 0.4


def _at(score: Callable[..., float]) -> Callable[..., float]:
    return lambda y, p, threshold=THRESHOLD: score(y, p >= threshold)


SKLEARN: dict[str, Callable[..., float]] = {
    "accuracy": _at(metrics.accuracy_score),
    "balanced_accuracy": _at(metrics.balanced_accuracy_score),
    "precision": _at(metrics.precision_score),
    "recall": _at(metrics.recall_score),
    "f1": _at(metrics.f1_score),
    "roc_auc": lambda y, p, threshold=None: metrics.roc_auc_score(y, p),
    "pr_auc": lambda y, p, threshold=None: metrics.average_precision_score(y, p),
    "brier": lambda y, p, threshold=None: metrics.brier_score_loss(y, p),
    "log_loss": lambda y, p, threshold=None: metrics.log_loss(y, p, labels=[0, 1]),
}


def _direct(
    metric: str, y: np.ndarray, p: np.ndarray, draws: np.ndarray, threshold: float = THRESHOLD
) -> np.ndarray:
    """The metric on each resample, drawn row by row; undefined resamples left out."""
    values = []
    for rows in draws:
        labels, decided = y[rows], p[rows] >= threshold
        one_class = labels.min() == labels.max()
        if metric in {"roc_auc", "pr_auc", "balanced_accuracy"} and one_class:
            continue
        if metric in {"recall"} and labels.sum() == 0:
            continue
        if metric == "precision" and decided.sum() == 0:
            continue
        values.append(SKLEARN[metric](labels, p[rows], threshold))
    return np.asarray(values)


@pytest.mark.parametrize("metric", sorted(SKLEARN))
def test_every_resample_equals_scikit_learn_on_the_drawn_rows(metric: str) -> None:
    rng = np.random.default_rng(3)
    y = (rng.uniform(size=120) < 0.3).astype(np.int64)
    p = np.round(np.clip(0.35 * y + 0.65 * rng.uniform(size=120), 0, 1), 2)  # ties on purpose
    draws = np.random.default_rng(11).integers(0, len(y), size=(40, len(y)))
    ours = weighted_metric(metric, y.astype(float), p, THRESHOLD, resample_weights(len(y), 40, 11))
    np.testing.assert_allclose(ours, [SKLEARN[metric](y[rows], p[rows]) for rows in draws])
    assert point(metric, y, p, THRESHOLD) == pytest.approx(SKLEARN[metric](y, p), rel=1e-12)


def test_undefined_resamples_are_left_out_and_an_undefined_value_is_none() -> None:
    y = np.array([0, 0, 0, 0, 1])
    p = np.array([0.1, 0.2, 0.3, 0.4, 0.9])
    found = estimate("roc_auc", y, p, 0.5, resamples=60, confidence=0.9, seed=4)
    direct = _direct("roc_auc", y, p, np.random.default_rng(4).integers(0, 5, size=(60, 5)))
    assert 0 < len(direct) < 60
    assert (found.low, found.high) == pytest.approx(tuple(np.quantile(direct, [0.05, 0.95])))
    nothing = estimate(
        "roc_auc", np.zeros(4), np.full(4, 0.5), 0.5, resamples=50, confidence=0.9, seed=0
    )
    assert (nothing.value, nothing.low, nothing.high) == (None, None, None)


@pytest.mark.model
@pytest.mark.xdist_group("gates-telco")
@pytest.mark.parametrize("metric", ["roc_auc", "recall"])
def test_slice_intervals_equal_a_direct_bootstrap_on_the_same_rows(
    telco: Telco, champion: GateModel, metric: str
) -> None:
    holdout = telco.holdout()
    evidence = slice_metrics(
        champion, holdout, "InternetService", metric, resamples=100, confidence=0.9, seed=7
    )
    proba = champion.probability(holdout.X)
    assert [item.segment for item in evidence] == ["DSL", "Fiber optic", "No"]
    for item in evidence:
        rows = np.flatnonzero((holdout.X["InternetService"] == item.segment).to_numpy())
        y, p = holdout.y[rows], proba[rows]
        draws = np.random.default_rng(7).integers(0, len(rows), size=(100, len(rows)))
        direct = _direct(metric, y, p, draws, champion.threshold)
        low, high = np.quantile(direct, [0.05, 0.95])
        assert item.rows == len(rows)
        assert (item.low, item.high) == pytest.approx((low, high), rel=1e-12)
        assert item.value == pytest.approx(SKLEARN[metric](y, p, champion.threshold), rel=1e-12)


class IndexSpy(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Passes X through; records the index of every frame the model scores."""

    seen: list[set[Any]]

    def __init__(self) -> None:
        self.seen = []

    def fit(self, X: pd.DataFrame, y: Any = None) -> IndexSpy:
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        self.seen.append(set(X.index))
        return X


@pytest.mark.model
@pytest.mark.xdist_group("gates-telco")
def test_declared_slices_score_hold_out_rows_only(telco: Telco, champion: GateModel) -> None:
    spy = IndexSpy()
    spied = GateModel("spied", Pipeline([("spy", spy), *champion.pipeline.steps]), 0.3)
    with collecting() as evidence:
        declared_slices(telco.spec, spied, spied, telco.holdout())
    assert evidence and spy.seen
    train, test = set(telco.split.X_train.index), set(telco.split.X_test.index)
    assert all(seen == test for seen in spy.seen)
    assert not set().union(*spy.seen) & train
