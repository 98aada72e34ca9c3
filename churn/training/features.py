"""The features block -> a derived-features transformer and a ``ColumnTransformer``.

Steps come from :data:`STEP_BUILDERS`, keyed by the spec's step ``type``; derived features are
computed by :class:`DerivedFeatures`, which reads plain parameters (no code strings, no eval).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    KBinsDiscretizer,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    RobustScaler,
    StandardScaler,
    TargetEncoder,
)

from churn.spec import (
    BinStep,
    FeatureGroup,
    FeaturesSpec,
    ImputeStep,
    LogStep,
    OneHotStep,
    OrdinalStep,
    ScaleStep,
    TargetEncodeStep,
)
from churn.training.row_features import TEXT_INPUTS, row_function


def _impute(step: ImputeStep) -> SimpleImputer:
    return SimpleImputer(
        strategy=step.strategy, fill_value=step.fill_value, add_indicator=step.add_indicator
    )


def _scale(step: ScaleStep) -> TransformerMixin:
    scalers: dict[str, Callable[[], TransformerMixin]] = {
        "standard": StandardScaler,
        "minmax": MinMaxScaler,
        "robust": RobustScaler,
    }
    return scalers[step.method]()


def _log(step: LogStep) -> FunctionTransformer:
    return FunctionTransformer(np.log1p, feature_names_out="one-to-one")


def _bin(step: BinStep) -> KBinsDiscretizer:
    return KBinsDiscretizer(
        n_bins=step.n_bins,
        encode=step.encode,
        strategy=step.strategy,
        quantile_method="averaged_inverted_cdf",
        subsample=None,
    )


def _one_hot(step: OneHotStep) -> OneHotEncoder:
    return OneHotEncoder(
        handle_unknown=step.handle_unknown,
        drop=step.drop,
        min_frequency=step.min_frequency,
        sparse_output=False,
    )


def _ordinal(step: OrdinalStep) -> OrdinalEncoder:
    return OrdinalEncoder(
        categories=step.categories if step.categories is not None else "auto",
        handle_unknown="use_encoded_value",
        unknown_value=-1,
        encoded_missing_value=-1,
    )


def _target_encode(step: TargetEncodeStep) -> TargetEncoder:
    folds = StratifiedKFold(n_splits=step.cv, shuffle=True, random_state=step.seed)
    return TargetEncoder(target_type="binary", smooth=step.smooth, cv=folds)


STEP_BUILDERS: dict[str, Callable[[Any], Any]] = {
    "impute": _impute,
    "scale": _scale,
    "log": _log,
    "bin": _bin,
    "one_hot": _one_hot,
    "ordinal": _ordinal,
    "target_encode": _target_encode,
}
"""Step ``type`` -> builder of the unfitted scikit-learn transformer."""


def build_group(group: FeatureGroup) -> Pipeline | str:
    """One group's steps as a Pipeline, or ``"passthrough"`` when it has none."""
    if not group.steps:
        return "passthrough"
    return Pipeline(
        [
            (f"{index}_{step.type}", STEP_BUILDERS[step.type](step))
            for index, step in enumerate(group.steps)
        ]
    )


def build_column_transformer(features: FeaturesSpec) -> ColumnTransformer:
    """All groups side by side; columns in no group are dropped (the spec says which)."""
    return ColumnTransformer(
        [(group.name, build_group(group), list(group.columns)) for group in features.groups],
        remainder="drop",
        verbose_feature_names_out=True,
    )


class DerivedFeatures(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Add the spec's derived columns to a DataFrame.

    Parameters
    ----------
    derived:
        The ``features.derived`` entries as plain dicts (``model_dump()`` of the spec models),
        applied in order, so a later entry may read an earlier one.
    """

    def __init__(self, derived: Sequence[dict[str, Any]] = ()) -> None:
        self.derived = derived

    def fit(self, X: pd.DataFrame, y: Any = None) -> DerivedFeatures:
        """Stateless; remembers the input columns."""
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        self.n_features_in_ = len(X.columns)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """A copy of ``X`` with the derived columns appended."""
        out = X.copy()
        for entry in self.derived:
            out[entry["name"]] = _compute(entry, out)
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Input names followed by the derived names."""
        names = list(self.feature_names_in_) + [entry["name"] for entry in self.derived]
        return np.asarray(names, dtype=object)


def _numeric(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_numeric(frame[column], errors="coerce").astype("float64")


def _dates(frame: pd.DataFrame, column: str) -> pd.Series:
    """A datetime column (already parsed by the contract, or ISO text from a request)."""
    values = frame[column]
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values
    return pd.to_datetime(values, errors="coerce")


def _days(delta: pd.Series) -> pd.Series:
    days: pd.Series = delta.dt.total_seconds() / 86400.0
    return days.astype("float64")


def _compute(entry: dict[str, Any], frame: pd.DataFrame) -> pd.Series:
    across = row_function(entry)
    if across is not None:
        reads, function = across
        if entry["type"] in TEXT_INPUTS:
            arrays = [frame[column].to_numpy(dtype=object) for column in reads]
        else:
            arrays = [_numeric(frame, column).to_numpy() for column in reads]
        return pd.Series(function(*arrays), index=frame.index, dtype="float64")
    kind = entry["type"]
    if kind == "ratio":
        denominator = _numeric(frame, entry["denominator"]).replace(0.0, np.nan)
        return _numeric(frame, entry["numerator"]) / denominator
    if kind == "difference":
        return _numeric(frame, entry["left"]) - _numeric(frame, entry["right"])
    if kind == "product":
        result = _numeric(frame, entry["columns"][0])
        for column in entry["columns"][1:]:
            result = result * _numeric(frame, column)
        return result
    if kind == "days_between":
        return _days(_dates(frame, entry["end"]) - _dates(frame, entry["start"]))
    if kind == "days_since":
        return _days(pd.Timestamp(entry["reference"]) - _dates(frame, entry["column"]))
    if kind == "bins":
        edges = entry["edges"]
        labels = entry["labels"] or [f"{a:g}-{b:g}" for a, b in itertools.pairwise(edges)]
        buckets = pd.cut(
            _numeric(frame, entry["column"]), bins=edges, labels=labels, right=entry["right"]
        )
        return buckets.astype("object").where(buckets.notna(), np.nan)
    raise ValueError(f"unknown derived feature type {kind!r}")
