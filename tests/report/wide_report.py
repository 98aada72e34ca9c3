"""A report as wide as the default spec's: four candidates (one a blend) and eight metrics.

No plots and no predictions: the page is about the tables, so it renders in milliseconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from churn.registry import as_manifest
from churn.report import PlotSet, write_report

METRICS = {
    "accuracy": 0.7512,
    "precision": 0.5234,
    "recall": 0.7291,
    "f1": 0.6093,
    "roc_auc": 0.8447,
    "pr_auc": 0.6612,
    "brier": 0.1389,
    "profit": 31.4159,
}
"""The default spec's metrics, with values of its magnitude (profit in the costs' units)."""


def candidate(name: str, type_: str, **extra: Any) -> dict[str, Any]:
    """One candidate's run.json entry with every metric, CV and hold-out."""
    return {
        "name": name,
        "type": type_,
        "threshold": 0.3127,
        "cv_mean": dict(METRICS),
        "cv_std": {metric: 0.0123 for metric in METRICS},
        "cv_folds": {metric: [value] * 5 for metric, value in METRICS.items()},
        "holdout": dict(METRICS),
        "fit_seconds": 12.3,
        "threshold_policy": {"strategy": "min_recall", "recall": 0.72, "threshold": 0.3127},
        **extra,
    }


def wide_manifest(**overrides: Any) -> dict[str, Any]:
    """A finished run of four candidates; the blend of two others wins."""
    candidates = {
        "logreg": candidate("logreg", "logistic_regression"),
        "forest": candidate("forest", "random_forest"),
        "xgb": candidate("xgb", "xgboost"),
        "blend": candidate("blend", "soft_voting", members=["logreg", "xgb"]),
    }
    return {
        "run_id": "20260101T000000.000000Z-wide",
        "status": "succeeded",
        "spec_name": "telco-churn",
        "started_at": "2026-01-01T00:00:00+00:00",
        "ended_at": "2026-01-01T00:00:31+00:00",
        "candidates": candidates,
        "winner": "blend",
        "selection_metric": "roc_auc",
        "decision": {"action": "promote", "run_failed": False, "reason": "first run"},
        **overrides,
    }


def write_wide_report(run_dir: Path, **overrides: Any) -> Path:
    """``run_dir/report.html`` of :func:`wide_manifest`."""
    return write_report(
        run_dir,
        as_manifest(wide_manifest(**overrides)),
        spec_text="version: 1\n",
        predictions=pd.DataFrame(),
        eda=PlotSet([], []),
        evaluation=PlotSet([], []),
        top_at_risk=10,
    )
