"""Feature steps and derived features, each on a small frame with values worked out by hand."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import TypeAdapter

from churn.spec import FeatureGroup, FeaturesSpec
from churn.spec.features import DerivedFeature
from churn.training.features import (
    STEP_BUILDERS,
    DerivedFeatures,
    build_column_transformer,
    build_group,
)

DERIVED = TypeAdapter(DerivedFeature)


def derive(entries: list[dict[str, Any]], frame: pd.DataFrame) -> pd.DataFrame:
    """Validate ``entries`` as the spec does, then apply them as the pipeline does."""
    derived = [DERIVED.validate_python(entry).model_dump() for entry in entries]
    return DerivedFeatures(derived).fit(frame).transform(frame)


def run_steps(steps: list[dict[str, Any]], frame: pd.DataFrame) -> np.ndarray:
    """One group over every column of ``frame``, fitted and applied to it."""
    group = FeatureGroup.model_validate({"name": "g", "columns": list(frame), "steps": steps})
    return np.asarray(build_group(group).fit_transform(frame), dtype=float)  # type: ignore[union-attr]


SMALL = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [2.0, 0.0, 1.0, 4.0], "c": [1, 2, 3, 4]})


# --------------------------------------------------------------------------- derived features


def test_a_ratio_divides_and_a_zero_denominator_gives_a_missing_value() -> None:
    out = derive([{"name": "r", "type": "ratio", "numerator": "a", "denominator": "b"}], SMALL)

    assert out["r"].tolist()[0] == 0.5 and np.isnan(out["r"].tolist()[1])
    assert out["r"].tolist()[2:] == [3.0, 1.0]


def test_a_difference_subtracts_right_from_left() -> None:
    out = derive([{"name": "d", "type": "difference", "left": "a", "right": "b"}], SMALL)

    assert out["d"].tolist() == [-1.0, 2.0, 2.0, 0.0]


def test_a_product_multiplies_every_column() -> None:
    out = derive([{"name": "p", "type": "product", "columns": ["a", "b", "c"]}], SMALL)

    assert out["p"].tolist() == [2.0, 0.0, 9.0, 64.0]


def test_bins_cut_at_the_edges_with_default_labels_and_missing_outside() -> None:
    frame = pd.DataFrame({"x": [0.0, 1.0, 1.5, 3.0, 9.0]})

    out = derive([{"name": "b", "type": "bins", "column": "x", "edges": [0, 1, 3]}], frame)

    assert out["b"].tolist()[1:4] == ["0-1", "1-3", "1-3"]
    assert pd.isna(out["b"].iloc[0]) and pd.isna(out["b"].iloc[4])  # right-closed: 0 is out


def test_bins_with_labels_and_left_closed_buckets() -> None:
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.9]})
    entry = {
        "name": "b",
        "type": "bins",
        "column": "x",
        "edges": [0, 1, 3],
        "labels": ["low", "high"],
        "right": False,
    }

    assert derive([entry], frame)["b"].tolist() == ["low", "high", "high"]


def test_a_later_derived_feature_reads_an_earlier_one_and_names_follow_in_order() -> None:
    entries = [
        {"name": "d", "type": "difference", "left": "a", "right": "b"},
        {"name": "p", "type": "product", "columns": ["d", "c"]},
    ]
    transformer = DerivedFeatures(
        [DERIVED.validate_python(entry).model_dump() for entry in entries]
    ).fit(SMALL)

    out = transformer.transform(SMALL)

    assert out["p"].tolist() == [-1.0, 4.0, 6.0, 0.0]
    assert list(transformer.get_feature_names_out()) == ["a", "b", "c", "d", "p"]
    assert list(SMALL) == ["a", "b", "c"]  # the input is not changed


def test_text_digits_in_a_numeric_input_are_read_as_numbers() -> None:
    frame = pd.DataFrame({"a": ["1", "x"], "b": [2.0, 2.0]})

    out = derive([{"name": "d", "type": "difference", "left": "a", "right": "b"}], frame)

    assert out["d"].iloc[0] == -1.0 and np.isnan(out["d"].iloc[1])


# --------------------------------------------------------------------------- steps


def test_every_step_type_of_the_spec_has_a_builder() -> None:
    union = FeatureGroup.model_json_schema()["$defs"]
    step_types = {
        definition["properties"]["type"]["const"]
        for name, definition in union.items()
        if name.endswith("Step")
    }
    assert step_types == set(STEP_BUILDERS)


@pytest.mark.parametrize(
    ("strategy", "fill", "expected"),
    [("mean", None, 2.0), ("median", None, 1.5), ("constant", -1, -1.0)],
)
def test_impute_fills_a_missing_value(strategy: str, fill: Any, expected: float) -> None:
    frame = pd.DataFrame({"x": [1.0, np.nan, 1.5, 3.5]})

    out = run_steps([{"type": "impute", "strategy": strategy, "fill_value": fill}], frame)

    assert out[1, 0] == expected


def test_impute_can_add_a_missing_indicator() -> None:
    frame = pd.DataFrame({"x": [1.0, np.nan]})

    out = run_steps([{"type": "impute", "strategy": "mean", "add_indicator": True}], frame)

    assert out.tolist() == [[1.0, 0.0], [1.0, 1.0]]


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("standard", [-1.224745, 0.0, 1.224745]),
        ("minmax", [0.0, 0.5, 1.0]),
        ("robust", [-1.0, 0.0, 1.0]),
    ],
)
def test_scale_methods(method: str, expected: list[float]) -> None:
    out = run_steps([{"type": "scale", "method": method}], pd.DataFrame({"x": [1.0, 2.0, 3.0]}))

    assert out[:, 0] == pytest.approx(expected, abs=1e-6)


def test_log_is_log1p() -> None:
    out = run_steps([{"type": "log"}], pd.DataFrame({"x": [0.0, np.e - 1]}))

    assert out[:, 0] == pytest.approx([0.0, 1.0])


def test_bin_step_cuts_into_ordinal_buckets_by_quantile() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})

    out = run_steps([{"type": "bin", "n_bins": 3, "encode": "ordinal"}], frame)

    assert out[:, 0].tolist() == [0.0, 0.0, 1.0, 1.0, 2.0, 2.0]


def test_one_hot_ignores_an_unknown_category() -> None:
    group = FeatureGroup.model_validate(
        {"name": "g", "columns": ["plan"], "steps": [{"type": "one_hot"}]}
    )
    encoder = build_group(group).fit(pd.DataFrame({"plan": ["a", "b"]}))  # type: ignore[union-attr]

    out = encoder.transform(pd.DataFrame({"plan": ["b", "zzz"]}))

    assert np.asarray(out).tolist() == [[0.0, 1.0], [0.0, 0.0]]


def test_ordinal_uses_the_given_order_and_minus_one_for_unknown_or_missing() -> None:
    frame = pd.DataFrame({"size": ["small", "large", "medium"]})
    group = FeatureGroup.model_validate(
        {
            "name": "g",
            "columns": ["size"],
            "steps": [{"type": "ordinal", "categories": [["small", "medium", "large"]]}],
        }
    )
    encoder = build_group(group).fit(frame)  # type: ignore[union-attr]

    out = encoder.transform(pd.DataFrame({"size": ["large", "huge", None]}))

    assert np.asarray(out)[:, 0].tolist() == [2.0, -1.0, -1.0]


def test_steps_run_in_order_within_a_group() -> None:
    frame = pd.DataFrame({"x": [np.nan, 0.0, 10.0]})

    out = run_steps(
        [
            {"type": "impute", "strategy": "constant", "fill_value": 10},
            {"type": "scale", "method": "minmax"},
        ],
        frame,
    )

    assert out[:, 0].tolist() == [1.0, 0.0, 1.0]


def test_a_group_without_steps_passes_its_columns_through() -> None:
    assert build_group(FeatureGroup(name="g", columns=["x"], steps=[])) == "passthrough"


def test_the_column_transformer_keeps_group_order_and_drops_other_columns() -> None:
    features = FeaturesSpec.model_validate(
        {
            "groups": [
                {
                    "name": "nums",
                    "columns": ["a"],
                    "steps": [{"type": "scale", "method": "minmax"}],
                },
                {"name": "raw", "columns": ["c"], "steps": []},
            ]
        }
    )

    transformer = build_column_transformer(features).fit(SMALL)

    assert list(transformer.get_feature_names_out()) == ["nums__a", "raw__c"]
    assert transformer.transform(SMALL)[:, 0].tolist() == pytest.approx([0, 1 / 3, 2 / 3, 1])
