"""Numbers as the report's tables print them."""

from __future__ import annotations

import math
from typing import Any


def number(value: Any, digits: int = 4) -> str:
    """A metric value for a table: rounded, ``—`` when missing or not a number."""
    if value is None or isinstance(value, bool):
        return "—" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    try:
        as_float = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(as_float):
        return "—"
    return f"{as_float:.{digits}f}"


def signed(value: Any, digits: int = 4) -> str:
    """A change with its sign (``+0.0123``), ``—`` when missing."""
    try:
        as_float = float(value)
    except (TypeError, ValueError):
        return "—"
    return "—" if math.isnan(as_float) else f"{as_float:+.{digits}f}"
