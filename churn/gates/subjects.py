"""What gate tests receive and what they leave behind.

The churn pytest plugin provides these fixtures to every gate test:

* ``model``: the :class:`GateModel` under test (the candidate that would be promoted, or each
  candidate in turn when the spec asks for all of them), with its served threshold;
* ``champion``: the current champion as a :class:`GateModel`, or ``None`` on a first run;
* ``holdout``: the hold-out rows as :class:`LabelledRows` (never a training row);
* ``train_sample``: a sample of the training rows as :class:`LabelledRows`;
* ``spec``: the run's :class:`churn.spec.Spec`;
* ``metrics``: the candidate's hold-out metrics, metric name -> value (None when not computed).

A helper that measures a slice (a metric per segment of a column) records each segment as a
:class:`SliceEvidence` with :func:`record_evidence`; the plugin collects them per test with
:func:`collecting` and stores them in the test's :class:`GateTestOutcome`, which goes into
``run.json``, the CLI, the report and ``/app-info``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:  # the run record (churn.registry) reads this module without the ML stack
    import numpy.typing as npt
    import pandas as pd
    from sklearn.pipeline import Pipeline

TestOutcomeKind = Literal["passed", "failed", "error", "skipped"]


@dataclass(frozen=True)
class GateModel:
    """A fitted candidate as it would be served: its pipeline and its decision threshold."""

    name: str
    pipeline: Pipeline
    threshold: float
    run_id: str | None = None

    def probability(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        """P(churn) for each row of ``X`` (the spec's raw feature columns)."""
        return np.asarray(self.pipeline.predict_proba(X)[:, 1], dtype=np.float64)

    def decide(self, X: pd.DataFrame) -> npt.NDArray[np.bool_]:
        """The served decision for each row: ``probability >= threshold``."""
        return self.probability(X) >= self.threshold


@dataclass(frozen=True)
class LabelledRows:
    """Rows of the spec's raw feature columns (``X``) and their 0/1 labels (``y``)."""

    X: pd.DataFrame
    y: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.y)


class SliceEvidence(BaseModel):
    """One segment's metric, its bootstrap interval and the bound it was held to."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    column: str
    segment: str
    metric: str
    rows: int
    value: float | None
    low: float | None = None
    high: float | None = None
    bound: str | None = None
    """The bound in words (``>= 0.60``, ``champion 0.71 - interval``); None when only reported."""
    champion: float | None = None
    passed: bool | None = None
    """None when the segment was only reported (too few rows, or no bound)."""


class GateTestOutcome(BaseModel):
    """One gate test's result against one candidate, as ``run.json`` records it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    nodeid: str
    candidate: str
    outcome: TestOutcomeKind
    duration_s: float
    message: str = ""
    """The failure or error message (for a failed expectation: column, segment, value, bound)."""
    file: str | None = None
    line: int | None = None
    evidence: list[SliceEvidence] = []


_EVIDENCE: ContextVar[list[SliceEvidence] | None] = ContextVar("churn_gate_evidence", default=None)


def record_evidence(*items: SliceEvidence) -> None:
    """Add slice evidence to the test being run (nothing happens outside a gate run)."""
    collected = _EVIDENCE.get()
    if collected is not None:
        collected.extend(items)


@contextmanager
def collecting() -> Iterator[list[SliceEvidence]]:
    """Collect what :func:`record_evidence` records inside the ``with`` block."""
    collected: list[SliceEvidence] = []
    token = _EVIDENCE.set(collected)
    try:
        yield collected
    finally:
        _EVIDENCE.reset(token)
