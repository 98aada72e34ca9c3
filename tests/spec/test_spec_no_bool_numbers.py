"""A YAML boolean where the spec means a number is refused, naming the field and its line."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from factories import subscriptions_spec
from survival_factories import survival_spec

from churn.errors import SpecError
from churn.spec.loader import parse_spec
from churn.spec.no_bool_numbers import bool_where_number


def refused(raw: dict[str, Any]) -> tuple[str, str]:
    """The spec's text and the loader's message for it."""
    text = yaml.safe_dump(raw, sort_keys=False)
    with pytest.raises(SpecError) as info:
        parse_spec(text, source="spec.yaml")
    return text, str(info.value)


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("raw", "needle", "field"),
    [
        (
            subscriptions_spec(monitoring={"outcome_horizon_days": True}),
            "outcome_horizon_days",
            "monitoring.outcome_horizon_days",
        ),
        (
            subscriptions_spec(monitoring={"columns": {"monthly_fee": {"psi_alert": False}}}),
            "psi_alert",
            "monitoring.columns.monthly_fee.psi_alert",
        ),
        (
            subscriptions_spec(evaluation={"cv_folds": True, "split": {"test_size": 0.25}}),
            "cv_folds",
            "evaluation.cv_folds",
        ),
        (
            subscriptions_spec(evaluation={"cv_folds": 3, "split": {"test_size": True}}),
            "test_size",
            "evaluation.split.test_size",
        ),
    ],
)
def test_a_boolean_for_a_number_names_the_field_and_line(
    raw: dict[str, Any], needle: str, field: str
) -> None:
    text, message = refused(raw)

    assert f"spec.yaml:{line_of(text, needle)}: {field}: expected a number, not a boolean" in (
        message
    )


def test_a_boolean_inside_a_list_of_numbers_names_the_item() -> None:
    raw = survival_spec()
    raw["data"]["target"]["horizons"] = [6, True, 24]

    _, message = refused(raw)

    assert "spec.yaml:" in message
    assert re.search(r"data\.target\.horizons(\.1|\[1\]): expected a number, not a bool", message)


def test_booleans_where_booleans_belong_are_still_read() -> None:
    raw = subscriptions_spec(
        evaluation={"cv_folds": 3, "split": {"test_size": 0.25, "stratify": False, "seed": 7}}
    )
    spec = parse_spec(yaml.safe_dump(raw, sort_keys=False))

    assert spec.evaluation.split.stratify is False


@pytest.mark.parametrize(
    ("annotation", "value", "where"),
    [
        (int, True, ()),
        (float | None, False, ()),
        (int | bool, True, None),
        (str | int | float | bool, True, None),
        (list[int], [1, 2, True], (2,)),
        (dict[str, float], {"a": 0.1, "b": True}, ("b",)),
        (tuple[float, ...], (0.5, 0.6), None),
        (int, 3, None),
    ],
)
def test_bool_where_number_walks_unions_lists_and_mappings(
    annotation: Any, value: Any, where: tuple[Any, ...] | None
) -> None:
    assert bool_where_number(annotation, value) == where
