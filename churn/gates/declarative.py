"""The gate test of ``gates.slices``: every declared slice, checked by the expectation helpers.

The churn plugin adds this module to the collected gate tests when the spec declares slices;
it holds one test. Each slice is measured with :func:`churn.gates.expectations.slice_metrics`
(every segment recorded as evidence, seeded with the spec's split seed), and the test fails
once, listing every failing segment of every slice.
"""

from __future__ import annotations

from churn.gates.expectations import ExpectationFailed, SliceFailed, slice_metrics
from churn.gates.subjects import GateModel, LabelledRows
from churn.spec import Spec


def test_declared_slices(
    spec: Spec, model: GateModel, champion: GateModel | None, holdout: LabelledRows
) -> None:
    """Every segment of every ``gates.slices`` entry within its bounds and versus the champion."""
    failures: list[ExpectationFailed] = []
    for entry in spec.gates.slices:
        try:
            slice_metrics(
                model,
                holdout,
                entry.column,
                entry.metric,
                lower=entry.lower,
                upper=entry.upper,
                champion=champion,
                max_regression=entry.max_regression,
                bins=entry.bins,
                segments=entry.segments,
                min_rows=entry.min_rows,
                confidence=entry.confidence,
                resamples=entry.resamples,
                seed=spec.evaluation.split.seed,
            )
        except ExpectationFailed as failed:
            failures.append(failed)
    if failures:
        raise SliceFailed(
            f"{len(failures)} of {len(spec.gates.slices)} declared slices failed",
            [finding for failed in failures for finding in failed.findings],
        )
