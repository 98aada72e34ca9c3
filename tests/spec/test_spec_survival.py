"""The survival target: the union on kind, its defaults and its cross-field rules."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from factories import subscriptions_spec
from pydantic import ValidationError
from survival_factories import survival_spec

from churn.spec import Spec
from churn.spec.checks import SpecProblems
from churn.spec.survival import SurvivalTargetSpec, lower_is_better

ROOT = Path(__file__).resolve().parents[2]


def problems(raw: dict[str, Any]) -> dict[str, str]:
    """The cross-field problems of ``raw``, as dotted location -> message."""
    with pytest.raises(SpecProblems) as info:
        Spec.model_validate(raw)
    return {".".join(map(str, loc)): message for loc, message in info.value.problems}


def with_target(**changes: Any) -> dict[str, Any]:
    raw = survival_spec()
    raw["data"]["target"].update(changes)
    return raw


def test_a_target_without_kind_is_a_classifier_target_and_dumps_as_before() -> None:
    spec = Spec.model_validate(subscriptions_spec())
    assert spec.survival_target is None
    assert spec.target_columns == ("churned",)
    assert spec.data.target.model_dump() == {"column": "churned", "positive": 1}
    explicit = subscriptions_spec()
    explicit["data"]["target"]["kind"] = "classification"
    assert Spec.model_validate(explicit).data.target == spec.data.target


def test_an_unknown_target_kind_names_the_two_kinds() -> None:
    raw = subscriptions_spec()
    raw["data"]["target"]["kind"] = "regression"
    with pytest.raises(ValidationError, match=r"classification \(the default\) or survival"):
        Spec.model_validate(raw)


def test_a_survival_target_keeps_duration_and_event_out_of_the_features() -> None:
    spec = Spec.model_validate(survival_spec())
    target = spec.survival_target
    assert isinstance(target, SurvivalTargetSpec)
    assert (target.column, target.positive) == ("churned", "yes")  # shared with classifiers
    assert spec.target_columns == ("churned", "months_active")
    assert spec.feature_columns == ["plan", "monthly_fee", "support_calls"]


def test_a_survival_spec_reports_every_survival_metric_and_selects_on_harrell_c() -> None:
    spec = Spec.model_validate(survival_spec())
    assert spec.evaluation.selection_metric == "harrell_c"
    assert spec.evaluation.metrics == [
        "harrell_c",
        "uno_c",
        "ibs",
        "ibs_km",
        "ibs_ratio",
        "td_auc_6",
        "td_auc_12",
        "td_auc_24",
        "calibration_error_6",
        "calibration_error_12",
        "calibration_error_24",
    ]
    chosen = survival_spec(
        evaluation={"metrics": ["uno_c", "ibs"], "selection_metric": "uno_c"},
        gates={"value": [{"metric": "ibs", "upper": 0.2}]},
    )
    assert Spec.model_validate(chosen).evaluation.metrics == ["uno_c", "ibs"]


def test_which_survival_metrics_are_lower_is_better() -> None:
    assert [lower_is_better(m) for m in ("ibs", "ibs_ratio", "calibration_error_6")] == [True] * 3
    assert [lower_is_better(m) for m in ("harrell_c", "uno_c", "td_auc_6")] == [False] * 3
    assert lower_is_better("brier") and not lower_is_better("roc_auc")


@pytest.mark.parametrize(
    ("horizons", "message"),
    [
        ([6, 6, 12], "horizons must increase, got 6 after 6"),
        ([0, 6], "greater than 0"),
        ([], "at least 1 item"),
    ],
)
def test_horizons_are_positive_and_increasing(horizons: list[float], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Spec.model_validate(with_target(horizons=horizons))


def test_the_duration_column_needs_a_fitting_contract() -> None:
    raw = survival_spec()
    raw["columns"]["months_active"] = {"dtype": "float", "nullable": True}
    found = problems(raw)
    assert found["columns.months_active.nullable"] == "the duration column cannot be nullable"
    assert found["columns.months_active.min"] == (
        "the duration column needs min: 0 or more, got no min"
    )
    raw["columns"]["months_active"] = {"dtype": "str"}
    assert problems(raw)["data.target.duration"] == (
        "the duration needs dtype int or float, got 'str'"
    )
    assert "data.target.duration" in problems(with_target(duration="nope"))
    assert problems(with_target(horizons=[6, 12, 90]))["data.target.horizons.2"] == (
        "expected horizons within the duration's max 60, got 90"
    )


def test_the_duration_can_feed_no_feature() -> None:
    raw = survival_spec()
    raw["features"]["groups"][0]["columns"].append("months_active")
    raw["features"]["derived"] = [
        {"name": "spend_rate", "type": "ratio", "numerator": "total_spend",
         "denominator": "months_active"},
    ]  # fmt: skip
    raw["features"]["groups"][0]["columns"].append("spend_rate")
    found = problems(raw)
    assert "the model would read the answer" in found["features.groups.0.columns.2"]
    assert "the model would read the answer" in found["features.derived.0"]


def test_survival_targets_take_survival_models_only_and_the_other_way_round() -> None:
    raw = survival_spec()
    raw["models"].append({"name": "logreg", "type": "logistic_regression"})
    raw["models"].append({"name": "blend", "type": "soft_voting", "members": ["cox", "xgb_cox"]})
    raw["models"][0]["class_balance"] = "balanced"
    found = problems(raw)
    assert found["models.2.type"].startswith("a survival target needs a survival model")
    assert found["models.3.type"] == "'soft_voting' ensembles are for classifiers, not survival"
    assert found["models.0.class_balance"] == "class_balance is for classifiers, not survival"
    classifier = subscriptions_spec()
    classifier["models"].append({"name": "cox", "type": "cox"})
    classifier["gates"]["value"].append({"metric": "harrell_c", "lower": 0.7})
    found = problems(classifier)
    assert (
        found["models.2.type"] == "'cox' is a survival model; it needs data.target.kind: survival"
    )
    assert "survival metric" in found["gates.value.1.metric"]


def test_a_survival_spec_names_survival_metrics_at_declared_horizons() -> None:
    raw = survival_spec(
        evaluation={"metrics": ["harrell_c", "td_auc_7", "roc_auc"]},
        gates={"value": [{"metric": "roc_auc", "lower": 0.7}]},
    )
    raw["evaluation"]["threshold"] = {"strategy": "tuned"}
    found = problems(raw)
    assert found["evaluation.metrics.1"] == (
        "'td_auc_7' names no declared horizon (data.target.horizons: 6, 12, 24)"
    )
    assert (
        found["evaluation.metrics.2"] == "a survival spec reports survival metrics, got 'roc_auc'"
    )
    assert found["gates.value.0.metric"] == (
        "a survival spec reports survival metrics, got 'roc_auc'"
    )
    assert found["evaluation.threshold"] == "a survival spec has no decision threshold"


def test_the_event_column_is_checked_like_a_label() -> None:
    raw = copy.deepcopy(survival_spec())
    raw["data"]["target"]["event_value"] = "maybe"
    assert "expected one of the target's values" in problems(raw)["data.target.positive"]
