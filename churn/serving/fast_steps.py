"""A fitted pipeline's pieces as functions of numpy arrays: derived features and group steps.

:func:`derive_step` repeats :mod:`churn.training.features`' arithmetic for one derived feature,
operation by operation, on float arrays, so its values equal those of
:class:`~churn.training.features.DerivedFeatures` on a DataFrame; the features read across a row
(sum, count, compare, ...) call the very functions of :mod:`churn.training.row_features`.
:func:`step_transform` turns one fitted ``ColumnTransformer`` group step into a function of a
numpy array: encoders (one-hot, ordinal, target) become look-ups
(:mod:`churn.serving.fast_encoders`), the known scalers, imputers, discretizers and the log step
run their own ``transform``, and anything else raises
:class:`~churn.serving.fast_inputs.Unsupported`.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import numpy as np
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import (
    FunctionTransformer,
    KBinsDiscretizer,
    MinMaxScaler,
    RobustScaler,
    StandardScaler,
)

from churn.serving.fast_encoders import lookup_encoder
from churn.serving.fast_inputs import FloatArray, Unsupported, Values
from churn.training.row_features import TEXT_INPUTS, row_function

Transform = Callable[[np.ndarray], np.ndarray]
Encode = Callable[[Sequence[Values], int], np.ndarray]

_GENERIC_STEPS: Final = (
    SimpleImputer,
    StandardScaler,
    MinMaxScaler,
    RobustScaler,
    KBinsDiscretizer,
)
"""Fitted steps the scorer runs through their own ``transform`` on a numpy array."""
_FUNCTIONS: Final = (np.log1p,)
"""Functions a ``FunctionTransformer`` step may apply (``churn.training.features``' log step)."""


# --------------------------------------------------------------------------- derived features


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    with np.errstate(all="ignore"):
        return num / np.where(den == 0.0, np.nan, den)


def _product(arrays: list[FloatArray]) -> FloatArray:
    result = arrays[0]
    for other in arrays[1:]:
        result = result * other
    return result


def _cut(x: FloatArray, edges: Sequence[float], labels: Sequence[str], right: bool) -> np.ndarray:
    """``pd.cut(x, edges, labels=labels, right=right)`` as an object array (nan outside)."""
    bins = np.asarray(edges, dtype=np.float64)
    ids = bins.searchsorted(x, side="left" if right else "right")
    missing = np.isnan(x) | (ids == 0) | (ids == len(bins))
    out = np.empty(len(x), dtype=object)
    out[:] = np.nan
    named = np.asarray(list(labels), dtype=object)
    out[~missing] = named[ids[~missing] - 1]
    return out


def derive_step(entry: Mapping[str, Any]) -> tuple[list[str], Callable[..., np.ndarray]]:
    """One derived feature as the columns it reads and a function of their float arrays.

    Args:
        entry: One entry of :class:`~churn.training.features.DerivedFeatures`' ``derived`` list.

    Returns:
        The names of the columns read, in argument order, and the function computing the
        feature (float64, or an object array of bin labels for ``bins``).

    Raises:
        Unsupported: A derived feature type this module does not know.
    """
    across = row_function(entry)  # the training transformer's own functions of arrays
    if across is not None:
        return across
    kind = entry["type"]
    if kind == "ratio":
        return [entry["numerator"], entry["denominator"]], _ratio
    if kind == "difference":
        return [entry["left"], entry["right"]], lambda a, b: a - b
    if kind == "product":
        return list(entry["columns"]), lambda *arrays: _product(list(arrays))
    if kind == "bins":
        edges = list(entry["edges"])
        labels = entry["labels"] or [f"{a:g}-{b:g}" for a, b in itertools.pairwise(edges)]
        right = bool(entry["right"])
        return [entry["column"]], lambda x: _cut(x, edges, labels, right)
    raise Unsupported(f"derived feature type {kind!r}")


def reads_text(entry: Mapping[str, Any]) -> bool:
    """True when the derived feature reads its columns as they are, not as float64 arrays."""
    return bool(entry["type"] in TEXT_INPUTS)


# --------------------------------------------------------------------------- group steps


def _identity(X: np.ndarray) -> np.ndarray:
    return X


def step_transform(step: Any) -> Transform:
    """A fitted group step as a function of a numpy array.

    Args:
        step: One fitted step of a ``ColumnTransformer`` group.

    Returns:
        The step's ``transform`` (on a private copy), its look-ups for an encoder, or the
        identity for a fitted ``"passthrough"``.

    Raises:
        Unsupported: A step type or function this module does not reproduce.
    """
    encoder = lookup_encoder(step)
    if encoder is not None:
        return encoder.transform
    if type(step) is FunctionTransformer:
        if step.func is None and not step.validate:
            return _identity  # what a ColumnTransformer fits for "passthrough"
        if step.func not in _FUNCTIONS or step.validate or step.kw_args:
            raise Unsupported(f"FunctionTransformer({step.func!r})")
    elif type(step) not in _GENERIC_STEPS:
        raise Unsupported(f"step type {type(step).__name__}")
    private = copy.deepcopy(step)
    # Fitted on a DataFrame, the step warns on arrays without names; the copy forgets them.
    if hasattr(private, "feature_names_in_"):
        del private.feature_names_in_
    transform: Transform = private.transform
    return transform
