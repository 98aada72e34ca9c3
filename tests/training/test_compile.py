"""Compile: spec -> unfitted pipelines; YAML edits alone change the model."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np
import pytest
from factories import subscriptions_frame, subscriptions_spec
from fresh_interpreter import GROUP
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from churn.contract import target_vector
from churn.spec import ModelType, Spec
from churn.spec.estimators import MODEL_REGISTRY
from churn.training.compile import compile_spec


def compiled(spec_dict: dict[str, Any]) -> dict[str, Pipeline]:
    return compile_spec(Spec.model_validate(spec_dict))


def fingerprint(pipeline: Pipeline) -> str:
    return repr(pipeline.get_params(deep=True))


def test_one_unfitted_pipeline_per_candidate_in_spec_order() -> None:
    pipelines = compiled(subscriptions_spec())
    assert list(pipelines) == ["logreg", "trees"]
    for pipeline in pipelines.values():
        assert [name for name, _ in pipeline.steps] == ["derive", "features", "model"]
        with pytest.raises(Exception, match="not fitted"):
            check_is_fitted(pipeline.named_steps["model"])


def test_every_compiled_pipeline_survives_clone(telco_spec_path) -> None:
    from churn.spec.loader import load_spec

    for pipeline in compile_spec(load_spec(telco_spec_path)).values():
        twin = clone(pipeline)
        assert fingerprint(twin) == fingerprint(pipeline)


def test_compile_does_no_io(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = Spec.model_validate(subscriptions_spec())

    def no_open(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"compile opened a file: {args}")

    monkeypatch.setattr(builtins, "open", no_open)
    monkeypatch.setenv("CHURN_HOME", "/nonexistent")
    first, second = compile_spec(spec), compile_spec(spec)
    assert {k: fingerprint(v) for k, v in first.items()} == {
        k: fingerprint(v) for k, v in second.items()
    }


def test_model_registry_matches_the_spec_model_types() -> None:
    assert set(MODEL_REGISTRY) == set(ModelType.__args__)  # type: ignore[attr-defined]


# ---------------------------------------------------------------- editing YAML changes the model


def groups_of(pipeline: Pipeline) -> dict[str, list[str]]:
    return {name: list(cols) for name, _, cols in pipeline.named_steps["features"].transformers}


def test_dropping_a_column_from_a_group_changes_the_pipeline() -> None:
    spec = subscriptions_spec()
    spec["features"]["groups"][1]["columns"] = ["plan"]
    spec["features"]["drop"] = ["region"]
    before, after = compiled(subscriptions_spec())["logreg"], compiled(spec)["logreg"]
    assert groups_of(before)["labels"] == ["plan", "region"]
    assert groups_of(after)["labels"] == ["plan"]


def test_adding_a_derived_feature_changes_the_pipeline() -> None:
    spec = subscriptions_spec()
    spec["features"]["derived"].append(
        {"name": "tenure_band", "type": "bins", "column": "months_active", "edges": [0, 12, 60]}
    )
    spec["features"]["groups"][1]["columns"].append("tenure_band")
    pipeline = compiled(spec)["logreg"]
    names = [entry["name"] for entry in pipeline.named_steps["derive"].derived]
    assert names == ["fee_per_call", "tenure_band"]
    assert "tenure_band" in groups_of(pipeline)["labels"]
    frame = subscriptions_frame(50)
    derived = pipeline.named_steps["derive"].fit_transform(frame)
    assert set(derived["tenure_band"].dropna()) <= {"0-12", "12-60"}


def test_swapping_an_encoder_changes_the_pipeline() -> None:
    spec = subscriptions_spec()
    spec["features"]["groups"][1]["steps"] = [{"type": "ordinal"}]
    encoder = compiled(spec)["logreg"].named_steps["features"].transformers[1][1]
    assert type(encoder.steps[0][1]).__name__ == "OrdinalEncoder"
    before = compiled(subscriptions_spec())["logreg"].named_steps["features"].transformers[1][1]
    assert type(before.steps[0][1]).__name__ == "OneHotEncoder"


def test_adding_a_candidate_adds_a_pipeline() -> None:
    spec = subscriptions_spec()
    spec["models"].append(
        {
            "name": "boost",
            "type": "xgboost",
            "params": {"n_estimators": 20},
            "class_balance": "balanced",
        }
    )
    pipelines = compiled(spec)
    assert list(pipelines) == ["logreg", "trees", "boost"]
    assert type(pipelines["boost"].named_steps["model"]).__name__ == "XGBClassifier"


def test_class_balance_sets_class_weight() -> None:
    spec = subscriptions_spec()
    spec["models"][0]["class_balance"] = "balanced"
    assert compiled(spec)["logreg"].named_steps["model"].class_weight == "balanced"
    assert compiled(subscriptions_spec())["logreg"].named_steps["model"].class_weight is None


def test_spec_params_override_churn_defaults() -> None:
    spec = subscriptions_spec()
    spec["models"][0]["params"] = {"max_iter": 50, "C": 0.1}
    model = compiled(spec)["logreg"].named_steps["model"]
    assert (model.max_iter, model.C, model.random_state) == (50, 0.1, 7)


# ---------------------------------------------------------------- property: valid specs fit

NUMERIC_TAILS = st.sampled_from(
    [
        [],
        [{"type": "scale", "method": "standard"}],
        [{"type": "scale", "method": "robust"}],
        [{"type": "log"}],
        [{"type": "log"}, {"type": "scale", "method": "minmax"}],
        [{"type": "bin", "n_bins": 3}],
        [{"type": "bin", "n_bins": 4, "encode": "ordinal"}],
    ]
)
CATEGORICAL_STEPS = st.sampled_from(
    [
        [{"type": "one_hot"}],
        [{"type": "one_hot", "drop": "if_binary"}],
        [{"type": "one_hot", "min_frequency": 5, "handle_unknown": "infrequent_if_exist"}],
        [{"type": "ordinal"}],
        [{"type": "impute", "strategy": "most_frequent"}, {"type": "one_hot"}],
    ]
)
SMALL_MODELS = {
    "logistic_regression": {"max_iter": 200},
    "random_forest": {"n_estimators": 10, "max_depth": 3},
    "extra_trees": {"n_estimators": 10, "max_depth": 3},
    "hist_gradient_boosting": {"max_iter": 20},
    "xgboost": {"n_estimators": 10, "max_depth": 2},
    "dummy": {},
}


@st.composite
def valid_specs(draw: st.DrawFn) -> dict[str, Any]:
    spec = subscriptions_spec()
    use_ratio = draw(st.booleans())
    numbers = ["monthly_fee", "support_calls", "months_active"]
    if use_ratio:
        numbers.append("fee_per_call")
    else:
        spec["features"]["derived"] = []
    labels = draw(st.lists(st.sampled_from(["plan", "region"]), min_size=1, unique=True))
    spec["features"]["drop"] = [c for c in ["plan", "region"] if c not in labels]
    spec["features"]["groups"] = [
        {
            "name": "numbers",
            "columns": numbers,
            "steps": [
                {"type": "impute", "strategy": draw(st.sampled_from(["mean", "median"]))},
                *draw(NUMERIC_TAILS),
            ],
        },
        {"name": "labels", "columns": labels, "steps": draw(CATEGORICAL_STEPS)},
    ]
    kinds = draw(
        st.lists(st.sampled_from(sorted(SMALL_MODELS)), min_size=1, max_size=3, unique=True)
    )
    spec["models"] = [
        {
            "name": f"m{i}",
            "type": kind,
            "params": SMALL_MODELS[kind],
            "class_balance": draw(st.sampled_from(["none", "balanced"]))
            if kind != "dummy"
            else "none",
        }
        for i, kind in enumerate(kinds)
    ]
    return spec


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec_dict=valid_specs(), seed=st.integers(0, 1000))
def test_generated_valid_specs_compile_and_fit(spec_dict: dict[str, Any], seed: int) -> None:
    spec = Spec.model_validate(spec_dict)
    frame = subscriptions_frame(120, seed=seed)
    X, y = frame[spec.feature_columns], target_vector(spec, frame)
    for pipeline in compile_spec(spec).values():
        proba = clone(pipeline).fit(X, y).predict_proba(X)[:, 1]
        assert proba.shape == (len(frame),)
        assert np.all((proba >= 0) & (proba <= 1))


@pytest.mark.xdist_group(GROUP)
def test_a_spec_that_does_not_resample_never_loads_imbalanced_learn(
    fresh_import: dict[str, Any],
) -> None:
    """Importing the run's steps and compiling such a spec leaves imbalanced-learn unloaded: a
    second of CPU in the run's process and again in its fork server."""
    assert fresh_import["imblearn_without_resampling"] is False
