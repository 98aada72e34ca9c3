"""One chunk of synthetic rows: whole real rows drawn with replacement, then varied.

Drawing whole rows keeps the columns' joint structure (e.g. ``No internet service`` in every
internet column at once). Numeric columns without a list of allowed values are scaled by a
random factor near 1 (a zero stays zero, so blank-when-zero rules hold), clipped to the
contract's ``min``/``max`` and rounded for int columns; missing values stay missing. Unique
columns (the id among them) get new values numbered from the chunk's first row, and the
target is drawn from the label model's probability for the varied row (a survival target's
event is kept: it belongs with the row's duration).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from churn.errors import SpecError
from churn.spec import ColumnSpec, Spec
from churn.synth.label_model import positive_probability

JITTER = 0.05
"""Standard deviation of the factor numeric values are scaled by (1 + JITTER * N(0, 1))."""


def synth_chunk(
    spec: Spec,
    real: pd.DataFrame,
    model: Pipeline | None,
    rng: np.random.Generator,
    *,
    start: int,
    rows: int,
) -> pd.DataFrame:
    """``rows`` synthetic rows, numbered from ``start``, in the validated frame's dtypes.

    Args:
        spec: The spec whose contract the rows obey.
        real: The validated real data.
        model: The fitted label model (see :mod:`churn.synth.label_model`); None for a
            survival target, whose rows keep their real event (their duration is jittered like
            any number, so the pair stays tied).
        rng: The generator every random draw comes from (one per output, so seeded).
        start: Number of the chunk's first row in the whole output (for unique values).
        rows: How many rows.
    """
    chunk = real.take(rng.integers(0, len(real), size=rows)).reset_index(drop=True)
    target = spec.data.target.column
    for name, column in spec.columns.items():
        if name == target:
            continue
        if column.unique or name == spec.data.id:
            chunk[name] = _unique(column, start, rows, chunk[name].dtype)
        elif column.dtype in ("int", "float") and column.values is None:
            chunk[name] = _jitter(chunk[name], column, rng)
    if model is None:  # a survival target: the drawn row's event stays with its duration
        return chunk
    positive = pd.Series(rng.random(rows) < positive_probability(model, chunk))
    labels = positive.map({True: spec.data.target.positive, False: _negative(spec)})
    chunk[target] = labels.astype(real[target].dtype)
    return chunk


def _jitter(series: pd.Series, column: ColumnSpec, rng: np.random.Generator) -> pd.Series:
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    varied = values * (1.0 + JITTER * rng.standard_normal(len(values)))
    low = -np.inf if column.min is None else column.min
    high = np.inf if column.max is None else column.max
    varied = np.clip(varied, low, high)
    if column.dtype == "int":
        varied = np.rint(varied)
    return pd.Series(varied).astype(series.dtype)


def _unique(column: ColumnSpec, start: int, rows: int, dtype: Any) -> pd.Series:
    """Row numbers (``SYN-0000000042`` for text), unique across the whole output."""
    numbers = pd.Series(np.arange(start, start + rows, dtype=np.int64))
    values = (
        numbers
        if column.dtype in ("int", "float")
        else "SYN-" + numbers.astype("str").str.zfill(10)
    )
    typed: pd.Series = values.astype(dtype)
    return typed


def _negative(spec: Spec) -> object:
    """The target value that is not the positive one."""
    target = spec.data.target
    column = spec.columns[target.column]
    others = [value for value in column.values or () if value != target.positive]
    if others:
        return others[0]
    if isinstance(target.positive, bool):
        return not target.positive
    if target.positive in (0, 1):
        return 1 - int(target.positive)
    raise SpecError(
        [f"columns.{target.column}.values: list both classes, so synthetic rows can be labelled"]
    )
