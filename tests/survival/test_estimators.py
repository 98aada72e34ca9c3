"""The survival estimators: curves, baselines, medians, clone and search (issue 25, item 2)."""

from __future__ import annotations

import numpy as np
import pytest
import xgboost
from scipy import stats
from sklearn.base import clone
from sklearn.model_selection import KFold, RandomizedSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sksurv.ensemble import GradientBoostingSurvivalAnalysis
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.linear_model.coxph import BreslowEstimator
from sksurv.util import Surv

from churn.survival.curves import breslow_baseline, cox_median, cox_survival
from churn.survival.estimators import (
    SURVIVAL_MODELS,
    CoxSurvival,
    GradientBoostingSurvival,
    XGBAFTSurvival,
    XGBCoxSurvival,
    aft_bounds,
    cox_label,
)

SMALL = {
    "cox": {},
    "xgb_cox": {"n_estimators": 30, "max_depth": 3, "n_jobs": 1},
    "xgb_aft": {"n_estimators": 30, "max_depth": 3, "n_jobs": 1},
    "gradient_boosting_survival": {"n_estimators": 20, "max_depth": 2},
    "random_survival_forest": {"n_estimators": 10, "min_samples_leaf": 10, "n_jobs": 1},
}
TIMES = np.array([-1.0, 0.0, 1.0, 3.0, 6.0, 12.0, 24.0, 48.0, 1000.0])


def survival_table(rows: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Four features; hazard rises with the first two; whole-month times, about 40% censored."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 4))
    hazard = 0.03 * np.exp(1.0 * X[:, 0] - 0.7 * X[:, 1])
    churn_after = rng.exponential(1 / hazard)
    observed_for = rng.uniform(0, 72, size=rows)
    time = np.floor(np.minimum(churn_after, observed_for))
    return X, Surv.from_arrays(event=churn_after <= observed_for, time=time)


@pytest.fixture(scope="module")
def table() -> tuple[np.ndarray, np.ndarray]:
    return survival_table()


@pytest.fixture(scope="module", params=sorted(SURVIVAL_MODELS))
def fitted(request, table):
    X, y = table
    return SURVIVAL_MODELS[request.param](**SMALL[request.param]).fit(X, y)


def test_curves_are_survival_functions(fitted, table):
    X, y = table
    survival = fitted.predict_survival(X, TIMES)
    assert survival.shape == (len(X), len(TIMES))
    assert np.all((survival >= 0) & (survival <= 1))
    assert np.all(np.diff(survival, axis=1) <= 1e-12)
    assert np.all(survival[:, 0] == 1.0)  # nobody churns before time 0
    assert fitted.predict(X).shape == (len(X),)
    assert fitted.score(X, y) > 0.7  # the risk ranks the synthetic hazard


def test_median_is_where_the_curve_crosses_one_half(fitted, table):
    X, y = table
    median = fitted.predict_median(X)
    finite = np.isfinite(median)
    assert finite.any()
    at = fitted.predict_survival(X[finite], np.unique(median[finite]))
    for row, when in zip(at, median[finite], strict=True):
        assert row[np.unique(median[finite]) == when][0] <= 0.5 + 1e-9
    before = fitted.predict_survival(X, median - 1e-6)
    assert np.all(np.diag(before[finite][:, finite]) > 0.5 - 1e-9)
    if not finite.all():
        last = fitted.predict_survival(X[~finite], np.array([y["time"].max()]))
        assert np.all(last > 0.5)


def test_breslow_baseline_equals_scikit_survival(table):
    _, y = table
    risk = np.random.default_rng(1).normal(scale=2.0, size=len(y)) + 30.0
    grid, hazard = breslow_baseline(risk, y["event"], y["time"])
    theirs = BreslowEstimator().fit(risk, y["event"], y["time"])
    np.testing.assert_array_equal(grid, theirs.unique_times_)
    np.testing.assert_allclose(hazard, theirs.cum_baseline_hazard_.y, rtol=1e-10)


def test_cox_equals_scikit_survival_cox(table):
    X, y = table
    ours = CoxSurvival(alpha=0.5).fit(X, y)
    theirs = CoxPHSurvivalAnalysis(alpha=0.5).fit(X, y)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X))
    grid = theirs.unique_times_
    curves = np.vstack([f(grid) for f in theirs.predict_survival_function(X[:20])])
    np.testing.assert_allclose(ours.predict_survival(X[:20], grid), curves, rtol=1e-9)


