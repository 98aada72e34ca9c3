"""Exact contributions per model type, each on the model's own additive scale.

:func:`model_explainer` turns a fitted final estimator into a function from the encoded
feature matrix to an :class:`~churn.explain.attribution.Attribution`:

========================  ============  ===============================================
model                     scale         contributions
========================  ============  ===============================================
XGBoost                   log-odds      XGBoost's own TreeSHAP (``pred_contribs``; for
                                        shallow trees its table form, see
                                        :mod:`~churn.explain.shallow`)
logistic regression       log-odds      coefficient x (encoded feature - its training mean,
                                        ``feature_means_``; 0 for models trained without);
                                        base: the margin at those means
random forest, extra      probability   TreeSHAP of the trees (:mod:`churn.explain.trees`)
trees
histogram gradient        log-odds      TreeSHAP of the trees, baseline in the base
boosting
dummy                     probability   none; the base is the constant answer
resampled candidate       its model's   the final estimator's (samplers do not predict)
calibrated candidate      probability   each fold model's contributions, moved to the
                                        calibrated probability (see below), averaged
soft voting               probability   members' contributions on the probability scale,
                                        weighted as the votes are
stacking                  log-odds      final logistic regression's coefficient x each
                                        member's contributions (on the scale it stacks)
========================  ============  ===============================================

"Moved" means :func:`~churn.explain.attribution.rescale`: within one row every contribution is
multiplied by the same factor, so that they sum to the new output (a calibrator's value, a
member's probability); the order and signs of a row's reasons are the model's own. Anything
else (hard voting, stacking with ``passthrough`` or another final estimator, a multi-class
model) raises :class:`Unexplainable` when the model is loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import xgboost as xgb
from sklearn.calibration import CalibratedClassifierCV
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import (
    ExtraTreesClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
    StackingClassifier,
    VotingClassifier,
)
from sklearn.linear_model import LogisticRegression

from churn.explain.attribution import (
    Attribution,
    Matrix,
    Unexplainable,
    rescale,
    settle,
    to_probability,
    weighted_sum,
)
from churn.explain.threads import explain_pool
from churn.explain.trees import (
    booster_attribution,
    forest_booster,
    hist_booster,
    tree_contributions,
)
from churn.survival.scoring import is_survival_estimator

Explain = Callable[[Matrix], Attribution]


def model_explainer(estimator: Any) -> Explain:
    """The exact explanation of a fitted binary classifier (or survival model: its risk, see
    :mod:`churn.explain.survival`); see the module docstring.

    Raises:
        Unexplainable: A model type (or a setting of it) without an exact explanation.
    """
    if is_survival_estimator(estimator):
        from churn.explain.survival import survival_explainer

        return survival_explainer(estimator)
    classes = getattr(estimator, "classes_", None)
    if classes is not None and len(classes) != 2:
        raise Unexplainable(f"{type(estimator).__name__} with {len(classes)} classes")
    if isinstance(estimator, xgb.XGBClassifier):
        return _xgboost(estimator)
    if isinstance(estimator, LogisticRegression):
        return _linear(estimator)
    if isinstance(estimator, RandomForestClassifier | ExtraTreesClassifier):
        forest = tree_contributions(forest_booster(estimator))
        return lambda X: booster_attribution(
            forest, X, estimator.predict_proba(X)[:, 1], 0.0, "probability"
        )
    if isinstance(estimator, HistGradientBoostingClassifier):
        try:
            hist = hist_booster(estimator)
        except ValueError as exc:
            raise Unexplainable(str(exc)) from None
        trees = tree_contributions(hist.booster)
        return lambda X: booster_attribution(
            trees, hist.ranks(X), estimator.decision_function(X), hist.baseline, "log_odds"
        )
    if isinstance(estimator, DummyClassifier):
        return _constant(estimator)
    if isinstance(estimator, CalibratedClassifierCV):
        return _calibrated(estimator)
    if isinstance(estimator, VotingClassifier):
        return _voting(estimator)
    if isinstance(estimator, StackingClassifier):
        return _stacking(estimator)
    steps = getattr(estimator, "steps", None)
    if steps and all(hasattr(step, "fit_resample") for _, step in steps[:-1]):
        return model_explainer(steps[-1][1])  # an imblearn [resample -> model] pipeline
    raise Unexplainable(f"no exact explanation for {type(estimator).__name__}")


def _xgboost(model: xgb.XGBClassifier) -> Explain:
    booster = model.get_booster()
    contributions = tree_contributions(booster)

    def explain(X: Matrix) -> Attribution:
        X32 = np.asarray(X, dtype=np.float32)
        pool = explain_pool()
        margin_of = partial(booster.inplace_predict, X32, predict_type="margin")
        pending = pool.submit(margin_of) if pool is not None else None
        contribs = contributions(X32)
        margin = pending.result() if pending is not None else margin_of()
        own = Attribution(contribs[:, :-1], contribs[:, -1], "log_odds")
        return settle(own, np.asarray(margin, dtype=np.float64))

    return explain


def _linear(model: LogisticRegression) -> Explain:
    coef = np.asarray(model.coef_[0], dtype=np.float64)
    means = getattr(model, "feature_means_", None)  # None: a model trained before they were kept
    reference = np.zeros_like(coef) if means is None else np.asarray(means, dtype=np.float64)
    base = float(model.intercept_[0]) + float(coef @ reference)

    def explain(X: Matrix) -> Attribution:
        values = (np.asarray(X, dtype=np.float64) - reference) * coef
        return Attribution(values, np.full(len(values), base), "log_odds")

    return explain


def _constant(model: DummyClassifier) -> Explain:
    def explain(X: Matrix) -> Attribution:
        proba = np.asarray(model.predict_proba(X)[:, 1], dtype=np.float64)
        return Attribution(np.zeros(X.shape, dtype=np.float64), proba, "probability")

    return explain


def _calibrated(model: CalibratedClassifierCV) -> Explain:
    folds = []
    for fold in model.calibrated_classifiers_:
        inner = fold.estimator
        reads_margin = hasattr(inner, "decision_function")
        folds.append((model_explainer(inner), reads_margin, fold.calibrators[0]))

    def explain(X: Matrix) -> Attribution:
        parts = []
        for inner, reads_margin, calibrator in folds:
            own = inner(X)
            if not reads_margin:
                own = to_probability(own)
            elif own.scale != "log_odds":
                raise Unexplainable("a calibrated model whose decision function is no margin")
            base = np.asarray(calibrator.predict(own.base), dtype=np.float64)
            output = np.asarray(calibrator.predict(own.output), dtype=np.float64)
            parts.append(rescale(own, base, output, "probability"))
        weights = np.full(len(parts), 1.0 / len(parts))
        return weighted_sum(parts, weights, 0.0, "probability")

    return explain


def _voting(model: VotingClassifier) -> Explain:
    if model.voting != "soft":
        raise Unexplainable("hard voting (a majority of decisions has no additive explanation)")
    given = np.ones(len(model.estimators)) if model.weights is None else model.weights
    weights = np.asarray(
        [w for w, (_, est) in zip(given, model.estimators, strict=True) if not _dropped(est)],
        dtype=np.float64,
    )
    members = [model_explainer(member) for member in model.estimators_]
    shares = weights / weights.sum()

    def explain(X: Matrix) -> Attribution:
        parts = [to_probability(member(X)) for member in members]
        return weighted_sum(parts, shares, 0.0, "probability")

    return explain


def _stacking(model: StackingClassifier) -> Explain:
    final = model.final_estimator_
    if model.passthrough or not isinstance(final, LogisticRegression):
        raise Unexplainable("stacking other than a logistic regression on the members' outputs")
    members = [model_explainer(member) for member in model.estimators_]
    methods = list(model.stack_method_)
    coef = np.asarray(final.coef_[0], dtype=np.float64)
    if len(coef) != len(members):
        raise Unexplainable("stacking whose final model reads more than one column per member")
    intercept = float(final.intercept_[0])

    def explain(X: Matrix) -> Attribution:
        parts = []
        for member, method in zip(members, methods, strict=True):
            own = member(X)
            parts.append(to_probability(own) if method == "predict_proba" else own)
        return weighted_sum(parts, coef, intercept, "log_odds")

    return explain


def _dropped(estimator: Any) -> bool:
    return isinstance(estimator, str) and estimator == "drop"
