"""Gate tests of the Telco spec: what must not matter, and who gets flagged.

Run after every `churn run` against the candidate that would be promoted, and on a recorded
run with `churn gate RUN`. The fixtures (model, holdout, spec, ...) come from churn's pytest
plugin; the helpers from churn.gates.expectations.
"""

from __future__ import annotations

from churn.gates.expectations import expect_invariance, selection_rate_ratio
from churn.gates.subjects import GateModel, LabelledRows
from churn.spec import Spec


def test_gender_does_not_move_the_risk(spec: Spec, model: GateModel, holdout: LabelledRows) -> None:
    """The spec drops gender, so switching it must move no customer's P(churn) by 0.01; this
    fails if someone feeds it back to the model with any weight."""
    levels = spec.columns["gender"].values
    assert levels is not None
    expect_invariance(model, holdout, "gender", levels, tolerance=0.01, max_share=0.0)


def test_senior_citizen_selection_rate_is_reported(model: GateModel, holdout: LabelledRows) -> None:
    """Share of seniors and non-seniors flagged for an offer, and their ratio (the four-fifths
    rule), recorded in the run. Seniors churn about twice as often in this data, so the rule
    is reported, not enforced: set min_ratio=0.8 to enforce it."""
    selection_rate_ratio(model, holdout, "SeniorCitizen", min_ratio=None)
