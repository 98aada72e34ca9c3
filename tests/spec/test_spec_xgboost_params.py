"""XGBoost parameters are checked when the spec loads, with the line, before anything trains."""

from __future__ import annotations

from pathlib import Path

import pytest

from churn.errors import SpecError
from churn.spec.loader import parse_spec

ROOT = Path(__file__).resolve().parents[2]
TELCO = (ROOT / "spec" / "telco.yaml").read_text()
XGB_PARAMS = "params: {n_estimators: 600, learning_rate: 0.01, max_depth: 3, subsample: 0.8,"
XGB_LINE = TELCO[: TELCO.index(XGB_PARAMS)].count("\n") + 1


def xgb_problem(first_params: str) -> str:
    """The one problem of the default spec with its XGBoost params starting ``first_params``."""
    text = TELCO.replace(XGB_PARAMS, "params: {" + first_params + ",", 1)
    with pytest.raises(SpecError) as info:
        parse_spec(text, source="spec/telco.yaml")
    [problem] = info.value.problems
    return problem


@pytest.mark.parametrize(
    ("params", "where", "says"),
    [
        ("learning_rate: -5", "learning_rate", "value -5 for Parameter learning_rate should be"),
        ("max_depth: -1", "max_depth", "value -1 for Parameter max_depth should be greater"),
        ("subsample: 2", "subsample", "value 2 for Parameter subsample exceed bound [0,1]"),
        ("gamma: -1", "gamma", "Parameter min_split_loss should be greater equal to 0"),
        ("max_depth: deep", "max_depth", "Invalid Parameter format for max_depth expect int"),
        ("tree_method: fastest", "tree_method", "Invalid Input: 'fastest', valid values are"),
        ("objective: 'nope'", "objective", "Unknown objective function: `nope`"),
        ("n_estimators: 0", "n_estimators", "must be an int in the range [1, inf) or None, got 0"),
    ],
)
def test_out_of_range_xgboost_params_are_spec_errors_with_the_line(
    params: str, where: str, says: str
) -> None:
    problem = xgb_problem(params)
    assert problem.startswith(f"spec/telco.yaml:{XGB_LINE}: models[2].params.{where}: ")
    assert says in problem
    assert "Stack trace" not in problem and "/workspace/" not in problem


def test_unknown_xgboost_param_is_named() -> None:
    problem = xgb_problem("learning_rat: 0.1")
    assert problem.startswith(f"spec/telco.yaml:{XGB_LINE}: models[2].params.learning_rat: ")
    assert "unknown parameter for xgboost" in problem


def test_the_default_xgboost_params_pass() -> None:
    assert parse_spec(TELCO).models[2].type == "xgboost"
