"""Exact contributions per model type: they add up to the model's own output, before and after
summing to spec columns, on a synthetic table and on the Telco spec."""

from __future__ import annotations

import copy
import itertools
from math import factorial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from factories import subscriptions_frame, subscriptions_spec
from sklearn.ensemble import RandomForestClassifier, VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from churn.contract import load_dataset
from churn.contract.dataset import target_vector
from churn.explain import PipelineExplainer, Unexplainable
from churn.explain.models import model_explainer
from churn.spec import Spec
from churn.spec.candidates import CalibrationSpec
from churn.spec.loader import load_spec
from churn.training.compile import compile_spec
from churn.training.evaluate import calibrated

ROOT = Path(__file__).resolve().parents[2]
TOLERANCE = 1e-6

MODELS: list[dict[str, Any]] = [
    {"name": "logreg", "type": "logistic_regression"},
    {"name": "forest", "type": "random_forest", "params": {"n_estimators": 20, "max_depth": 5}},
    {"name": "extra", "type": "extra_trees", "params": {"n_estimators": 15, "max_depth": 5}},
    {"name": "hist", "type": "hist_gradient_boosting", "params": {"max_iter": 30}},
    {"name": "xgb", "type": "xgboost", "params": {"n_estimators": 40, "max_depth": 3}},
    {"name": "dummy", "type": "dummy"},
    {"name": "under", "type": "logistic_regression", "resample": {"type": "random_under"}},
    {"name": "vote", "type": "soft_voting", "members": ["logreg", "forest", "xgb"],
     "weights": [1, 2, 1]},
    {"name": "stack", "type": "stacking", "members": ["logreg", "hist", "xgb"], "cv": 3},
]  # fmt: skip


def own_output(pipeline: Pipeline, frame: pd.DataFrame, scale: str) -> np.ndarray:
    """The model's own additive output on ``scale``, computed by the model itself."""
    model = pipeline.steps[-1][1]
    encoded = pipeline[:-1].transform(frame)
    if scale == "probability":
        return np.asarray(model.predict_proba(encoded)[:, 1], dtype=np.float64)
    if hasattr(model, "get_booster"):
        return np.asarray(model.predict(encoded, output_margin=True), dtype=np.float64)
    return np.asarray(model.decision_function(encoded), dtype=np.float64)


def fitted(spec: Spec, frame: pd.DataFrame) -> dict[str, Pipeline]:
    y = target_vector(spec, frame)
    pipelines = compile_spec(spec)
    pipelines["calibrated_xgb"] = calibrated(
        pipelines["xgb"], CalibrationSpec(method="sigmoid", cv=3), seed=1
    )
    pipelines["isotonic_forest"] = calibrated(
        pipelines["forest"], CalibrationSpec(method="isotonic", cv=3), seed=1
    )
    X = frame[spec.feature_columns]
    return {name: pipeline.fit(X, y) for name, pipeline in pipelines.items()}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Spec, pd.DataFrame, dict]:
    spec = Spec.model_validate(subscriptions_spec(models=MODELS))
    frame = subscriptions_frame(500, seed=3)
    return spec, frame, fitted(spec, frame)


