"""The report's survival section (issue 25, item 6): table, curves by decile, calibration."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sksurv.nonparametric import kaplan_meier_estimator
from sksurv.util import Surv

from churn.registry.record import RunManifest
from churn.report import PlotSet
from churn.report.html import render_report
from churn.report.survival import (
    calibration_points,
    decile_curves,
    survival_holdout,
    survival_section,
)
from churn.survival.estimators import CoxSurvival

HORIZONS = (6.0, 12.0, 24.0)


@pytest.fixture(scope="module")
def holdout():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(1200, 3))
    churn_after = rng.exponential(1 / (0.03 * np.exp(X[:, 0] - 0.5 * X[:, 1])))
    observed_for = rng.uniform(1, 48, size=len(X))
    y = Surv.from_arrays(churn_after <= observed_for, np.minimum(churn_after, observed_for))
    front = SimpleNamespace(transform=lambda rows: rows)
    steps = _Steps(front, CoxSurvival().fit(X[:800], y[:800]))
    return survival_holdout(steps, X[800:], y[800:], HORIZONS, "month")


class _Steps:
    """``pipeline[:-1]`` and ``pipeline[-1]`` of a two-step pipeline, for the section."""

    def __init__(self, front, estimator):
        self.front, self.estimator = front, estimator

    def __getitem__(self, key):
        return self.front if isinstance(key, slice) else self.estimator


def manifest() -> RunManifest:
    def candidate(name: str, c: float) -> dict:
        holdout = {"harrell_c": c, "uno_c": c - 0.01, "ibs": 0.12, "ibs_km": 0.2, "ibs_ratio": 0.6}
        holdout |= {f"td_auc_{h:g}": 0.8 for h in HORIZONS}
        holdout |= {f"calibration_error_{h:g}": 0.02 for h in HORIZONS}
        return {
            "name": name,
            "type": name,
            "threshold": 0.5,
            "cv_mean": {"harrell_c": c - 0.005},
            "cv_std": {},
            "cv_folds": {},
            "holdout": holdout,
            "fit_seconds": 1.0,
        }

    return RunManifest.model_validate(
        {
            "run_id": "20261206T141500Z-7c1d",
            "status": "succeeded",
            "candidates": {"cox": candidate("cox", 0.81), "xgb_cox": candidate("xgb_cox", 0.84)},
            "winner": "xgb_cox",
            "selection_metric": "harrell_c",
        }
    )


def test_decile_curves_are_the_deciles_kaplan_meier(holdout):
    curves = decile_curves(holdout)
    assert len(curves) == 10
    riskiest = np.argsort(holdout.risk)[-len(holdout.risk) // 10 :]
    x, km = kaplan_meier_estimator(
        holdout.y_test["event"][riskiest], holdout.y_test["time"][riskiest]
    )
    at = holdout.times[holdout.times >= x[0]]
    expected = km[np.searchsorted(x, at, side="right") - 1]
    np.testing.assert_allclose(curves[-1][1][holdout.times >= x[0]], expected)
    # the riskiest decile's predicted curve lies below the safest one's
    assert np.all(curves[-1][0] <= curves[0][0] + 1e-12)
    assert curves[-1][0][-1] < curves[0][0][-1]


def test_calibration_compares_predicted_and_observed_churn(holdout):
    for horizon in HORIZONS:
        points = calibration_points(holdout, horizon)
        assert sum(rows for _, _, rows in points) == len(holdout.y_test)
        predicted = np.array([p for p, _, _ in points])
        observed = np.array([o for _, o, _ in points])
        assert np.all(np.diff(predicted) >= 0)
        assert np.mean(np.abs(predicted - observed)) < 0.08  # a correctly specified Cox model


def test_section_shows_the_table_the_figures_and_the_calibration(holdout):
    empty = PlotSet(paths=[], errors=[])
    html = render_report(
        manifest(),
        spec_text="",
        predictions=pd.DataFrame(),
        eda=empty,
        evaluation=empty,
        top_at_risk=5,
        survival=holdout,
    )
    assert '<section id="survival">' in html and 'href="#survival"' in html
    assert html.count("data:image/png;base64,") == 2
    assert "cannot draw" not in html
    for metric in ("harrell_c", "uno_c", "ibs_ratio", "td_auc_24", "calibration_error_6"):
        assert f'<th scope="col">{metric}</th>' in html
    assert "xgb_cox (winner)" in html and "CV 0.835" in html
    assert html.count("<tr><td>12</td>") == 10  # one calibration row per decile


def test_section_without_predictions_keeps_the_table():
    html = str(survival_section(manifest(), None))
    assert "td_auc_12" in html and "data:image" not in html
    assert "no curves or calibration drawn" in html
