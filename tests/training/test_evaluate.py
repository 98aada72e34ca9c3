"""Evaluation: the split, fixed and tuned thresholds, the winner, and folds with one class."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from factories import subscriptions_frame, subscriptions_spec
from scipy.stats import rankdata
from sklearn.metrics import average_precision_score

from churn.spec import Spec
from churn.training.compile import compile_spec
from churn.training.evaluate import (
    CandidateResult,
    select_winner,
    split_dataset,
    train_candidate,
)

LOGREG = [{"name": "logreg", "type": "logistic_regression"}]


def spec_with(**evaluation: Any) -> Spec:
    settings = {"cv_folds": 3, "split": {"test_size": 0.25, "seed": 7}, **evaluation}
    return Spec.model_validate(subscriptions_spec(models=LOGREG, evaluation=settings))


def train_logreg(spec: Spec, frame: pd.DataFrame) -> CandidateResult:
    split = split_dataset(spec, frame)
    return train_candidate(spec, "logreg", compile_spec(spec)["logreg"], split)


# --------------------------------------------------------------------------- split


def test_a_time_column_holds_out_the_latest_rows() -> None:
    frame = subscriptions_frame(200)
    rng = np.random.default_rng(1)
    frame["months_active"] = rng.permutation(200)  # a shuffled, unique "time"
    spec = spec_with(split={"test_size": 0.25, "seed": 7, "time_column": "months_active"})

    split = split_dataset(spec, frame)

    times = frame["months_active"]
    test_times = times.iloc[split.test_positions]
    assert len(split.X_test) == 50 and sorted(test_times) == list(range(150, 200))
    assert times.loc[split.ids_train.index].max() < test_times.min()


def test_a_stratified_split_keeps_the_class_balance_and_is_seeded() -> None:
    frame = subscriptions_frame(400)
    spec = spec_with()

    first, second = split_dataset(spec, frame), split_dataset(spec, frame)

    assert first.ids_test.tolist() == second.ids_test.tolist()
    overall = frame["churned"].mean()
    assert abs(first.y_test.mean() - overall) < 0.01
    assert set(first.ids_test).isdisjoint(first.ids_train)


# --------------------------------------------------------------------------- thresholds


def expected_metrics(y: np.ndarray, proba: np.ndarray, threshold: float) -> dict[str, float]:
    """The default spec's hold-out metrics worked out from the confusion counts and ranks, not
    with the function under test (``pr_auc`` straight from scikit-learn)."""
    y = np.asarray(y)
    predicted = proba >= threshold
    tp = float(np.sum(predicted & (y == 1)))
    fp = float(np.sum(predicted & (y == 0)))
    fn = float(np.sum(~predicted & (y == 1)))
    positives, negatives = int(np.sum(y == 1)), int(np.sum(y == 0))
    ranks = rankdata(proba)  # Mann-Whitney: AUC from the positives' rank sum, ties averaged
    auc = (ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn)
    return {
        "accuracy": float(np.mean(predicted == (y == 1))),
        "precision": precision,
        "recall": recall,
        "f1": 2 * tp / (2 * tp + fp + fn),
        "roc_auc": float(auc),
        "pr_auc": float(average_precision_score(y, proba)),
        "brier": float(np.mean((proba - y) ** 2)),
    }


def assert_metrics(got: dict[str, float], y: np.ndarray, proba: np.ndarray, t: float) -> None:
    want = expected_metrics(y, proba, t)
    assert set(got) == set(want)
    for metric, value in want.items():
        assert got[metric] == pytest.approx(value, rel=1e-12, abs=1e-12), metric


def test_a_fixed_threshold_is_used_for_the_hold_out_metrics() -> None:
    spec = spec_with(threshold={"strategy": "fixed", "value": 0.3})
    frame = subscriptions_frame(300)

    result = train_logreg(spec, frame)

    assert result.threshold == 0.3
    split = split_dataset(spec, frame)
    assert_metrics(result.holdout, split.y_test, result.test_proba, 0.3)
    at_half = expected_metrics(split.y_test, result.test_proba, 0.5)
    assert result.holdout["recall"] != at_half["recall"]  # the threshold made a difference


def test_a_tuned_threshold_comes_from_cv_and_scores_the_hold_out() -> None:
    spec = spec_with(threshold={"strategy": "tuned", "metric": "f1"})
    frame = subscriptions_frame(300)

    tuned = train_logreg(spec, frame)
    fixed = train_logreg(spec_with(threshold={"strategy": "fixed", "value": 0.5}), frame)

    assert 0 < tuned.threshold < 1 and tuned.threshold != 0.5
    split = split_dataset(spec, frame)
    assert_metrics(tuned.holdout, split.y_test, tuned.test_proba, tuned.threshold)
    assert tuned.holdout["roc_auc"] == pytest.approx(fixed.holdout["roc_auc"])  # threshold-free


# --------------------------------------------------------------------------- the winner


def result(name: str, **cv: float) -> CandidateResult:
    return CandidateResult(
        name=name,
        model_type="logistic_regression",
        pipeline=None,  # type: ignore[arg-type]
        threshold=0.5,
        cv_scores={metric: [value] for metric, value in cv.items()},
        holdout={},
        test_proba=np.empty(0),
        fit_seconds=0.0,
    )


def spec_of(names: list[str], selection: str = "roc_auc") -> Spec:
    models = [{"name": name, "type": "logistic_regression"} for name in names]
    evaluation = {"selection_metric": selection, "metrics": ["roc_auc", "brier"]}
    return Spec.model_validate(subscriptions_spec(models=models, evaluation=evaluation))


def test_the_best_cv_mean_of_the_selection_metric_wins() -> None:
    results = {"a": result("a", roc_auc=0.7), "b": result("b", roc_auc=0.8)}

    assert select_winner(spec_of(["a", "b"]), results) == "b"


def test_a_tie_goes_to_the_candidate_earlier_in_the_spec() -> None:
    results = {"a": result("a", roc_auc=0.8), "b": result("b", roc_auc=0.8)}

    assert select_winner(spec_of(["a", "b"]), results) == "a"
    assert select_winner(spec_of(["b", "a"]), results) == "b"


def test_a_lower_is_better_selection_metric_picks_the_smallest() -> None:
    results = {"a": result("a", brier=0.2), "b": result("b", brier=0.1)}

    assert select_winner(spec_of(["a", "b"], selection="brier"), results) == "b"


@pytest.mark.parametrize("order", [["a", "b"], ["b", "a"]])
def test_a_nan_cv_mean_ranks_below_every_number(order: list[str]) -> None:
    results = {"a": result("a", roc_auc=math.nan), "b": result("b", roc_auc=0.6)}

    assert select_winner(spec_of(order), results) == "b"


# --------------------------------------------------------------------------- one-class folds


def test_a_fold_with_one_class_scores_nan_for_undefined_metrics_and_the_run_goes_on() -> None:
    """Documented behaviour: ROC-AUC is undefined in a fold without positives, so that fold
    scores NaN and the CV mean is NaN (recorded as null); threshold metrics score 0 there
    (``zero_division=0``); the hold-out is still scored."""
    frame = subscriptions_frame(200)
    frame["churned"] = 0
    frame.loc[frame.index[:3], "churned"] = 1  # 3 positives: most of 5 folds have none
    spec = spec_with(cv_folds=5)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trained = train_logreg(spec, frame)

    folds = trained.cv_scores["roc_auc"]
    assert any(math.isnan(score) for score in folds)
    assert math.isnan(trained.cv_mean["roc_auc"])
    assert all(not math.isnan(score) for score in trained.cv_scores["recall"])
    assert set(trained.holdout) == set(spec.evaluation.metrics)
