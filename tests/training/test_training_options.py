"""Threshold policies, search, calibration, resampling and ensembles, declared in the spec."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
import yaml
from factories import subscriptions_frame, subscriptions_spec
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import StackingClassifier, VotingClassifier
from sklearn.pipeline import Pipeline

from churn.contract import load_dataset
from churn.errors import SpecError
from churn.spec import Spec
from churn.spec.loader import load_spec
from churn.training import resampling
from churn.training.compile import compile_candidate, compile_spec
from churn.training.evaluate import split_dataset, train_candidate
from churn.training.thresholds import profit_curve, profit_per_customer

COSTS = {"retained_value": 100.0, "offer_cost": 10.0, "acceptance_rate": 0.5}


def keyed_project(folder: Path, **overrides: Any) -> tuple[Spec, pd.DataFrame]:
    """The subscriptions data with a ``row_key`` column (0..n-1) read first by the model."""
    frame = subscriptions_frame(400)
    frame.insert(0, "row_key", np.arange(len(frame)))
    frame.to_csv(folder / "subscriptions.csv", index=False)
    spec = subscriptions_spec(**overrides)
    spec["columns"] = {"row_key": {"dtype": "int", "min": 0}, **spec["columns"]}
    spec["features"]["groups"].insert(0, {"name": "keys", "columns": ["row_key"]})
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    loaded = load_spec(path)
    return loaded, load_dataset(loaded)


def spec_error(folder: Path, **overrides: Any) -> str:
    path = folder / "spec.yaml"
    (folder / "subscriptions.csv").write_text("")
    path.write_text(yaml.safe_dump(subscriptions_spec(**overrides), sort_keys=False))
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    return str(caught.value)


def models(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"name": "logreg", "type": "logistic_regression"},
        {"name": "trees", "type": "random_forest", "params": {"n_estimators": 20, "n_jobs": 1}},
        *extra,
    ]


def evaluation(threshold: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"cv_folds": 3, "split": {"test_size": 0.25, "seed": 7}, "threshold": threshold, **more}


def train(spec: Spec, frame: pd.DataFrame, name: str) -> Any:
    data = split_dataset(spec, frame)
    model = spec.candidate(name)
    return train_candidate(spec, name, compile_candidate(spec, model), data)


# --------------------------------------------------------------------------- thresholds


def test_profit_counts_kept_churners_and_wasted_offers() -> None:
    y_true = np.array([1, 1, 0, 0, 1])
    y_pred = np.array([1, 0, 1, 0, 1])  # TP=2, FP=1, FN=1, TN=1
    gain = profit_per_customer(y_true, y_pred, **COSTS)
    assert gain == pytest.approx((2 * (0.5 * 100 - 10) - 1 * 10) / 5)


def test_max_profit_threshold_is_near_the_break_even_probability(tmp_path: Path) -> None:
    spec, frame = keyed_project(
        tmp_path,
        evaluation=evaluation(
            {"strategy": "max_profit"}, costs=COSTS, metrics=["roc_auc", "recall", "profit"]
        ),
    )
    result = train(spec, frame, "logreg")
    # offering pays when p * accept * value > cost: p > 10 / 50 = 0.2 (for calibrated p)
    assert 0.05 < result.threshold < 0.45
    assert result.threshold_policy.as_dict() == {
        "strategy": "max_profit",
        "threshold": result.threshold,
    }
    thresholds, profits = profit_curve(
        frame_y(spec, frame), np.full(len(frame), 0.3), spec_costs(spec)
    )
    assert len(thresholds) == len(profits)
    assert "profit" in result.holdout


def frame_y(spec: Spec, frame: pd.DataFrame) -> np.ndarray:
    from churn.contract import target_vector

    return target_vector(spec, frame)


def spec_costs(spec: Spec) -> Any:
    assert spec.evaluation.costs is not None
    return spec.evaluation.costs


def test_min_recall_gives_a_lower_threshold_than_min_precision(tmp_path: Path) -> None:
    recall_spec, frame = keyed_project(
        tmp_path, evaluation=evaluation({"strategy": "min_recall", "recall": 0.9})
    )
    precision_spec, _ = keyed_project(
        tmp_path, evaluation=evaluation({"strategy": "min_precision", "precision": 0.8})
    )
    by_recall = train(recall_spec, frame, "logreg")
    by_precision = train(precision_spec, frame, "logreg")
    assert by_recall.threshold < by_precision.threshold
    assert np.mean(by_recall.cv_scores["recall"]) >= 0.85


def test_a_threshold_policy_no_threshold_meets_is_a_spec_error_not_a_silent_threshold(
    tmp_path: Path,
) -> None:
    spec, frame = keyed_project(
        tmp_path, evaluation=evaluation({"strategy": "min_precision", "precision": 1.0})
    )
    with pytest.raises(SpecError) as caught:
        train(spec, frame, "logreg")
    message = str(caught.value)
    assert f"{tmp_path / 'spec.yaml'}:" in message
    assert "evaluation.threshold.precision: candidate 'logreg': no threshold reaches " in message
    assert "precision 1 across the training folds (the policy cannot be met" in message


def test_max_profit_without_costs_is_a_spec_error_with_its_line(tmp_path: Path) -> None:
    message = spec_error(tmp_path, evaluation=evaluation({"strategy": "max_profit"}))
    assert "evaluation.threshold.strategy: max_profit needs an evaluation.costs block" in message
    assert "spec.yaml:" in message


def test_an_unknown_threshold_strategy_lists_the_known_ones(tmp_path: Path) -> None:
    message = spec_error(tmp_path, evaluation=evaluation({"strategy": "best"}))
    assert "evaluation.threshold: unknown type 'best'" in message
    assert "'min_recall'" in message


def test_a_bad_policy_value_is_reported_at_its_own_path(tmp_path: Path) -> None:
    message = spec_error(tmp_path, evaluation=evaluation({"strategy": "min_recall", "recall": 2}))
    assert "evaluation.threshold.recall: expected less than or equal to 1, got 2" in message


# --------------------------------------------------------------------------- ensembles


def test_ensembles_compile_over_the_members_model_steps(tmp_path: Path) -> None:
    spec, _ = keyed_project(
        tmp_path,
        models=models(
            {"name": "vote", "type": "soft_voting", "members": ["logreg", "trees"]},
            {"name": "stack", "type": "stacking", "members": ["logreg", "trees"]},
        ),
    )
    compiled = compile_spec(spec)
    vote, stack = compiled["vote"].named_steps["model"], compiled["stack"].named_steps["model"]
    assert isinstance(vote, VotingClassifier) and vote.voting == "soft"
    assert isinstance(stack, StackingClassifier)
    assert [name for name, _ in vote.estimators] == ["logreg", "trees"]


def test_an_ensemble_trains_and_its_summary_names_its_members(tmp_path: Path) -> None:
    spec, frame = keyed_project(
        tmp_path,
        models=models({"name": "vote", "type": "soft_voting", "members": ["logreg", "trees"]}),
        evaluation=evaluation({"strategy": "tuned", "metric": "f1"}),
    )
    result = train(spec, frame, "vote")
    assert result.summary()["members"] == ["logreg", "trees"]
    assert result.holdout["roc_auc"] > 0.6


def test_an_ensemble_of_an_unknown_member_is_a_spec_error(tmp_path: Path) -> None:
    message = spec_error(
        tmp_path, models=models({"name": "vote", "type": "soft_voting", "members": ["logreg", "x"]})
    )
    assert "models[2].members[1]: expected the name of an estimator candidate" in message


# --------------------------------------------------------------------------- search


@pytest.mark.parametrize("method", ["random", "halving"])
def test_a_search_records_its_best_params_and_top_rows(tmp_path: Path, method: str) -> None:
    search = {
        "method": method,
        "n_iter": 4,
        "cv": 2,
        "top": 3,
        "space": {
            "C": {"type": "float", "low": 0.01, "high": 10, "log": True},
            "class_weight": {"type": "choice", "values": [None, "balanced"]},
        },
    }
    spec, frame = keyed_project(
        tmp_path, models=[{"name": "logreg", "type": "logistic_regression", "search": search}]
    )
    result = train(spec, frame, "logreg")
    record = result.summary()["search"]
    assert set(record["best_params"]) == {"C", "class_weight"}
    assert 0.01 <= record["best_params"]["C"] <= 10
    assert result.params["C"] == record["best_params"]["C"]
    assert record["best_params"]["C"] == result.pipeline.named_steps["model"].C
    assert 1 <= len(record["table"]) <= 3
    assert record["table"][0]["rank"] == 1


def test_a_search_over_an_unknown_parameter_is_a_spec_error(tmp_path: Path) -> None:
    search = {"space": {"depth": {"type": "int", "low": 1, "high": 3}}}
    message = spec_error(
        tmp_path, models=[{"name": "logreg", "type": "logistic_regression", "search": search}]
    )
    assert "models[0].search.space.depth: unknown parameter for logistic_regression" in message


# --------------------------------------------------------------------------- calibration


def test_calibration_wraps_the_model_and_records_brier_before_and_after(tmp_path: Path) -> None:
    spec, frame = keyed_project(
        tmp_path,
        models=[
            {
                "name": "trees",
                "type": "random_forest",
                "params": {"n_estimators": 20, "n_jobs": 1},
                "calibration": {"method": "isotonic", "cv": 3},
            }
        ],
    )
    result = train(spec, frame, "trees")
    assert isinstance(result.pipeline, Pipeline)
    assert isinstance(result.pipeline.named_steps["model"], CalibratedClassifierCV)
    record = result.summary()["calibration"]
    assert record["method"] == "isotonic"
    assert record["brier_after"] == pytest.approx(result.holdout["brier"])
    assert record["brier_before"] > 0
    assert result.uncalibrated_proba is not None
    assert not np.array_equal(result.uncalibrated_proba, result.test_proba)


# --------------------------------------------------------------------------- leakage


class KeySpy(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Passes X through; records the row keys of every fit and every transform."""

    fits: ClassVar[list[set[int]]] = []
    transforms: ClassVar[list[set[int]]] = []

    def fit(self, X: pd.DataFrame, y: Any = None) -> KeySpy:
        KeySpy.fits.append(set(X["row_key"].astype(int)))
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        KeySpy.transforms.append(set(X["row_key"].astype(int)))
        return X


