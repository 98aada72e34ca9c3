"""The survival outcome of a frame: one (event, time) pair per row, as scikit-survival wants it.

A row's ``time`` is how long the customer has been observed (the spec's duration column); its
``event`` is True when that stay ended in churn (the event column holds ``event_value``) and
False when it is censored: still a customer, so all we know is that churn comes later, if ever.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from churn.spec.base import Scalar

SURVIVAL_DTYPE = np.dtype([("event", "?"), ("time", "<f8")])
"""The layout of ``sksurv.util.Surv.from_arrays``: a boolean event, then a float64 time."""


class SurvivalTarget(Protocol):
    """What the outcome reads of the spec's survival target (``SurvivalTargetSpec``)."""

    @property
    def duration(self) -> str:
        """The column holding the observed time."""
        ...

    @property
    def event(self) -> str:
        """The column that says whether the observed time ended in churn."""
        ...

    @property
    def event_value(self) -> Scalar:
        """The event column's value meaning 'churned'."""
        ...


def survival_outcome(frame: pd.DataFrame, target: SurvivalTarget) -> np.ndarray:
    """A structured array of :data:`SURVIVAL_DTYPE`, one entry per row of ``frame``.

    ``event`` is ``frame[target.event] == target.event_value`` (every other value, missing
    included, is censored: a row is never an event unless it says so); ``time`` is the duration.

    Raises:
        ValueError: A duration is missing, infinite or negative (the data contract rules these
            out; a frame built elsewhere gets a message naming the column and the first row).
    """
    time = frame[target.duration].to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(time) | (time < 0)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"duration column {target.duration!r} needs finite values >= 0, "
            f"got {time[first]!r} at row {first + 1}"
        )
    outcome = np.empty(len(frame), dtype=SURVIVAL_DTYPE)
    outcome["event"] = (frame[target.event] == target.event_value).to_numpy(
        dtype=bool, na_value=False
    )
    outcome["time"] = time
    return outcome