@pytest.mark.parametrize(
    "name", [m["name"] for m in MODELS] + ["calibrated_xgb", "isotonic_forest"]
)
def test_contributions_add_up_to_the_models_own_output(synthetic, name: str) -> None:
    spec, _, pipelines = synthetic
    pipeline = pipelines[name]
    rows = subscriptions_frame(120, seed=11)[spec.feature_columns]
    explainer = PipelineExplainer(pipeline)
    encoded = np.asarray(pipeline[:-1].transform(rows), dtype=np.float64)
    attribution = model_explainer(pipeline.steps[-1][1])(encoded)
    explanation, _ = explainer.explain_frame(rows)
    expected = own_output(pipeline, rows, explanation.scale)
    assert attribution.values.shape[1] > explanation.contributions.shape[1]
    np.testing.assert_allclose(attribution.output, expected, rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(explanation.output, expected, rtol=0, atol=TOLERANCE)
    assert attribution.rounding < 1e-5  # float32 TreeSHAP sums, moved into the base
    assert explanation.columns == [
        "monthly_fee", "support_calls", "months_active", "fee_per_call", "plan", "region"
    ]  # fmt: skip
    if name != "dummy":
        assert np.abs(explanation.contributions).sum() > 0


@pytest.mark.slow  # trains the Telco spec's candidates (600 boosting rounds, 100 deep trees)
def test_telco_candidates_add_up_on_the_telco_spec() -> None:
    spec = load_spec(ROOT / "spec" / "telco.yaml")
    frame = load_dataset(spec).sample(1500, random_state=0)
    pipelines = fitted(spec, frame)
    rows = frame[spec.feature_columns].head(200)
    for name, pipeline in pipelines.items():
        explanation, values = PipelineExplainer(pipeline).explain_frame(rows)
        expected = own_output(pipeline, rows, explanation.scale)
        np.testing.assert_allclose(
            explanation.output, expected, rtol=0, atol=TOLERANCE, err_msg=name
        )
        assert "Contract" in explanation.columns and "tenure_band" in explanation.columns
        assert not any(column.startswith("Contract_") for column in explanation.columns)
        assert set(values["Contract"]) <= {"Month-to-month", "One year", "Two year"}


def test_hard_voting_and_a_model_outside_a_pipeline_are_refused_by_name() -> None:
    X = np.random.default_rng(0).normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    hard = VotingClassifier(
        [("a", LogisticRegression()), ("b", LogisticRegression(C=0.1))], voting="hard"
    ).fit(X, y)
    with pytest.raises(Unexplainable, match="hard voting"):
        model_explainer(hard)
    with pytest.raises(Unexplainable, match="ColumnTransformer"):
        PipelineExplainer(Pipeline([("model", LogisticRegression().fit(X, y))]))


# --------------------------------------------------------------------------- TreeSHAP exactness


def _conditional(tree: Any, x: np.ndarray, known: set[int], node: int = 0) -> float:
    """E[f(x) | x_S] as path-dependent TreeSHAP defines it: follow known features, average the
    children by their training weight otherwise (the definition, written out)."""
    left, right = tree.children_left[node], tree.children_right[node]
    if left < 0:
        value = tree.value[node, 0]
        return float(value[1] / value.sum())
    feature = tree.feature[node]
    if feature in known:
        child = left if np.float32(x[feature]) <= tree.threshold[node] else right
        return _conditional(tree, x, known, child)
    weights = tree.weighted_n_node_samples
    share = weights[left] / weights[node]
    return share * _conditional(tree, x, known, left) + (1 - share) * _conditional(
        tree, x, known, right
    )


def _brute_force_shapley(forest: RandomForestClassifier, x: np.ndarray) -> np.ndarray:
    n = len(x)
    phi = np.zeros(n)
    weight = [factorial(s) * factorial(n - s - 1) / factorial(n) for s in range(n)]
    for tree in (estimator.tree_ for estimator in forest.estimators_):
        for j in range(n):
            others = [k for k in range(n) if k != j]
            for size in range(n):
                for subset in itertools.combinations(others, size):
                    known = set(subset)
                    gain = _conditional(tree, x, known | {j}) - _conditional(tree, x, known)
                    phi[j] += weight[size] * gain / len(forest.estimators_)
    return phi


def test_forest_treeshap_equals_the_shapley_values_by_definition() -> None:
    rng = np.random.default_rng(5)
    X = rng.normal(size=(400, 4))
    y = ((X[:, 0] + X[:, 1] * X[:, 2] + rng.normal(scale=0.5, size=400)) > 0).astype(int)
    forest = RandomForestClassifier(n_estimators=4, max_depth=4, random_state=0).fit(X, y)
    attribution = model_explainer(forest)(X[:6])
    for row in range(6):
        np.testing.assert_allclose(
            attribution.values[row], _brute_force_shapley(forest, X[row]), rtol=0, atol=1e-6
        )


def test_logistic_regression_reasons_are_measured_from_the_training_means(synthetic) -> None:
    spec, frame, pipelines = synthetic
    pipeline = pipelines["logreg"]
    model = pipeline.steps[-1][1]
    rows = frame[spec.feature_columns]
    encoded = np.asarray(pipeline[:-1].transform(rows), dtype=np.float64)
    np.testing.assert_allclose(model.feature_means_, encoded.mean(axis=0), rtol=0, atol=1e-12)
    explanation, _ = PipelineExplainer(pipeline).explain_frame(rows)  # the training rows
    np.testing.assert_allclose(explanation.contributions.mean(axis=0), 0.0, atol=1e-9)
    assert np.abs(explanation.contributions[:, explanation.columns.index("plan")]).max() > 0.01
    old = copy.deepcopy(model)
    del old.feature_means_  # a model trained before the means were kept: measured from zero
    attribution = model_explainer(old)(encoded)
    assert attribution.base[0] == model.intercept_[0]
    np.testing.assert_allclose(
        attribution.output, model.decision_function(encoded), rtol=0, atol=TOLERANCE
    )
