"""One failed check as one line of a contract error (see :mod:`churn.contract.failures`).

``column: words: N rows failed at lines a, b; values x, y``: rows in frame order, at most
:data:`MAX_SHOWN` rows and distinct values, lines for a CSV file (``first_line`` is the file
line of row 0), else the frame's row labels.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from churn.spec.bounds import shorten

MAX_SHOWN = 5
"""How many sample values and row numbers a failure line shows."""


def render(
    column: str | None,
    words: str,
    cases: list[tuple[Hashable, Any]],
    *,
    total: int | None,
    index: pd.Index,
    first_line: int | None,
) -> str:
    """``column: words: N rows failed at lines a, b; values x, y`` (parts present as known).

    ``cases`` are (row label, value or None) pairs; ``total`` counts the failing rows when
    ``cases`` holds only some of them.
    """
    head = words if column is None else f"{shorten(column, quote=False)}: {words}"
    cases = _in_frame_order(cases, index)
    if not cases:
        return head
    rows = list(dict.fromkeys(row for row, _ in cases))
    count = len(rows) if total is None else total
    where = _where(rows, first_line, index.name)
    text = f"{head}: {count} row{'s' if count != 1 else ''} failed at {where}"
    values = _distinct([value for _, value in cases])
    if values:
        text += f"; values {_first(values, show_value)}"
    return text


def _in_frame_order(
    cases: list[tuple[Hashable, Any]], index: pd.Index
) -> list[tuple[Hashable, Any]]:
    if not cases or not index.is_unique:
        return cases
    positions = index.get_indexer(pd.Index([row for row, _ in cases]))
    order = np.argsort(positions, kind="stable")
    return [cases[i] for i in order]


def _where(rows: list[Hashable], first_line: int | None, label: Hashable = None) -> str:
    numeric = all(isinstance(row, int | np.integer) for row in rows)
    if first_line is not None and numeric:
        lines = [int(row) + first_line for row in rows]  # type: ignore[call-overload]
        return f"line{'s' if len(lines) != 1 else ''} {_first(lines, str)}"
    if label is not None:  # rows labelled by their id (a database table)
        return f"{shorten(str(label), quote=False)} {_first(rows, show_value)}"
    return f"row{'s' if len(rows) != 1 else ''} {_first(rows, str)}"


def _distinct(values: list[Any]) -> list[Any]:
    plain = [value.item() if isinstance(value, np.generic) else value for value in values]
    seen: dict[str, Any] = {}
    for value in plain:
        if value is not None and not pd.isna(value):
            seen.setdefault(repr(value), value)
    return list(seen.values())


def _first(items: Sequence[Any], show: Callable[[Any], str]) -> str:
    shown = ", ".join(show(item) for item in items[:MAX_SHOWN])
    return shown + (", ..." if len(items) > MAX_SHOWN else "")


def show_value(value: Any) -> str:
    """A value as a failure line shows it: text quoted, long values shortened."""
    return shorten(value) if isinstance(value, str) else shorten(str(value), quote=False)
