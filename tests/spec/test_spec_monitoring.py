"""The spec's monitoring block: defaults when absent, per-column overrides, checked columns."""

from __future__ import annotations

import pytest
import yaml
from factories import subscriptions_spec

from churn.errors import SpecError
from churn.spec.loader import parse_spec
from churn.spec.monitoring import Thresholds


def parsed(monitoring: dict[str, object] | None = None) -> str:
    overrides = {} if monitoring is None else {"monitoring": monitoring}
    return yaml.safe_dump(subscriptions_spec(**overrides), sort_keys=False)


def test_without_a_monitoring_block_the_defaults_apply() -> None:
    monitoring = parse_spec(parsed()).monitoring

    assert monitoring.thresholds("plan") == Thresholds(0.1, 0.25, 0.01, 0.1)
    assert monitoring.thresholds(None) == Thresholds(0.1, 0.25, 0.01, 0.1)
    assert monitoring.window.records == 10_000
    assert monitoring.window.seconds is None
    assert monitoring.outcome_horizon_days == 30
    assert monitoring.max_champion_age_days == 7


def test_a_column_override_changes_only_that_column() -> None:
    monitoring = parse_spec(
        parsed(
            {
                "psi_warn": 0.05,
                "columns": {"monthly_fee": {"psi_alert": 0.2, "null_rate_alert": 0.3}},
                "scores": {"psi_alert": 0.4},
                "window": {"seconds": 3600},
            }
        )
    ).monitoring

    assert monitoring.thresholds("monthly_fee") == Thresholds(0.05, 0.2, 0.01, 0.3)
    assert monitoring.thresholds("plan") == Thresholds(0.05, 0.25, 0.01, 0.1)
    assert monitoring.thresholds(None).psi_alert == 0.4
    assert monitoring.window.seconds == 3600


@pytest.mark.parametrize(
    ("block", "words"),
    [
        ({"columns": {"nope": {"psi_alert": 0.2}}}, "monitoring.columns.nope"),
        ({"columns": {"monthly_fees": {"psi_alert": 0.2}}}, "; did you mean 'monthly_fee'?"),
        ({"psi_warn": 0.3}, "psi_warn must be <= psi_alert"),
        ({"columns": {"plan": {"psi_warn": 0.5}}}, "columns.plan.psi_warn must be <= psi_alert"),
        ({"window": {"records": 10, "seconds": 5}}, "exactly one of records or seconds"),
        ({"window": {}}, "exactly one of records or seconds"),
        ({"unseen_alert": 2}, "unseen_alert"),
        ({"psi_alrt": 0.2}, "psi_alrt"),
        ({"scores": {"unseen_alert": 0.1}}, "monitoring.scores.unseen_alert: the scores are"),
        ({"scores": {"null_rate_alert": 0.2}}, "scores.null_rate_alert: the scores are judged"),
    ],
)
def test_a_wrong_monitoring_block_is_named(block: dict[str, object], words: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(parsed(block))
    assert words in str(caught.value)
