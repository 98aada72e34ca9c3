"""The vectorised Cox Newton steps equal scikit-survival's (issue 25's 1M-row speed goal)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.linear_model.coxph import CoxPHOptimizer
from sksurv.util import Surv

from churn.survival.cox_newton import SortedRows
from churn.survival.estimators import CoxSurvival


def tied_table(rows: int = 600, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Six features (one a 0/1 column), whole-month times with many ties, some at 0."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 6))
    X[:, 5] = X[:, 5] > 0.3
    hazard = 0.05 * np.exp(0.9 * X[:, 0] - 0.6 * X[:, 1] + 0.4 * X[:, 5])
    churn_after = rng.exponential(1 / hazard)
    observed_for = rng.uniform(0, 36, size=rows)
    time = np.floor(np.minimum(churn_after, observed_for))
    return X, Surv.from_arrays(event=churn_after <= observed_for, time=time)


def test_loss_gradient_and_hessian_are_scikit_survivals() -> None:
    X, y = tied_table()
    alpha = np.linspace(0.0, 2.0, X.shape[1])
    theirs = CoxPHOptimizer(X, y["event"], y["time"], alpha, "breslow")
    ours = SortedRows.of(X, y["event"], y["time"], alpha)
    beta = np.array([0.5, -0.4, 0.1, 0.0, -0.2, 0.3])
    theirs.update(beta)
    gradient, hessian = ours.gradient_and_hessian(beta)
    np.testing.assert_allclose(gradient, theirs.gradient, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(hessian, theirs.hessian, rtol=1e-10, atol=1e-13)
    assert ours.loss(beta) == pytest.approx(theirs.nlog_likelihood(beta), rel=1e-12)


@pytest.mark.parametrize("alpha", [1.0, 0.0, [0.0, 1.0, 2.0, 0.5, 0.5, 3.0]])
def test_the_fit_is_scikit_survivals(alpha) -> None:
    X, y = tied_table()
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    alpha = np.asarray(alpha) if isinstance(alpha, list) else alpha
    theirs = CoxPHSurvivalAnalysis(alpha=alpha).fit(frame, y)
    ours = CoxSurvival(alpha=alpha).fit(frame, y)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-9, atol=1e-12)
    assert list(ours.feature_names_in_) == list(frame.columns)
    np.testing.assert_allclose(
        ours.predict_survival_function(frame[:5], return_array=True),
        theirs.predict_survival_function(frame[:5], return_array=True),
        rtol=1e-9,
    )


def test_efron_ties_and_bad_params_are_scikit_survivals() -> None:
    X, y = tied_table(rows=200)
    efron = CoxSurvival(ties="efron").fit(X, y)
    np.testing.assert_allclose(
        efron.coef_, CoxPHSurvivalAnalysis(alpha=1.0, ties="efron").fit(X, y).coef_
    )
    with pytest.raises(ValueError, match="must match number of features"):
        CoxSurvival(alpha=np.ones(2)).fit(X, y)
    with pytest.raises(ValueError, match="n_iter"):
        CoxSurvival(n_iter=0).fit(X, y)


def test_too_few_steps_warns_as_scikit_survival_does() -> None:
    X, y = tied_table(rows=200)
    with pytest.warns(ConvergenceWarning, match="Maximum number of iterations"):
        ours = CoxSurvival(n_iter=1).fit(X, y)
    with pytest.warns(ConvergenceWarning):
        theirs = CoxPHSurvivalAnalysis(alpha=1.0, n_iter=1).fit(X, y)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-10)
