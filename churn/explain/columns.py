"""Encoded features -> the spec's columns: which input column each model feature comes from.

A fitted ``ColumnTransformer`` group turns its columns into features: one per column (scale,
impute, ordinal, target encoding, log), one per category (one-hot), one per bin (one-hot
binning), plus a missing-value indicator per imputed column that had gaps. Each group step's
``get_feature_names_out`` names its outputs after its inputs (``Contract_One year``,
``missingindicator_TotalCharges``); :func:`feature_columns` follows those names step by step
back to the group's columns. A derived feature (``tenure_band``) is its own column: its
reasons name the derived column and its value, not the columns it was computed from.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from churn.explain.attribution import Unexplainable

IntArray = npt.NDArray[np.int64]


def _step_sources(step: Any, inputs: list[str]) -> list[int]:
    """For each output of a fitted step, the index of the input it comes from."""
    names = [str(name) for name in step.get_feature_names_out(np.asarray(inputs, dtype=object))]
    sources, cursor = [], 0
    for name in names:
        found = _source(name, inputs, cursor)
        if found is None:
            raise Unexplainable(f"cannot tell which column the feature {name!r} comes from")
        sources.append(found)
        cursor = max(cursor, found) if not name.startswith("missingindicator_") else cursor
    return sources


def _source(name: str, inputs: list[str], cursor: int) -> int | None:
    """The input named by ``name``: itself, ``<input>_<suffix>`` (searched from ``cursor``,
    as outputs come in input order), or ``missingindicator_<input>``."""
    if name in inputs:
        return inputs.index(name)
    if name.startswith("missingindicator_") and name[17:] in inputs:
        return inputs.index(name[17:])
    for index in range(cursor, len(inputs)):
        if name.startswith(f"{inputs[index]}_"):
            return index
    return None


def _group_sources(transformer: Any, columns: list[str]) -> list[str]:
    """The column each output of one fitted group comes from."""
    if isinstance(transformer, str):
        return list(columns)  # passthrough
    steps = (
        [step for _, step in transformer.steps]
        if isinstance(transformer, Pipeline)
        else [transformer]
    )
    current = list(columns)
    for step in steps:
        if step is None or (isinstance(step, str) and step == "passthrough"):
            continue
        current = [current[i] for i in _step_sources(step, current)]
    return current


def feature_columns(transformer: ColumnTransformer) -> tuple[list[str], IntArray]:
    """The columns the model's features come from, and each feature's column index.

    Returns:
        ``(columns, index)``: the spec (or derived) columns that feed the model, in
        ``ColumnTransformer`` order, and for each encoded feature its position in ``columns``.

    Raises:
        Unexplainable: A feature whose column cannot be told from its name.
    """
    sources: list[str] = []
    for _, trans, columns in transformer.transformers_:
        if (isinstance(trans, str) and trans == "drop") or len(columns) == 0:
            continue
        sources += _group_sources(trans, list(columns))
    names = list(dict.fromkeys(sources))
    position = {name: i for i, name in enumerate(names)}
    return names, np.asarray([position[name] for name in sources], dtype=np.int64)


def sum_by_column(values: npt.NDArray[np.float64], index: IntArray, count: int) -> Any:
    """Per row, the contributions of each column's features added up (rows x ``count``).

    Each row is added up on its own, feature by feature in ``index`` order, so a row's sums do
    not depend on the rows it comes with.
    """
    order = np.argsort(index, kind="stable")
    ordered = index[order]
    starts = np.flatnonzero(np.diff(ordered, prepend=-1))
    out = np.zeros((values.shape[0], count), dtype=np.float64)
    if values.shape[0]:
        out[:, ordered[starts]] = np.add.reduceat(values[:, order], starts, axis=1)
    return out
