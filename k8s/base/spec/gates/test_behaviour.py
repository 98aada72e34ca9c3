"""Gate tests of the Telco spec: the direction of the risk where the business knows it."""

from __future__ import annotations

from churn.gates.expectations import expect_direction
from churn.gates.subjects import GateModel, LabelledRows
from churn.spec import Spec


def test_longer_contract_never_raises_the_risk(
    spec: Spec, model: GateModel, holdout: LabelledRows
) -> None:
    """Moving any customer from month-to-month to a one-year, then to a two-year contract must
    not raise their P(churn) by more than 0.01."""
    contracts = spec.columns["Contract"].values
    assert contracts == ["Month-to-month", "One year", "Two year"]
    expect_direction(
        model, holdout, "Contract", risk="decreasing", values=contracts, tolerance=0.01
    )
