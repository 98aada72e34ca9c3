"""How survival metrics and horizons are named; no imports, so the spec may use it cheaply."""

from __future__ import annotations


def horizon_label(horizon: float) -> str:
    """``3`` for 3.0, ``1.5`` for 1.5: how a horizon appears in metric and column names."""
    return f"{horizon:g}"
