"""The survival outcome: sksurv's layout, events only where the event column says so."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sksurv.util import Surv

from churn.spec.survival import SurvivalTargetSpec
from churn.survival.outcome import SURVIVAL_DTYPE, survival_outcome

TARGET = SurvivalTargetSpec(
    kind="survival",
    duration="tenure",
    event="Churn",
    event_value="Yes",
    unit="month",
    horizons=[3, 6],
)


def test_events_are_the_event_value_and_every_other_row_is_censored() -> None:
    frame = pd.DataFrame(
        {
            "tenure": [1, 0, 24, 7],
            "Churn": pd.Series(["Yes", "No", None, "yes"], dtype="string"),
        }
    )
    outcome = survival_outcome(frame, TARGET)
    assert outcome.dtype == SURVIVAL_DTYPE
    assert outcome["event"].tolist() == [True, False, False, False]
    assert outcome["time"].tolist() == [1.0, 0.0, 24.0, 7.0]
    expected = Surv.from_arrays(event=[True, False, False, False], time=[1, 0, 24, 7])
    assert expected.dtype.names == outcome.dtype.names
    np.testing.assert_array_equal(expected["time"], outcome["time"])


@pytest.mark.parametrize("bad", [np.nan, -1.0, np.inf])
def test_a_missing_negative_or_infinite_duration_names_the_column_and_row(bad: float) -> None:
    frame = pd.DataFrame({"tenure": [3.0, bad], "Churn": ["No", "Yes"]})
    with pytest.raises(ValueError, match=r"duration column 'tenure' .* at row 2"):
        survival_outcome(frame, TARGET)
