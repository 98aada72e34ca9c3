"""The survival ensemble (``survival_average``): its risk, curves and median, spec and training."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from factories import subscriptions_spec
from sklearn.base import clone
from sksurv.metrics import concordance_index_censored
from survival_factories import survival_frame, survival_spec
from test_estimators import survival_table

from churn.spec import Spec
from churn.spec.checks import SpecProblems
from churn.survival.curves import step_median
from churn.survival.ensemble import SurvivalAverage
from churn.survival.estimators import CoxSurvival, XGBAFTSurvival
from churn.survival.scoring import SurvivalScorer
from churn.training.compile import compile_spec
from churn.training.evaluate import split_dataset, train_candidate

TIMES = np.array([0.0, 1.0, 3.0, 6.0, 12.0, 24.0, 48.0])


def members() -> list[tuple[str, Any]]:
    return [
        ("cox", CoxSurvival()),
        ("aft", XGBAFTSurvival(n_estimators=30, max_depth=2, n_jobs=1)),
    ]


@pytest.fixture(scope="module")
def fitted() -> tuple[SurvivalAverage, np.ndarray, np.ndarray]:
    X, y = survival_table()
    return SurvivalAverage(members(), weights=[3.0, 1.0]).fit(X, y), X, y


def test_the_risk_is_the_weighted_mean_of_the_members_training_standardised_risks(fitted):
    model, X, _ = fitted
    cox, aft = (model.named_estimators_[name] for name in ("cox", "aft"))
    train = [cox.predict(X), aft.predict(X)]
    rows = X[:25]
    expected = sum(
        weight * (member.predict(rows) - risk.mean()) / risk.std()
        for weight, member, risk in zip([0.75, 0.25], [cox, aft], train, strict=True)
    )
    np.testing.assert_allclose(model.predict(rows), expected, rtol=1e-10)
    assert model.times_[0] > 0  # the median's grid: the positive training times


def test_the_curve_is_the_weighted_mean_of_the_members_curves_and_gives_the_median(fitted):
    model, X, y = fitted
    cox, aft = model.estimators_
    expected = 0.75 * cox.predict_survival(X, TIMES) + 0.25 * aft.predict_survival(X, TIMES)
    np.testing.assert_allclose(model.predict_survival(X, TIMES), expected, rtol=1e-12)
    curve = model.predict_survival(X, model.times_)
    assert np.all(np.diff(curve, axis=1) <= 1e-12)  # a mixture of survival curves
    np.testing.assert_array_equal(model.predict_median(X), step_median(model.times_, curve))
    harrell = concordance_index_censored(y["event"], y["time"], model.predict(X))[0]
    assert model.score(X, y) == pytest.approx(harrell)


def test_an_ensemble_of_one_model_twice_ranks_and_predicts_as_that_model() -> None:
    X, y = survival_table(rows=200, seed=1)
    cox = CoxSurvival().fit(X, y)
    twice = clone(SurvivalAverage([("a", CoxSurvival()), ("b", CoxSurvival())])).fit(X, y)
    risk = cox.predict(X)
    np.testing.assert_allclose(twice.predict(X), (risk - risk.mean()) / risk.std(), atol=1e-9)
    np.testing.assert_allclose(twice.predict_survival(X, TIMES), cox.predict_survival(X, TIMES))


@pytest.mark.parametrize(
    ("weights", "message"),
    [([1.0], "expected 2 values"), ([0.0, 0.0], "not all 0"), ([1.0, -1.0], ">= 0")],
)
def test_weights_that_do_not_fit_the_members_are_refused(weights, message) -> None:
    X, y = survival_table(rows=100)
    with pytest.raises(ValueError, match=message):
        SurvivalAverage(members(), weights=weights).fit(X, y)


def average_spec(**ensemble: Any) -> dict[str, Any]:
    raw = survival_spec()
    raw["models"].append({"name": "average", "type": "survival_average", **ensemble})
    return raw


def test_a_survival_spec_averages_its_survival_candidates_and_records_the_members() -> None:
    raw = average_spec(members=["cox", "xgb_cox"], weights=[2, 1])
    raw["evaluation"]["cv_folds"] = 2
    raw["models"][1]["params"] = {"n_estimators": 20, "max_depth": 2, "n_jobs": 1}
    spec = Spec.model_validate(raw)
    frame = survival_frame(rows=240)
    pipeline = compile_spec(spec)["average"]
    assert isinstance(pipeline[-1], SurvivalAverage)
    result = train_candidate(spec, "average", pipeline, split_dataset(spec, frame))
    assert result.members == ["cox", "xgb_cox"]
    assert result.summary()["members"] == ["cox", "xgb_cox"]
    assert result.holdout["harrell_c"] > 0.6
    assert len(result.cv_scores["harrell_c"]) == 2


def problems(raw: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(SpecProblems) as info:
        Spec.model_validate(raw)
    return {".".join(map(str, loc)): message for loc, message in info.value.problems}


def test_survival_ensembles_average_survival_candidates_only_and_only_in_survival_specs() -> None:
    raw = average_spec(members=["cox", "xgb_cox"], calibration={"method": "sigmoid"})
    found = problems(raw)
    assert found["models.2.calibration"] == "calibration is for classifiers, not survival"
    classifier = subscriptions_spec()
    names = [model["name"] for model in classifier["models"]]
    classifier["models"].append({"name": "avg", "type": "survival_average", "members": names})
    found = problems(classifier)
    assert found["models.2.type"] == (
        "'survival_average' is a survival ensemble; it needs data.target.kind: survival"
    )


def test_a_served_ensemble_answers_from_its_mean_curve(fitted) -> None:
    model, X, _ = fitted
    scores = SurvivalScorer(model, [3, 12], "month").score(X[:50])
    expected = 1.0 - model.predict_survival(X[:50], np.array([3.0, 12.0]))
    np.testing.assert_allclose(scores.within, expected)
    np.testing.assert_array_equal(scores.median, model.predict_median(X[:50]))
