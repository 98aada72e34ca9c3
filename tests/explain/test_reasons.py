"""Reasons: a planted column that alone drives the label comes first for every positive row;
a row's reasons do not depend on the other rows; the API refuses explain on an unexplainable
champion by naming the parameter."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
import pytest
from factories import subscriptions_frame, subscriptions_spec
from fastapi.exceptions import RequestValidationError

from churn.api.explained import explained
from churn.contract.dataset import target_vector
from churn.explain import PipelineExplainer, global_importance, reason_table
from churn.serving import FastScorer
from churn.serving.model import ServingModel
from churn.spec import Spec
from churn.training.compile import compile_spec

MODELS: list[dict[str, Any]] = [
    {"name": "logreg", "type": "logistic_regression"},
    {"name": "forest", "type": "random_forest", "params": {"n_estimators": 20, "max_depth": 4}},
    {"name": "hist", "type": "hist_gradient_boosting", "params": {"max_iter": 20}},
    {"name": "xgb", "type": "xgboost", "params": {"n_estimators": 30, "max_depth": 3}},
    {"name": "vote", "type": "soft_voting", "members": ["logreg", "xgb"]},
]


def planted_frame(rows: int, seed: int) -> pd.DataFrame:
    """The subscriptions table with ``churned`` set by the plan alone (enterprise churns)."""
    frame = subscriptions_frame(rows, seed=seed)
    frame["churned"] = (frame["plan"] == "enterprise").astype(int)
    return frame


@pytest.fixture(scope="module")
def planted() -> tuple[Spec, dict[str, Any]]:
    spec = Spec.model_validate(subscriptions_spec(models=MODELS))
    frame = planted_frame(600, seed=1)
    y = target_vector(spec, frame)
    pipelines = {
        name: pipeline.fit(frame[spec.feature_columns], y)
        for name, pipeline in compile_spec(spec).items()
    }
    return spec, pipelines


@pytest.mark.parametrize("name", [m["name"] for m in MODELS])
def test_the_planted_column_is_every_positive_rows_first_reason(planted, name: str) -> None:
    spec, pipelines = planted
    rows = planted_frame(200, seed=2)
    explanation, values = PipelineExplainer(pipelines[name]).explain_frame(
        rows[spec.feature_columns]
    )
    firsts = [why[0] for why in explanation.reasons(values, 3)]
    positives = np.flatnonzero(rows["churned"].to_numpy() == 1)
    assert len(positives) > 10
    for row in positives:
        assert firsts[row].column == "plan" and firsts[row].value == "enterprise"
        assert firsts[row].direction == "raises"
    importance = global_importance(explanation.columns, explanation.contributions)
    assert importance[0][0] == "plan"


@pytest.mark.parametrize("name", [m["name"] for m in MODELS])
def test_reasons_do_not_depend_on_row_order_or_batch(planted, name: str) -> None:
    spec, pipelines = planted
    explainer = PipelineExplainer(pipelines[name])
    rows = subscriptions_frame(90, seed=4)[spec.feature_columns]
    whole, values = explainer.explain_frame(rows)
    order = np.random.default_rng(0).permutation(len(rows))
    shuffled, _ = explainer.explain_frame(rows.iloc[order])
    np.testing.assert_allclose(shuffled.contributions, whole.contributions[order], atol=1e-12)
    for start in (0, 37, 89):
        alone, alone_values = explainer.explain_frame(rows.iloc[start : start + 1])
        assert alone.reasons(alone_values, 4)[0] == whole.reasons(values, 4)[start]
    table = reason_table(whole.columns, whole.contributions, [values[c] for c in whole.columns], 2)
    picked = [why[0].column for why in whole.reasons(values, 2)]
    assert table["reason_1"].tolist() == picked


def test_the_fast_path_encodes_exactly_what_the_pipeline_feeds_its_model(planted) -> None:
    spec, pipelines = planted
    rows = subscriptions_frame(40, seed=6)[spec.feature_columns]
    columns = {name: rows[name].tolist() for name in rows.columns}
    scorer = FastScorer(pipelines["xgb"], {c: spec.columns[c] for c in spec.feature_columns})
    assert scorer.fast
    encoded, values = scorer.encoded(columns, len(rows))
    np.testing.assert_array_equal(encoded, pipelines["xgb"][:-1].transform(rows))
    assert list(values["plan"]) == rows["plan"].tolist()


def test_explain_on_a_champion_without_an_explanation_names_the_parameter(planted) -> None:
    spec, pipelines = planted
    scorer = FastScorer(pipelines["logreg"], {c: spec.columns[c] for c in spec.feature_columns})
    model = ServingModel("r1", scorer, 0.5, {}, explain_off="hard voting (a majority ...)")
    with pytest.raises(RequestValidationError) as raised:
        explained(model, {}, 0, 3)
    (error,) = raised.value.errors()
    assert error["loc"] == ("query", "explain") and "hard voting" in error["msg"]
    assert dataclasses.replace(model, explain_off=None).explainer is None