def test_gradient_boosting_curves_equal_scikit_survival(table):
    X, y = table
    params = {"n_estimators": 15, "max_depth": 2, "random_state": 0}
    ours = GradientBoostingSurvival(**params).fit(X, y)
    theirs = GradientBoostingSurvivalAnalysis(**params).fit(X, y)
    grid = theirs.unique_times_
    curves = theirs.predict_survival_function(X[:20], return_array=True)
    np.testing.assert_allclose(ours.predict_survival(X[:20], grid), curves, rtol=1e-9)


def test_gradient_boosting_refuses_losses_without_curves(table):
    with pytest.raises(ValueError, match="loss: expected 'coxph'"):
        GradientBoostingSurvival(loss="ipcwls").fit(*table)


def test_xgb_cox_risk_is_the_log_hazard_ratio(table):
    X, y = table
    model = XGBCoxSurvival(**SMALL["xgb_cox"]).fit(X, y)
    hazard_ratio = model.predict(X, output_margin=False)
    np.testing.assert_allclose(model.predict(X), np.log(hazard_ratio), rtol=1e-5, atol=1e-5)
    expected = cox_survival(
        model.predict(X), *breslow_baseline(model.predict(X), y["event"], y["time"]), TIMES
    )
    np.testing.assert_allclose(model.predict_survival(X, TIMES), expected)
    np.testing.assert_allclose(
        model.baseline_survival(TIMES)[None, :] ** np.exp(model.predict(X))[:, None],
        model.predict_survival(X, TIMES),
        rtol=1e-9,
    )


def test_cox_label_keeps_censoring_at_time_zero():
    label = cox_label(np.array([False, True, False, True]), np.array([0.0, 0.0, 5.0, 2.0]))
    np.testing.assert_array_equal(label, [-1.0, 1.0, -3.0, 2.0])


def test_aft_bounds_are_intervals():
    lower, upper = aft_bounds(np.array([True, False, True]), np.array([0.0, 0.0, 4.0]))
    np.testing.assert_array_equal(lower, [2.0, 0.0, 4.0])
    np.testing.assert_array_equal(upper, [2.0, np.inf, 4.0])


@pytest.mark.parametrize(
    ("distribution", "law"),
    [("normal", stats.norm), ("logistic", stats.logistic), ("extreme", stats.gumbel_l)],
)
def test_aft_survival_is_the_distributions_formula(table, distribution, law):
    X, y = table
    model = XGBAFTSurvival(
        aft_loss_distribution=distribution, aft_loss_distribution_scale=1.3, **SMALL["xgb_aft"]
    ).fit(X, y)
    margin = -model.predict(X)
    np.testing.assert_allclose(
        np.exp(margin), model.get_booster().predict(xgboost.DMatrix(X)), rtol=1e-5
    )
    times = TIMES[2:]
    expected = law.sf((np.log(times)[None, :] - margin[:, None]) / 1.3)
    np.testing.assert_allclose(model.predict_survival(X, times), expected, rtol=1e-9, atol=1e-12)
    median = np.exp(margin + 1.3 * law.ppf(0.5))
    expected_median = np.where(median <= y["time"].max(), median, np.inf)
    np.testing.assert_allclose(model.predict_median(X), expected_median, rtol=1e-9)


def test_cox_median_is_inf_when_the_curve_stays_above_one_half():
    grid, hazard = np.array([1.0, 2.0, 3.0]), np.array([0.1, 0.3, 0.6])
    median = cox_median(np.array([0.2, 2.0, 0.0]), grid, hazard)
    np.testing.assert_array_equal(median, [3.0, 1.0, np.inf])


@pytest.mark.parametrize("name", sorted(SURVIVAL_MODELS))
def test_clone_and_params(name):
    model = SURVIVAL_MODELS[name](**SMALL[name])
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    key = next(iter(SMALL[name]), "alpha")
    copy.set_params(**{key: model.get_params()[key]})
    assert copy.get_params()[key] == model.get_params()[key]


@pytest.mark.parametrize(
    ("name", "space"),
    [
        ("cox", {"model__alpha": [0.1, 10.0]}),
        ("xgb_cox", {"model__max_depth": [2, 3], "model__learning_rate": [0.1, 0.3]}),
        ("xgb_aft", {"model__aft_loss_distribution": ["normal", "extreme"]}),
    ],
)
def test_a_search_over_params_ranks_by_concordance(table, name, space):
    X, y = table
    pipeline = Pipeline(
        [("scale", StandardScaler()), ("model", SURVIVAL_MODELS[name](**SMALL[name]))]
    )
    search = RandomizedSearchCV(pipeline, space, n_iter=2, cv=KFold(3), random_state=0).fit(X, y)
    assert 0.6 < search.best_score_ <= 1.0
    best = search.best_estimator_
    curves = best[-1].predict_survival(best[:-1].transform(X[:3]), TIMES)
    assert curves.shape == (3, len(TIMES))
