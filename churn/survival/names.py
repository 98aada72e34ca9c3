"""How survival metrics and horizons are named; no imports, so the spec may use it cheaply."""

from __future__ import annotations


def horizon_label(horizon: float) -> str:
    """``3`` for 3.0, ``1.5`` for 1.5: how a horizon appears in metric and column names."""
    return f"{horizon:g}"


SUMMARY_METRICS = (("harrell_c", "Harrell's C"), ("uno_c", "Uno's C"), ("ibs_ratio", "IBS ratio"))
"""The survival metrics a one-line summary shows (a survival candidate has no threshold)."""


def survival_summary(metrics: dict[str, float]) -> str:
    """``Harrell's C 0.8123, Uno's C 0.7980, IBS ratio 0.712``: an undefined (NaN) or missing
    metric reads ``n/a``, never ``nan``."""
    parts = []
    for key, label in SUMMARY_METRICS:
        value = metrics.get(key)
        shown = "n/a" if value is None or value != value else f"{value:.4f}"
        parts.append(f"{label} {shown}")
    return ", ".join(parts)
