"""Request columns typed as scikit-learn sees the validated training data.

A fitted pipeline was trained on a DataFrame typed by :mod:`churn.contract`; scikit-learn turns
each of its columns into a numpy array of one dtype. :func:`array_kind` names that dtype and
:func:`to_array` builds the array from plain values, so every fitted transformer of the fast
path receives the dtype and values it would have received from the DataFrame.
:func:`records_frame` builds that DataFrame itself, for the pipeline fallback.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from churn.spec import ColumnSpec
from churn.training.row_features import FloatArray as FloatArray  # the one float array type

Columns = Mapping[str, Sequence[Any]]
"""Input as columns: column name -> one value per record (None for missing)."""
Values = Sequence[Any] | np.ndarray
"""One column: a list of Python values or a 1-d array."""


class Unsupported(Exception):
    """The pipeline holds something the fast scorer does not reproduce; use the pipeline."""


def frame_dtype(column: ColumnSpec) -> str:
    """The pandas dtype a validated column has (see :mod:`churn.contract`), except that a
    ``category`` column (a Categorical in training) is plain text here: scikit-learn turns
    both into the same object array of strings."""
    if column.dtype == "int":
        return "Int64" if column.nullable else "int64"
    if column.dtype == "bool":
        return "boolean" if column.nullable else "bool"
    if column.dtype == "float":
        return "float64"
    return "str"


def records_frame(columns: Columns, specs: Mapping[str, ColumnSpec]) -> pd.DataFrame:
    """A DataFrame of the input columns typed like the validated training data."""
    return pd.DataFrame(
        {name: pd.Series(list(columns[name]), dtype=frame_dtype(specs[name])) for name in specs}
    )


def array_kind(column: ColumnSpec) -> str:
    """The numpy dtype of a column's values as scikit-learn sees them.

    Args:
        column: The column's contract.

    Returns:
        ``"float64"``, ``"int64"``, ``"bool"`` or ``"object"`` (text).

    Raises:
        Unsupported: The column is a nullable int or bool (pandas' masked arrays).
    """
    kind = frame_dtype(column)
    if kind in ("Int64", "boolean"):
        raise Unsupported(f"nullable {column.dtype} columns are scored through the pipeline")
    return "object" if kind == "str" else kind


def to_array(values: Sequence[Any], kind: str) -> np.ndarray:
    """One column's values as a 1-d array of dtype ``kind`` (None becomes nan).

    Args:
        values: The column's plain values.
        kind: A dtype from :func:`array_kind`.

    Returns:
        The array scikit-learn would have taken from the typed DataFrame column.
    """
    if kind == "float64":
        return np.array(values, dtype=np.float64)  # None -> nan
    if kind == "object":
        out = np.empty(len(values), dtype=object)
        out[:] = [np.nan if v is None else v for v in values] if None in values else values
        return out
    return np.array(values, dtype=kind)