class SamplerSpy(BaseEstimator):  # type: ignore[misc]
    """Records the row keys (column 0 of the encoded features) of every resampling call."""

    calls: ClassVar[list[set[int]]] = []

    def fit_resample(self, X: Any, y: Any) -> tuple[Any, Any]:
        SamplerSpy.calls.append(set(np.asarray(X)[:, 0].astype(int)))
        return X, y


def test_search_thresholds_calibration_and_resampling_never_see_hold_out_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(resampling.SAMPLERS, "random_under", lambda s, seed: SamplerSpy())
    KeySpy.fits.clear(), KeySpy.transforms.clear(), SamplerSpy.calls.clear()
    model = {
        "name": "logreg",
        "type": "logistic_regression",
        "resample": {"type": "random_under"},
        "calibration": {"method": "sigmoid", "cv": 2},
        "search": {"n_iter": 2, "cv": 2, "space": {"C": {"type": "float", "low": 0.1, "high": 1}}},
    }
    spec, frame = keyed_project(
        tmp_path, models=[model], evaluation=evaluation({"strategy": "tuned", "metric": "f1"})
    )
    data = split_dataset(spec, frame)
    pipeline = compile_candidate(spec, spec.models[0])
    spied = Pipeline([("spy", KeySpy()), *pipeline.steps])
    train_candidate(spec, "logreg", spied, data)
    train_keys = set(data.X_train["row_key"])
    test_keys = set(data.X_test["row_key"])
    # the search's fits, one per CV fold (threshold and scores), the final and uncalibrated fits
    assert len(KeySpy.fits) >= 8 and len(SamplerSpy.calls) >= 8
    assert all(keys <= train_keys for keys in KeySpy.fits)
    assert all(keys <= train_keys for keys in SamplerSpy.calls)
    hold_out_scoring = [keys for keys in KeySpy.transforms if keys & test_keys]
    # the final scoring of the hold-out: calibrated, and the uncalibrated model for the report
    assert hold_out_scoring == [test_keys, test_keys]
    assert all(keys <= train_keys for keys in KeySpy.transforms if not keys & test_keys)


