"""One fit per CV fold gives the threshold and CV scores that tuning with scikit-learn's
``TunedThresholdClassifierCV`` and then scoring with ``cross_validate`` (two fits per fold) gave."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from factories import subscriptions_frame, subscriptions_spec
from sklearn.model_selection import (
    FixedThresholdClassifier,
    StratifiedKFold,
    TunedThresholdClassifierCV,
    cross_validate,
)

from churn.spec import Spec
from churn.training.compile import compile_spec
from churn.training.evaluate import choose_threshold, split_dataset
from churn.training.metrics import SKLEARN_SCORERS, scorer
from churn.training.thresholds import profit_curve, profit_per_customer, threshold_scorer

METRICS = ["accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "brier", "profit"]
MODELS = [
    {"name": "logreg", "type": "logistic_regression"},
    {"name": "forest", "type": "random_forest", "params": {"n_estimators": 15}},
]
POLICIES: list[dict[str, Any]] = [
    *(
        {"strategy": "tuned", "metric": metric}
        for metric in ("f1", "balanced_accuracy", "precision", "recall", "accuracy")
    ),
    {"strategy": "min_recall", "recall": 0.6},
    {"strategy": "min_precision", "precision": 0.5},
    {"strategy": "max_profit"},
    {"strategy": "fixed", "value": 0.4},
]


def label(policy: dict[str, Any]) -> str:
    return "-".join(str(value) for value in policy.values())


def spec_for(policy: dict[str, Any]) -> Spec:
    evaluation = {
        "cv_folds": 3,
        "split": {"test_size": 0.25, "seed": 7},
        "metrics": METRICS,
        "threshold": policy,
        "costs": {"retained_value": 600, "offer_cost": 60, "acceptance_rate": 0.35},
    }
    return Spec.model_validate(subscriptions_spec(models=MODELS, evaluation=evaluation))


CASES = [*((policy, "logreg") for policy in POLICIES), (POLICIES[0], "forest")]


@pytest.mark.parametrize(
    ("policy", "name"), CASES, ids=lambda case: label(case) if isinstance(case, dict) else case
)
def test_one_fit_per_fold_matches_the_tuner_then_cross_validate(
    policy: dict[str, Any], name: str
) -> None:
    spec = spec_for(policy)
    split = split_dataset(spec, subscriptions_frame(240))
    pipeline = compile_spec(spec)[name]
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=7)

    threshold, cv_scores = choose_threshold(spec, pipeline, split, cv, name)

    if policy["strategy"] == "fixed":
        assert threshold == policy["value"]
    else:
        tuner = TunedThresholdClassifierCV(
            pipeline, scoring=threshold_scorer(spec), cv=cv, random_state=7
        ).fit(split.X_train, split.y_train)
        assert threshold == tuner.best_threshold_  # the same floats, not just close
    expected = cross_validate(
        FixedThresholdClassifier(pipeline, threshold=threshold, response_method="predict_proba"),
        split.X_train,
        split.y_train,
        cv=cv,
        scoring={metric: scorer(metric, spec.evaluation.costs) for metric in METRICS},
    )
    assert set(cv_scores) == set(METRICS)
    for metric in METRICS:
        sign = -1 if SKLEARN_SCORERS.get(metric, "").startswith("neg_") else 1
        want = [sign * value for value in expected[f"test_{metric}"]]
        assert cv_scores[metric] == pytest.approx(want, rel=1e-12, abs=1e-12), metric


def test_the_profit_curve_is_profit_per_customer_at_each_threshold() -> None:
    spec = spec_for({"strategy": "max_profit"})
    rng = np.random.default_rng(5)
    y, proba = rng.integers(0, 2, 500), rng.uniform(size=500)
    costs = spec.evaluation.costs
    assert costs is not None

    thresholds, profits = profit_curve(y, proba, costs)

    want = [
        profit_per_customer(y, (proba >= t).astype(np.int64), **costs.model_dump())
        for t in thresholds
    ]
    assert profits.tolist() == want
