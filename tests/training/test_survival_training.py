"""Survival candidates: split, CV and hold-out on survival metrics, re-scoring, winner, gates."""

from __future__ import annotations

import math

import numpy as np
import pytest
from factories import subscriptions_frame, subscriptions_spec
from survival_factories import survival_frame, survival_spec

from churn.spec import GatesSpec, Spec
from churn.training.compile import compile_spec
from churn.training.evaluate import (
    CandidateResult,
    Split,
    rescore,
    select_winner,
    split_dataset,
    train_candidate,
)
from churn.training.gates import evaluate_gates

SPEC = Spec.model_validate(survival_spec(models=[{"name": "cox", "type": "cox"}]))


@pytest.fixture(scope="module")
def trained() -> tuple[Split, CandidateResult]:
    frame = survival_frame(600, seed=0)
    split = split_dataset(SPEC, frame)
    pipeline = compile_spec(SPEC)["cox"]
    return split, train_candidate(SPEC, "cox", pipeline, split)


def test_the_split_keeps_each_rows_outcome_and_is_stratified_on_the_event() -> None:
    frame = survival_frame(600, seed=0)
    split = split_dataset(SPEC, frame)
    assert split.outcome_test is not None and split.outcome_train is not None
    rows = frame.iloc[split.test_positions]
    np.testing.assert_array_equal(split.outcome_test["time"], rows["months_active"])
    np.testing.assert_array_equal(split.outcome_test["event"], rows["churned"] == "yes")
    np.testing.assert_array_equal(split.y_test, split.outcome_test["event"])
    assert split.y_test.mean() == pytest.approx(split.y_train.mean(), abs=0.01)
    assert "months_active" not in split.X_train.columns


def test_a_survival_candidate_is_scored_on_survival_metrics_without_a_threshold(
    trained: tuple[Split, CandidateResult],
) -> None:
    split, result = trained
    assert list(result.holdout) == list(SPEC.evaluation.metrics)
    assert math.isnan(result.threshold)
    assert all(len(scores) == SPEC.evaluation.cv_folds for scores in result.cv_scores.values())
    assert 0.65 < result.holdout["harrell_c"] < 0.95
    assert result.holdout["ibs_ratio"] < 0.95
    assert 0.5 < result.cv_mean["td_auc_12"] <= 1.0
    assert result.test_proba.shape == (len(split.y_test),)
    assert ((result.test_proba >= 0) & (result.test_proba <= 1)).all()
    summary = result.summary()
    assert summary["holdout"]["harrell_c"] == result.holdout["harrell_c"]


def test_the_champion_rescored_on_the_same_rows_gives_the_same_metrics(
    trained: tuple[Split, CandidateResult],
) -> None:
    split, result = trained
    frame = survival_frame(600, seed=0)
    again = rescore(SPEC, result.pipeline, 0.5, split, frame)
    assert again == pytest.approx(result.holdout, nan_ok=True)


def test_a_classifier_champion_cannot_be_rescored_by_a_survival_run(
    trained: tuple[Split, CandidateResult],
) -> None:
    split, _ = trained
    classifier_spec = Spec.model_validate(subscriptions_spec())
    classifier = compile_spec(classifier_spec)["logreg"]
    frame = subscriptions_frame(600)
    classifier.fit(frame[classifier_spec.feature_columns], frame["churned"])
    with pytest.raises(TypeError, match="the champion is a classifier"):
        rescore(SPEC, classifier, 0.5, split, survival_frame(600, seed=0))


def test_the_winner_and_the_gates_know_which_survival_metrics_are_lower_is_better(
    trained: tuple[Split, CandidateResult],
) -> None:
    _, result = trained
    spec = Spec.model_validate(
        survival_spec(
            evaluation={"selection_metric": "ibs", "metrics": ["harrell_c", "ibs"]},
            gates={"value": [{"metric": "ibs", "upper": 0.3}]},
        )
    )
    worse = CandidateResult(**{**result.__dict__, "name": "xgb_cox"})
    worse.cv_scores = {"ibs": [0.3, 0.3], "harrell_c": [0.9, 0.9]}
    better = CandidateResult(**{**result.__dict__, "name": "cox"})
    better.cv_scores = {"ibs": [0.1, 0.1], "harrell_c": [0.7, 0.7]}
    assert select_winner(spec, {"cox": better, "xgb_cox": worse}) == "cox"
    gates = GatesSpec.model_validate(
        {"change": [{"metric": "ibs_ratio"}, {"metric": "calibration_error_6"}]}
    )
    report = evaluate_gates(
        gates,
        {"ibs_ratio": 0.50, "calibration_error_6": 0.05},
        {"ibs_ratio": 0.45, "calibration_error_6": 0.08},
    )
    verdicts = {r.metric: (r.direction, r.verdict) for r in report.results}
    assert verdicts == {
        "ibs_ratio": ("lower", "fail"),
        "calibration_error_6": ("lower", "pass"),
    }
