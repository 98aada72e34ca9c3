"""Derived features read across a row (sum, mean, min, max, count, compare, clip, power, log1p).

Each is a function of 1-d arrays, so the training transformer
(:class:`~churn.training.features.DerivedFeatures`, on a DataFrame's columns) and the served fast
path (:mod:`churn.serving.fast_steps`, on request values) run the very same operations and give
the very same numbers. Numeric inputs arrive as float64 with nan for missing; ``count`` reads
its columns as they are (text, nan or None for missing).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
RowFunction = Callable[..., FloatArray]

_NEUTRAL: Final = {"sum": 0.0, "mean": 0.0, "min": np.inf, "max": -np.inf}
"""What a missing value is replaced with when nulls are skipped (it then changes nothing)."""
_COMPARISONS: Final[Mapping[str, Callable[..., Any]]] = {
    ">": np.greater,
    ">=": np.greater_equal,
    "<": np.less,
    "<=": np.less_equal,
    "==": np.equal,
    "!=": np.not_equal,
}
TEXT_INPUTS: Final = frozenset({"count"})
"""Types whose inputs are read as they are, not as float64."""


def reduce_rows(arrays: Sequence[FloatArray], how: str, nulls: str) -> FloatArray:
    """Sum, mean, min or max across the arrays, row by row.

    Args:
        arrays: Two or more float64 columns of one length.
        how: ``"sum"``, ``"mean"``, ``"min"`` or ``"max"``.
        nulls: ``"propagate"`` (a missing value makes the row missing) or ``"skip"`` (missing
            values are left out; a row with none present is missing).
    """
    stacked = np.column_stack(arrays)
    missing = np.isnan(stacked)
    if nulls == "skip":
        stacked = np.where(missing, _NEUTRAL[how], stacked)
    if how == "sum":
        out = stacked.sum(axis=1)
    elif how == "min":
        out = stacked.min(axis=1)
    elif how == "max":
        out = stacked.max(axis=1)
    else:
        present = stacked.shape[1] - missing.sum(axis=1) if nulls == "skip" else stacked.shape[1]
        with np.errstate(invalid="ignore", divide="ignore"):
            out = stacked.sum(axis=1) / present
    if nulls == "skip":
        out[missing.all(axis=1)] = np.nan
    return np.asarray(out, dtype=np.float64)


def count_in(columns: Sequence[Sequence[Any] | np.ndarray], values: Sequence[Any]) -> FloatArray:
    """How many of the columns hold one of ``values``, row by row (missing never counts)."""
    wanted = frozenset(values)
    n = len(columns[0])
    total = np.zeros(n, dtype=np.float64)
    for column in columns:
        items = column.tolist() if isinstance(column, np.ndarray) else column
        total += np.fromiter((v in wanted for v in items), dtype=np.float64, count=n)
    return total


def compare(left: FloatArray, right: FloatArray | float, op: str) -> FloatArray:
    """1.0 where ``left op right`` holds, 0.0 where not, nan where either side is missing."""
    out = np.asarray(_COMPARISONS[op](left, right), dtype=np.float64)
    out[np.isnan(left) | np.isnan(right)] = np.nan
    return out


def clip(x: FloatArray, lower: float | None, upper: float | None) -> FloatArray:
    """``x`` limited to ``[lower, upper]``; a missing value stays missing."""
    return np.asarray(np.clip(x, lower, upper), dtype=np.float64)


def power(x: FloatArray, exponent: float) -> FloatArray:
    """``x ** exponent``; a result that is not finite (0 ** -1, (-8) ** 0.5) is missing."""
    with np.errstate(all="ignore"):
        out = np.power(x, exponent)
    out[~np.isfinite(out)] = np.nan
    return np.asarray(out, dtype=np.float64)


def log1p(x: FloatArray) -> FloatArray:
    """log(1 + x); x <= -1 (no finite logarithm) is missing."""
    return np.asarray(np.log1p(np.where(x > -1.0, x, np.nan)), dtype=np.float64)


def row_function(entry: Mapping[str, Any]) -> tuple[list[str], RowFunction] | None:
    """One derived feature of this module as the columns it reads and its function.

    Args:
        entry: A ``features.derived`` entry as a plain dict (``model_dump()``).

    Returns:
        The columns, in argument order, and the function of their arrays; None for a type
        this module does not compute.
    """
    kind = entry["type"]
    if kind in _NEUTRAL:
        nulls = entry["nulls"]
        return list(entry["columns"]), lambda *arrays: reduce_rows(arrays, kind, nulls)
    if kind == "count":
        values = list(entry["values"])
        return list(entry["columns"]), lambda *columns: count_in(columns, values)
    if kind == "compare":
        op, right = entry["op"], entry["right"]
        if isinstance(right, str):
            return [entry["left"], right], lambda a, b: compare(a, b, op)
        constant = float(right)
        return [entry["left"]], lambda a: compare(a, constant, op)
    if kind == "clip":
        lower, upper = entry["lower"], entry["upper"]
        return [entry["column"]], lambda x: clip(x, lower, upper)
    if kind == "power":
        exponent = float(entry["exponent"])
        return [entry["column"]], lambda x: power(x, exponent)
    if kind == "log1p":
        return [entry["column"]], log1p
    return None
