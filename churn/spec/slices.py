"""``gates.slices``: per-segment metric gates declared in the spec, without test code.

Each entry measures one metric on each segment of one feature column of the hold-out (each
level, or each bin of a numeric column) with a seeded bootstrap interval, and holds every
segment with at least ``min_rows`` rows to a bound and/or to the champion. The entries are
checked by one gate test, :mod:`churn.gates.declarative`, through the same helpers as
hand-written gate tests (:mod:`churn.gates.expectations`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING

from pydantic import Field, model_validator

from churn.spec.base import COST_METRICS, NUMERIC_DTYPES, Metric, Scalar, StrictModel

if TYPE_CHECKING:
    from churn.spec.checks import Problem
    from churn.spec.model import Spec


class SliceSpec(StrictModel):
    """One metric per segment of one column, with bounds; segments too small are only reported."""

    column: str = Field(description="A feature column of the spec (not dropped, not derived).")
    metric: Metric = Field(
        description="Measured on each segment's hold-out rows (any metric but profit)."
    )
    bins: list[float] | None = Field(
        default=None,
        min_length=2,
        description="Numeric columns: bin edges (ascending); segments are the bins (a, b].",
    )
    segments: list[Scalar] | None = Field(
        default=None,
        min_length=1,
        description="Only these levels of the column (default: every level or bin present).",
    )
    lower: float | None = Field(
        default=None, description="Every segment's value must be at least this (inclusive)."
    )
    upper: float | None = Field(
        default=None, description="Every segment's value must be at most this (inclusive)."
    )
    max_regression: float | None = Field(
        default=None,
        ge=0,
        description=(
            "Versus the champion on the same rows: a segment fails when the champion's value "
            "lies beyond the candidate's bootstrap interval by more than this (0: by anything). "
            "Unset: no comparison. Without a champion the segments are only reported."
        ),
    )
    min_rows: int = Field(
        default=30, ge=1, le=1_000_000, description="Smaller segments are reported, not gated."
    )
    confidence: float = Field(
        default=0.95, gt=0, lt=1, description="Coverage of the bootstrap interval."
    )
    resamples: int = Field(
        default=500, ge=50, le=10_000, description="Bootstrap resamples of each segment."
    )

    @model_validator(mode="after")
    def _bounds_in_order(self) -> SliceSpec:
        if self.metric in COST_METRICS:
            raise ValueError(f"{self.metric} cannot be measured per segment; choose another metric")
        if self.lower is not None and self.upper is not None and self.lower > self.upper:
            raise ValueError(f"lower must be <= upper, got {self.lower} > {self.upper}")
        if self.bins is not None and any(a >= b for a, b in itertools.pairwise(self.bins)):
            raise ValueError(f"bins must be strictly ascending, got {self.bins}")
        return self


def slice_problems(spec: Spec) -> Iterator[Problem]:
    """Slices on columns the hold-out does not hold, or bins on a non-numeric column."""
    features = spec.feature_columns
    for index, entry in enumerate(spec.gates.slices):
        where: tuple[str | int, ...] = ("gates", "slices", index)
        if entry.column not in features:
            yield (
                (*where, "column"),
                f"expected a feature column of the spec {features}, got {entry.column!r}",
            )
            continue
        column = spec.columns[entry.column]
        if entry.bins is not None and column.dtype not in NUMERIC_DTYPES:
            yield (
                (*where, "bins"),
                f"bins need a numeric column; {entry.column!r} is {column.dtype}",
            )
        if entry.segments is not None and entry.bins is None and column.values is not None:
            known = [str(value) for value in column.values]
            for position, segment in enumerate(entry.segments):
                if str(segment) not in known:
                    yield (
                        (*where, "segments", position),
                        f"expected one of the values of {entry.column!r} {known}, got {segment!r}",
                    )
