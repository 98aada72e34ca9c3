"""Top-K reasons per customer and the global view (mean absolute contribution per column).

A reason is one spec (or derived) column, the customer's value of it, its contribution to the
explained output and the direction (``raises`` or ``lowers`` the churn risk; ``none`` for a
zero contribution). Reasons are ranked by absolute contribution, ties in column order, so a
row's reasons depend on that row alone: not on the other rows or the batch it came in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

ColumnValues = Sequence[Any] | npt.NDArray[Any]
"""One column's values, one per row (a list or an array)."""

MAX_REASONS: Final = 20
"""The largest K a caller may ask for (``explain=K``, ``--explain K``)."""


@dataclass(frozen=True)
class Reason:
    """One column's share in one customer's score."""

    column: str
    value: Any
    contribution: float
    direction: str

    def as_dict(self) -> dict[str, Any]:
        """The JSON form: column, value, contribution, direction."""
        return {
            "column": self.column,
            "value": self.value,
            "contribution": self.contribution,
            "direction": self.direction,
        }


def direction(contribution: float) -> str:
    """``raises``, ``lowers`` or ``none``."""
    return "raises" if contribution > 0 else "lowers" if contribution < 0 else "none"


def top_indices(contributions: npt.NDArray[np.float64], k: int) -> npt.NDArray[np.int64]:
    """Per row, the ``k`` columns with the largest absolute contribution (ties: column order)."""
    k = min(k, contributions.shape[1])
    order = np.argsort(-np.abs(contributions), axis=1, kind="stable")
    return np.asarray(order[:, :k], dtype=np.int64)


def row_reasons(
    columns: Sequence[str],
    contributions: npt.NDArray[np.float64],
    values: Sequence[ColumnValues],
    k: int,
) -> list[list[Reason]]:
    """Each row's top ``k`` reasons.

    Args:
        columns: The column names, in contribution order.
        contributions: Rows x columns.
        values: Per column, every row's value (as the customer sent or the pipeline derived).
        k: Reasons per row.
    """
    top = top_indices(contributions, k)
    out = []
    for row, picks in enumerate(top.tolist()):
        reasons = []
        for column in picks:
            share = float(contributions[row, column])
            reasons.append(
                Reason(columns[column], json_value(values[column][row]), share, direction(share))
            )
        out.append(reasons)
    return out


def json_value(value: Any) -> Any:
    """A JSON-ready value: numpy scalars as Python ones, nan as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    if value is not None and not isinstance(value, str | int | float | bool):
        return str(value)
    return value


def global_importance(
    columns: Sequence[str], contributions: npt.NDArray[np.float64]
) -> list[tuple[str, float]]:
    """Columns by mean absolute contribution over the rows, largest first."""
    means = np.abs(contributions).mean(axis=0) if len(contributions) else np.zeros(len(columns))
    order = np.argsort(-means, kind="stable")
    return [(columns[i], float(means[i])) for i in order.tolist()]


def reason_table(
    columns: Sequence[str],
    contributions: npt.NDArray[np.float64],
    values: Sequence[ColumnValues],
    k: int,
) -> dict[str, npt.NDArray[Any]]:
    """The top ``k`` reasons of every row as output columns, computed column-wise.

    Only the values a reason shows are turned into text (one vectorised step per column and
    rank), so the cost does not grow with the number of columns.

    Returns:
        ``reason_<i>`` (the column), ``reason_<i>_value`` (the customer's value, as text) and
        ``reason_<i>_contribution`` for i = 1..k, in that order.
    """
    top = top_indices(contributions, k)
    rows = np.arange(len(contributions))
    names = np.asarray(list(columns), dtype=object)
    table: dict[str, npt.NDArray[Any]] = {}
    for rank in range(top.shape[1]):
        picked = top[:, rank]
        shown = np.empty(len(picked), dtype=object)
        for column in np.unique(picked).tolist():
            where = np.flatnonzero(picked == column)
            shown[where] = _text(np.asarray(values[column])[where])
        table[f"reason_{rank + 1}"] = names[picked]
        table[f"reason_{rank + 1}_value"] = shown
        table[f"reason_{rank + 1}_contribution"] = contributions[rows, picked]
    return table


def _text(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Values as text, as :func:`json_value` then ``str`` show them (missing: empty)."""
    if values.dtype.kind == "f":
        values = values.astype(np.float64)  # as json_value's float() shows a float32
    series = pd.Series(values, dtype=object if values.dtype.kind in "OUS" else values.dtype)
    text = series.astype(str).to_numpy(dtype=object)
    text[series.isna().to_numpy()] = ""
    return np.asarray(text, dtype=object)
