"""The fast scorer returns exactly the pipeline's probabilities, for every model and step type.

Equality is exact (``==`` on float64, no tolerance): the fast path hands every fitted transformer
the same dtypes and values the pipeline's own DataFrame conversion does, so there is nothing to
round differently. The reference for one record is ``pipeline.predict_proba`` on a one-row frame,
for n records on the n-row frame: a linear model's dot product may differ in the last bits
between a one-row and a many-row call (BLAS picks another kernel), in the pipeline itself.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from factories import subscriptions_frame
from sklearn.preprocessing import PowerTransformer

from churn.contract import load_dataset
from churn.serving import FastScorer, records_frame, serve_single_threaded, single_openmp_thread
from churn.spec import Spec
from churn.spec.estimators import MODEL_REGISTRY
from churn.spec.loader import load_spec
from churn.spec.survival import SURVIVAL_MODEL_TYPES
from churn.training.compile import compile_candidate
from churn.training.evaluate import split_dataset

ROWS_PER_KIND = 5
"""One-record comparisons per pipeline and kind of row (missing value, unseen category,
ordinary), spread over the hold-out; each costs a pipeline call of 10-30 ms (three quarters of
the file's time with 15 a kind). Every hold-out row is compared in the batch calls as well."""

MODELS: dict[str, dict[str, Any]] = {
    "logistic_regression": {},
    "random_forest": {"n_estimators": 20, "max_depth": 5, "n_jobs": -1},
    "extra_trees": {"n_estimators": 20, "max_depth": 5, "n_jobs": -1},
    "hist_gradient_boosting": {"max_iter": 30},
    "xgboost": {"n_estimators": 30, "max_depth": 3},
    "dummy": {},
}

COLUMNS: dict[str, Any] = {
    "account_id": {"dtype": "str", "unique": True},
    "plan": {"dtype": "category", "values": ["basic", "pro", "enterprise"]},
    "region": {"dtype": "category", "values": ["north", "south", "east", "west"]},
    "contract": {"dtype": "category", "values": ["monthly", "yearly"]},
    "channel": {"dtype": "str", "nullable": True},
    "monthly_fee": {"dtype": "float", "min": 0, "nullable": True},
    "support_calls": {"dtype": "int", "min": 0},
    "months_active": {"dtype": "int", "min": 0},
    "autopay": {"dtype": "bool"},
    "churned": {"dtype": "int", "values": [0, 1]},
}

ROW_COLUMNS = ["monthly_fee", "support_calls", "months_active"]
"""Read across by the sum, mean, min and max features (the fee is missing in some rows)."""

DERIVED: list[dict[str, Any]] = [
    {
        "name": "fee_per_call",
        "type": "ratio",
        "numerator": "monthly_fee",
        "denominator": "support_calls",
    },
    {
        "name": "fee_minus_calls",
        "type": "difference",
        "left": "monthly_fee",
        "right": "support_calls",
    },
    {"name": "fee_x_months", "type": "product", "columns": ["monthly_fee", "months_active"]},
    {
        "name": "months_band",
        "type": "bins",
        "column": "months_active",
        "edges": [0, 12, 24, 60],
        "labels": ["new", "mid", "old"],
        "right": False,
    },
    {"name": "fee_band", "type": "bins", "column": "monthly_fee", "edges": [0, 40, 80, 200]},
    *(
        {"name": f"{how}_{nulls}", "type": how, "columns": ROW_COLUMNS, "nulls": nulls}
        for how in ("sum", "mean", "min", "max")
        for nulls in ("propagate", "skip")
    ),
    {
        "name": "picked",
        "type": "count",
        "columns": ["plan", "region", "contract", "channel"],
        "values": ["pro", "north", "yearly", "web"],
    },
    {"name": "dear", "type": "compare", "left": "monthly_fee", "op": ">", "right": 60},
    {
        "name": "calls_ge_months",
        "type": "compare",
        "left": "support_calls",
        "op": ">=",
        "right": "months_active",
    },
    {"name": "year_one", "type": "compare", "left": "months_active", "op": "==", "right": 12},
    {"name": "fee_clipped", "type": "clip", "column": "monthly_fee", "lower": 20, "upper": 100},
    {"name": "months_root", "type": "power", "column": "months_active", "exponent": 0.5},
    {"name": "per_fee", "type": "power", "column": "monthly_fee", "exponent": -1},
    {"name": "calls_log", "type": "log1p", "column": "support_calls"},
]

EVERY_STEP: list[dict[str, Any]] = [
    {
        "name": "amounts",
        "columns": ["monthly_fee", "fee_x_months"],
        "steps": [{"type": "impute", "strategy": "mean"}, {"type": "log"}, {"type": "scale"}],
    },
    {
        "name": "ratios",
        "columns": ["fee_per_call", "fee_minus_calls"],
        "steps": [
            {"type": "impute", "strategy": "median", "add_indicator": True},
            {"type": "scale", "method": "robust"},
        ],
    },
    {
        "name": "calls",
        "columns": ["support_calls"],
        "steps": [
            {"type": "bin", "n_bins": 3, "strategy": "uniform", "encode": "ordinal"},
            {"type": "scale", "method": "minmax"},
        ],
    },
    {
        "name": "months",
        "columns": ["months_active"],
        "steps": [{"type": "bin", "n_bins": 4, "strategy": "quantile"}],
    },
    {"name": "flags", "columns": ["autopay"]},
    {"name": "plans", "columns": ["plan"], "steps": [{"type": "one_hot", "drop": "first"}]},
    {
        "name": "contracts",
        "columns": ["contract"],
        "steps": [{"type": "one_hot", "drop": "if_binary"}],
    },
    {
        "name": "regions",
        "columns": ["region"],
        "steps": [
            {"type": "impute", "strategy": "most_frequent"},
            {"type": "ordinal", "categories": [["north", "south", "east", "west"]]},
        ],
    },
    {
        "name": "channels",
        "columns": ["channel"],
        "steps": [
            {"type": "impute", "strategy": "constant", "fill_value": "none"},
            {"type": "one_hot"},
        ],
    },
    {"name": "bands", "columns": ["months_band", "fee_band"], "steps": [{"type": "ordinal"}]},
]

MISSING_AS_CATEGORIES: list[dict[str, Any]] = [
    {
        "name": "numbers",
        "columns": ["monthly_fee", "support_calls", "months_active"],
        "steps": [{"type": "impute"}, {"type": "scale", "method": "minmax"}],
    },
    {"name": "flags", "columns": ["autopay"]},
    {"name": "labels", "columns": ["plan", "region", "contract"], "steps": [{"type": "one_hot"}]},
    {"name": "channels", "columns": ["channel"], "steps": [{"type": "one_hot"}]},
    {"name": "bands", "columns": ["fee_band"], "steps": [{"type": "one_hot", "drop": "first"}]},
]


ROW_FEATURES: list[dict[str, Any]] = [
    {
        "name": "across",
        "columns": [
            f"{how}_{nulls}"
            for how in ("sum", "mean", "min", "max")
            for nulls in ("propagate", "skip")
        ],
        "steps": [{"type": "impute", "strategy": "median"}, {"type": "scale"}],
    },
    {
        "name": "flags_and_counts",
        "columns": ["picked", "dear", "calls_ge_months", "year_one"],
        "steps": [{"type": "impute", "strategy": "most_frequent"}],
    },
    {
        "name": "shapes",
        "columns": ["fee_clipped", "months_root", "per_fee", "calls_log"],
        "steps": [{"type": "impute", "strategy": "mean"}],
    },
    {"name": "rates", "columns": ["plan", "region"], "steps": [{"type": "target_encode"}]},
    {
        "name": "channel_rate",
        "columns": ["channel"],
        "steps": [{"type": "target_encode", "smooth": 5.0, "cv": 3}, {"type": "scale"}],
    },
    {"name": "contracts", "columns": ["contract"], "steps": [{"type": "one_hot"}]},
    {"name": "flags", "columns": ["autopay"]},
]
"""Every row feature and the target encoder (first step, and before a scaler; missing and unseen
channels included)."""


def frame(rows: int = 1600, seed: int = 3) -> pd.DataFrame:
    """Subscriptions with missing fees, missing and never-before-seen channels, and flags."""
    rng = np.random.default_rng(seed)
    data = subscriptions_frame(rows, seed=seed)
    data["contract"] = rng.choice(["monthly", "yearly"], size=rows)
    channel = rng.choice(["web", "store", "phone"], size=rows).astype(object)
    channel[rng.uniform(size=rows) < 0.05] = None
    unseen = rng.uniform(size=rows) < 0.04
    channel[unseen] = [f"promo-{i}" for i in range(int(unseen.sum()))]
    data["channel"] = channel
    data["autopay"] = rng.uniform(size=rows) < 0.4
    data.loc[rng.uniform(size=rows) < 0.06, "monthly_fee"] = np.nan
    return data


def write_spec(
    folder: Path, groups: list[dict[str, Any]], model: str, columns: dict[str, Any] | None = None
) -> Spec:
    """Write data and spec into ``folder``; return the loaded spec."""
    frame().to_csv(folder / "data.csv", index=False)
    used = {column for group in groups for column in group["columns"]}
    document = {
        "version": 1,
        "name": "fast-path",
        "data": {
            "source": "data.csv",
            "id": "account_id",
            "target": {"column": "churned", "positive": 1},
        },
        "columns": columns or COLUMNS,
        "features": {"derived": [d for d in DERIVED if d["name"] in used], "groups": groups},
        "models": [{"name": "m", "type": model, "params": MODELS[model]}],
        "evaluation": {"cv_folds": 2, "split": {"test_size": 0.25, "seed": 5}},
    }
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return load_spec(path)


def fitted(spec: Spec) -> tuple[Any, pd.DataFrame]:
    """The spec's only candidate fitted on the training part, and the hold-out rows."""
    data = split_dataset(spec, load_dataset(spec))
    pipeline = compile_candidate(spec, spec.models[0]).fit(data.X_train, data.y_train)
    return serve_single_threaded(pipeline), data.X_test


def as_columns(rows: pd.DataFrame) -> dict[str, list[Any]]:
    """Rows as the API hands them over: plain Python values, None for missing."""
    return {
        name: [None if isinstance(v, float) and v != v else v for v in rows[name].tolist()]
        for name in rows.columns
    }


def single_rows(rows: pd.DataFrame) -> list[int]:
    """Positions of rows with a missing value, with an unseen category, and ordinary ones."""
    missing = rows["monthly_fee"].isna().to_numpy()
    unseen = ~rows["channel"].isin(["web", "store", "phone"]).to_numpy()
    kinds = (missing, unseen & ~missing, ~(missing | unseen))
    picked: list[int] = []
    for kind in kinds:
        positions = np.flatnonzero(kind)
        step = max(1, len(positions) // ROWS_PER_KIND)
        picked += [int(i) for i in positions[::step][:ROWS_PER_KIND]]
    return picked


def reference(pipeline: Any, rows: pd.DataFrame) -> np.ndarray:
    """The pipeline's own P(churn); OpenMP on one thread only to keep hgb's timing sane."""
    with single_openmp_thread():
        return pipeline.predict_proba(rows)[:, 1].astype(np.float64)


def assert_same_as_pipeline(
    scorer: FastScorer, pipeline: Any, rows: pd.DataFrame, specs: dict[str, Any]
) -> None:
    expected = reference(pipeline, rows)
    batch = scorer.predict_proba(as_columns(rows), len(rows))
    assert batch.dtype == np.float64
    assert np.array_equal(batch, expected), np.flatnonzero(batch != expected)[:10]
    framed = scorer.predict_proba_frame(records_frame(as_columns(rows), specs))
    assert np.array_equal(framed, expected)
    for i in single_rows(rows):
        one = rows.iloc[[i]]
        got = scorer.predict_proba(as_columns(one), 1)
        assert got[0] == reference(pipeline, one)[0], (i, one.to_dict("records"))


def inputs(spec: Spec) -> dict[str, Any]:
    return {name: spec.columns[name] for name in spec.feature_columns}


def test_models_cover_every_type_in_the_registry() -> None:
    # survival types: their fast path is tested in tests/survival/test_survival_serving.py
    assert set(MODELS) == set(MODEL_REGISTRY) - set(SURVIVAL_MODEL_TYPES)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_fast_path_equals_the_pipeline_for_every_model_and_step_type(
    tmp_path: Path, model: str
) -> None:
    spec = write_spec(tmp_path, EVERY_STEP, model)
    pipeline, rows = fitted(spec)
    scorer = FastScorer(pipeline, inputs(spec))
    assert scorer.fast, scorer.reason
    assert len(rows) == 400 and rows["monthly_fee"].isna().any()
    assert not rows["channel"].isin(["web", "store", "phone"]).all()
    assert_same_as_pipeline(scorer, pipeline, rows, inputs(spec))


@pytest.mark.parametrize("model", ["logistic_regression", "xgboost"])
def test_fast_path_equals_the_pipeline_with_missing_values_as_categories(
    tmp_path: Path, model: str
) -> None:
    assert_fast_and_equal(tmp_path, MISSING_AS_CATEGORIES, model)


@pytest.mark.parametrize("model", ["logistic_regression", "hist_gradient_boosting", "xgboost"])
def test_fast_path_equals_the_pipeline_for_row_features_and_target_encoding(
    tmp_path: Path, model: str
) -> None:
    assert_fast_and_equal(tmp_path, ROW_FEATURES, model)


def assert_fast_and_equal(folder: Path, groups: list[dict[str, Any]], model: str) -> None:
    """The spec's pipeline, fitted, is scored on the fast path and equals itself there."""
    spec = write_spec(folder, groups, model)
    pipeline, rows = fitted(spec)
    scorer = FastScorer(pipeline, inputs(spec))
    assert scorer.fast, scorer.reason
    assert_same_as_pipeline(scorer, pipeline, rows, inputs(spec))


def test_unknown_transformers_fall_back_to_the_pipeline(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, EVERY_STEP, "logistic_regression")
    pipeline, rows = fitted(spec)
    data = split_dataset(spec, load_dataset(spec))
    pipeline = pipeline.set_params(features__amounts__2_scale=PowerTransformer())
    pipeline.fit(data.X_train, data.y_train)
    scorer = FastScorer(pipeline, inputs(spec))
    assert not scorer.fast
    assert "PowerTransformer" in (scorer.reason or "")
    assert_same_as_pipeline(scorer, pipeline, rows, inputs(spec))


def test_nullable_integer_columns_fall_back_to_the_pipeline(tmp_path: Path) -> None:
    columns = copy.deepcopy(COLUMNS)
    columns["support_calls"]["nullable"] = True
    spec = write_spec(tmp_path, MISSING_AS_CATEGORIES, "xgboost", columns=columns)
    pipeline, rows = fitted(spec)
    scorer = FastScorer(pipeline, inputs(spec))
    assert not scorer.fast and "nullable int" in (scorer.reason or "")
    assert_same_as_pipeline(scorer, pipeline, rows, inputs(spec))


def test_an_encoder_that_refuses_unknown_categories_refuses_them_on_both_paths(
    tmp_path: Path,
) -> None:
    groups = copy.deepcopy(MISSING_AS_CATEGORIES)
    groups[3]["steps"] = [
        {"type": "impute", "strategy": "most_frequent"},
        {"type": "one_hot", "handle_unknown": "error"},
    ]
    spec = write_spec(tmp_path, groups, "logistic_regression")
    pipeline, rows = fitted(spec)
    scorer = FastScorer(pipeline, inputs(spec))
    assert scorer.fast
    unseen = rows[~rows["channel"].isin(["web", "store", "phone"]) & rows["channel"].notna()]
    known = rows[rows["channel"].isin(["web", "store", "phone"])]
    assert_same_as_pipeline(scorer, pipeline, known, inputs(spec))
    with pytest.raises(ValueError, match="unknown categories"):
        pipeline.predict_proba(unseen.iloc[[0]])
    with pytest.raises(ValueError, match="unknown categories"):
        scorer.predict_proba(as_columns(unseen.iloc[[0]]), 1)


def test_serving_sets_every_n_jobs_to_one(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, EVERY_STEP, "random_forest")
    pipeline, _ = fitted(spec)
    assert pipeline.named_steps["model"].n_jobs == 1