def test_shuffled_labels_give_a_hold_out_roc_auc_near_one_half(tmp_path: Path) -> None:
    spec, frame = keyed_project(tmp_path)
    shuffled = frame.copy()
    shuffled["churned"] = np.random.default_rng(3).permutation(frame["churned"].to_numpy())
    aucs = [train(spec, shuffled, name).holdout["roc_auc"] for name in ("logreg", "trees")]
    assert all(abs(auc - 0.5) < 0.12 for auc in aucs), aucs


def test_smotenc_keeps_one_hot_columns_zero_or_one() -> None:
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=200), rng.integers(0, 2, 200), rng.normal(size=200)])
    y = (rng.uniform(size=200) < 0.2).astype(int)
    sampler = resampling.BinaryAsCategoricalSMOTENC(random_state=0)
    X_new, y_new = sampler.fit_resample(X, y)
    assert np.sum(y_new == 1) == np.sum(y_new == 0)
    assert set(np.unique(X_new[:, 1])) <= {0.0, 1.0}


# --------------------------------------------------------------------------- serving


def test_ensembles_calibrated_and_resampled_models_keep_the_fast_serving_path(
    tmp_path: Path,
) -> None:
    from churn.serving.fast_scorer import FastScorer

    spec, frame = keyed_project(
        tmp_path,
        models=models(
            {"name": "vote", "type": "soft_voting", "members": ["logreg", "trees"]},
            {
                "name": "calibrated",
                "type": "logistic_regression",
                "calibration": {"method": "isotonic", "cv": 2},
            },
            {"name": "smote", "type": "logistic_regression", "resample": {"type": "smotenc"}},
        ),
    )
    data = split_dataset(spec, frame)
    inputs = {name: spec.columns[name] for name in spec.feature_columns}
    for name in ("vote", "calibrated", "smote"):
        result = train(spec, frame, name)
        scorer = FastScorer(result.pipeline, inputs)
        assert scorer.fast, (name, scorer.reason)
        columns = {c: data.X_test[c].tolist() for c in spec.feature_columns}
        fast = scorer.predict_proba(columns, len(data.X_test))
        assert np.array_equal(fast, result.test_proba), name
