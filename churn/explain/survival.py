"""Exact reasons of a survival model, on its risk (higher churns sooner).

A survival candidate's ``predict`` is a risk score; the reasons add up, per row, to it:

==========================  ==================  ============================================
model                       scale               contributions
==========================  ==================  ============================================
``cox``                     ``log_hazard``      coefficient x (encoded feature - reference);
                                                reference: ``feature_means_`` when the model
                                                keeps them, else 0 (scaled numbers are
                                                centred already); base: ``coef . reference``
``xgb_cox``                 ``log_hazard``      XGBoost's TreeSHAP of the margin (the log
                                                hazard ratio)
``xgb_aft``                 ``minus_log_time``  minus XGBoost's TreeSHAP of the margin
                                                ``m(x)``, the location of ``ln T``: a reason
                                                that shortens the expected time raises risk
``survival_average``        ``standardised_``   each member's reasons x weight / the member's
                            ``risk``            training sd of risk, summed (the ensemble's
                                                risk is that linear map of its members');
                                                base: the same map of the members' bases
==========================  ==================  ============================================

scikit-survival's gradient boosting and random survival forest have no fast exact explainer
here: :func:`survival_explainer` refuses them, naming the model type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from churn.explain.attribution import Attribution, Matrix, Scale, Unexplainable, settle
from churn.explain.trees import Contributions, tree_contributions

ExplainRisk = Callable[[Matrix], Attribution]


class SurvivalUnexplainable(Unexplainable):
    """A survival model without a fast exact explanation (a usage error, not a broken run)."""


def survival_explainer(estimator: Any) -> ExplainRisk:
    """The exact explanation of a fitted survival estimator's risk; see the module docstring.

    Raises:
        SurvivalUnexplainable: gradient boosting / random survival forest (or another type).
    """
    # Imported here: scikit-survival is loaded only where a survival model is served.
    from churn.survival.ensemble import SurvivalAverage
    from churn.survival.estimators import CoxSurvival, XGBAFTSurvival, XGBCoxSurvival

    if isinstance(estimator, SurvivalAverage):
        return _average(estimator, [survival_explainer(m) for m in estimator.estimators_])
    if isinstance(estimator, CoxSurvival):
        return _cox(estimator)
    if isinstance(estimator, XGBCoxSurvival):
        contributions = tree_contributions(estimator.get_booster())
        return lambda X: _booster(contributions, X, estimator.predict(X), sign=1.0)
    if isinstance(estimator, XGBAFTSurvival):
        contributions = tree_contributions(estimator.get_booster())
        return lambda X: _booster(contributions, X, estimator.predict(X), sign=-1.0)
    raise SurvivalUnexplainable(
        f"reasons are not available for a {type(estimator).__name__} survival model (no fast "
        "exact explainer; cox, xgb_cox, xgb_aft and averages of them have one)"
    )


def _cox(model: Any) -> ExplainRisk:
    coef = np.asarray(model.coef_, dtype=np.float64)
    means = getattr(model, "feature_means_", None)
    reference = np.zeros_like(coef) if means is None else np.asarray(means, dtype=np.float64)
    base = float(coef @ reference)

    def explain(X: Matrix) -> Attribution:
        values = (np.asarray(X, dtype=np.float64) - reference) * coef
        return Attribution(values, np.full(len(values), base), "log_hazard")

    return explain


def _booster(contributions: Contributions, X: Matrix, risk: Any, *, sign: float) -> Attribution:
    """TreeSHAP of the margin, times ``sign``, settled on the model's own risk."""
    contribs = sign * contributions(np.asarray(X, dtype=np.float32))
    scale: Scale = "log_hazard" if sign > 0 else "minus_log_time"
    own = Attribution(contribs[:, :-1], contribs[:, -1], scale)
    return settle(own, np.asarray(risk, dtype=np.float64))


def _average(model: Any, members: list[ExplainRisk]) -> ExplainRisk:
    """A ``survival_average``'s risk is ``sum_i w_i (r_i - mean_i) / sd_i``: map each member's
    reasons (and base) through it; they add up to the ensemble's risk as the members' do."""
    factors = np.asarray(model.weights_, dtype=np.float64) / model.risk_scale_
    offset = float(factors @ model.risk_mean_)

    def explain(X: Matrix) -> Attribution:
        parts = [member(X) for member in members]
        values = sum(f * part.values for f, part in zip(factors, parts, strict=True))
        base = sum(f * part.base for f, part in zip(factors, parts, strict=True)) - offset
        rounding = sum(abs(f) * part.rounding for f, part in zip(factors, parts, strict=True))
        return Attribution(np.asarray(values), np.asarray(base), "standardised_risk", rounding)

    return explain
