"""Helpers for the common expectations of a churn model, for use in any gate test.

* :func:`expect_invariance`: changing a column within given values moves P(churn) by at most
  a tolerance, for at most a share of rows (``gender`` must not matter);
* :func:`expect_direction`: P(churn) does not fall (or rise) when a column moves in a declared
  direction (a longer contract must not raise the risk);
* :func:`slice_metrics`: a metric per segment of a column (each level, or each bin of a
  numeric column) with a seeded bootstrap interval, held to bounds; segments with fewer than
  ``min_rows`` rows are reported, not gated;
* :func:`slice_change`: the same, versus the champion on the same rows: a segment fails when
  the champion's value lies beyond the candidate's own interval, even if the global metric rose;
* :func:`selection_rate_ratio`: the share of each group the model flags, and the ratio of the
  lowest to the highest (the four-fifths rule), reported or held to a minimum.

Each failure is an :class:`ExpectationFailed` (an ``AssertionError``, so pytest reports a failed
expectation, not an error) whose message names the column, the segment, the value found and
the bound. The slice helpers record every segment with :func:`~churn.gates.subjects.record_evidence`
for ``run.json`` and the report.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypedDict, Unpack

import numpy as np
import numpy.typing as npt
import pandas as pd

from churn.gates.bootstrap import Estimate, estimate, point
from churn.gates.subjects import GateModel, LabelledRows, SliceEvidence, record_evidence
from churn.spec.base import LOWER_IS_BETTER

__all__ = [
    "DirectionFailed",
    "ExpectationFailed",
    "Finding",
    "InvarianceFailed",
    "SelectionRateFailed",
    "SliceFailed",
    "SliceOptions",
    "expect_direction",
    "expect_invariance",
    "selection_rate_ratio",
    "slice_change",
    "slice_metrics",
]


class SliceOptions(TypedDict, total=False):
    """How the slice helpers cut and resample (each key optional; defaults in brackets)."""

    bins: Sequence[float] | None
    """Bin edges of a numeric column; segments are the bins ``(a, b]`` [levels, not bins]."""
    segments: Sequence[object] | None
    """Only these levels or bins (compared as text) [every one present]."""
    min_rows: int
    """Smaller segments are recorded but not held to any bound [30]."""
    confidence: float
    """Coverage of the percentile bootstrap interval [0.95]."""
    resamples: int
    """Bootstrap resamples of each segment [500]."""
    seed: int
    """Each segment's resamples are drawn by ``numpy.random.default_rng(seed)`` [0]."""


SLICE_DEFAULTS = SliceOptions(
    bins=None, segments=None, min_rows=30, confidence=0.95, resamples=500, seed=0
)


Rows = LabelledRows | pd.DataFrame
"""Rows to probe: a fixture's :class:`LabelledRows` or a frame of the spec's feature columns."""
SELECTION_RATE = "selection_rate"
"""The metric name slice evidence uses for the share of a group the model flags."""
NONE_SEGMENT = "<none>"
"""The segment of rows whose value is missing (or outside every bin)."""


@dataclass(frozen=True)
class Finding:
    """One broken expectation: where (column, segment), what was found and what was allowed."""

    column: str
    segment: str
    found: str
    bound: str

    def __str__(self) -> str:
        return f"{self.column} = {self.segment}: {self.found}; bound {self.bound}"


class ExpectationFailed(AssertionError):
    """An expectation about the model does not hold; the message lists every finding."""

    def __init__(self, what: str, findings: Sequence[Finding]) -> None:
        self.findings = list(findings)
        lines = "\n".join(f"  {finding}" for finding in self.findings)
        super().__init__(f"{what}:\n{lines}")


class InvarianceFailed(ExpectationFailed):
    """P(churn) moved when only a column that must not matter changed."""


class DirectionFailed(ExpectationFailed):
    """P(churn) moved against the declared direction of a column."""


class SliceFailed(ExpectationFailed):
    """A segment's metric is out of its bounds or regressed versus the champion."""


class SelectionRateFailed(ExpectationFailed):
    """The lowest group's selection rate is below ``min_ratio`` times the highest group's."""


# --------------------------------------------------------------------------- behaviour


def expect_invariance(
    model: GateModel,
    rows: Rows,
    column: str,
    values: Sequence[object] | None = None,
    *,
    tolerance: float = 0.01,
    max_share: float = 0.0,
) -> float:
    """Set ``column`` to each of ``values`` on every row: P(churn) may move by more than
    ``tolerance`` on at most ``max_share`` of the rows. Returns the largest move.

    ``values`` defaults to the levels present in ``rows``. A column the rows do not hold
    (a dropped one) is added with each value in turn, so a model that does not read it passes.
    """
    frame = _frame(rows)
    levels = list(values) if values is not None else _levels(frame, column)
    if len(levels) < 2:
        raise ValueError(f"invariance of {column!r} needs at least two values, got {levels}")
    proba = _probabilities(model, frame, column, levels)
    top, bottom = proba.argmax(axis=0), proba.argmin(axis=0)
    moves = proba.max(axis=0) - proba.min(axis=0)
    share = float(np.mean(moves > tolerance))
    if share > max_share:
        worst = int(moves.argmax())
        raise InvarianceFailed(
            f"P(churn) depends on {column}",
            [
                Finding(
                    column,
                    f"{levels[bottom[worst]]!r} -> {levels[top[worst]]!r}",
                    f"{share:.1%} of {len(moves):,} rows move by more than {tolerance:g} "
                    f"(largest move {moves[worst]:.4f}, row {frame.index[worst]!r})",
                    f"at most {max_share:.1%} of rows move by more than {tolerance:g}",
                )
            ],
        )
    return float(moves.max())


def expect_direction(
    model: GateModel,
    rows: Rows,
    column: str,
    *,
    risk: Literal["increasing", "decreasing"],
    values: Sequence[object] | None = None,
    shift: float | None = None,
    tolerance: float = 0.0,
    max_share: float = 0.0,
) -> float:
    """P(churn) must not fall (``risk="increasing"``) or rise (``"decreasing"``) as ``column``
    moves through the ordered ``values`` (every row set to each in turn) or by ``+shift`` (a
    numeric column, from each row's own value). A row breaks it when the move goes the wrong
    way by more than ``tolerance``; at most ``max_share`` of the rows may. Returns the largest
    share of rows that broke it, over the steps.
    """
    if (values is None) == (shift is None):
        raise ValueError("give either values (ordered levels) or shift (a numeric step)")
    frame = _frame(rows)
    if values is not None:
        levels = list(values)
        if len(levels) < 2:
            raise ValueError(f"direction of {column!r} needs at least two values, got {levels}")
        proba = _probabilities(model, frame, column, levels)
        labels = [repr(level) for level in levels]
    else:
        assert shift is not None
        shifted = frame.assign(**{column: frame[column] + shift})
        proba = model.probability(pd.concat([frame, shifted], ignore_index=True)).reshape(2, -1)
        labels = ["its value", f"its value + {shift:g}"]
    sign = 1.0 if risk == "increasing" else -1.0
    findings: list[Finding] = []
    worst_share = 0.0
    for step, (before, after) in enumerate(itertools.pairwise(proba)):
        against = sign * (before - after)
        share = float(np.mean(against > tolerance))
        worst_share = max(worst_share, share)
        if share > max_share:
            verb = "fell" if risk == "increasing" else "rose"
            findings.append(
                Finding(
                    column,
                    f"{labels[step]} -> {labels[step + 1]}",
                    f"P(churn) {verb} by more than {tolerance:g} on {share:.1%} of "
                    f"{len(against):,} rows (largest {against.max():.4f})",
                    f"risk {risk}: at most {max_share:.1%} of rows against it",
                )
            )
    if findings:
        raise DirectionFailed(f"P(churn) is not {risk} in {column}", findings)
    return worst_share


# --------------------------------------------------------------------------- slices


def slice_metrics(
    model: GateModel,
    rows: LabelledRows,
    column: str,
    metric: str,
    *,
    lower: float | None = None,
    upper: float | None = None,
    champion: GateModel | None = None,
    max_regression: float | None = None,
    **options: Unpack[SliceOptions],
) -> list[SliceEvidence]:
    """``metric`` on each segment of ``column`` with its bootstrap interval; every segment is
    recorded. Segments with at least ``min_rows`` rows must lie in ``[lower, upper]`` and, when
    ``champion`` and ``max_regression`` are given, the champion's value on the same rows may lie
    beyond the candidate's interval (on the worse side) by at most ``max_regression``.

    ``options`` (:class:`SliceOptions`) choose the segments and the bootstrap. Raises
    :class:`SliceFailed` listing every failing segment.
    """
    chosen = _with_defaults(options)
    frame = rows.X
    labels = np.asarray(rows.y)
    proba = model.probability(frame)
    champion_proba = (
        champion.probability(frame) if champion is not None and max_regression is not None else None
    )
    evidence: list[SliceEvidence] = []
    findings: list[Finding] = []
    for segment, positions in _segments(frame[column], chosen["bins"], chosen["segments"]):
        measured = _estimate(metric, labels[positions], proba[positions], model.threshold, chosen)
        rival = None
        if champion is not None and champion_proba is not None:
            rival = point(metric, labels[positions], champion_proba[positions], champion.threshold)
        gated = len(positions) >= chosen["min_rows"]
        broken = (
            _out_of_bounds(metric, measured, lower, upper, rival, max_regression) if gated else []
        )
        bound = _bound_text(metric, lower, upper, rival, max_regression)
        evidence.append(
            SliceEvidence(
                column=column,
                segment=segment,
                metric=metric,
                rows=len(positions),
                value=measured.value,
                low=measured.low,
                high=measured.high,
                bound=bound,
                champion=rival,
                passed=(not broken) if gated and bound is not None else None,
            )
        )
        findings.extend(
            Finding(
                column,
                repr(segment),
                f"{metric} {_value_text(measured)} on {len(positions):,} rows ({reason})",
                bound or "",
            )
            for reason in broken
        )
    record_evidence(*evidence)
    if findings:
        raise SliceFailed(f"{metric} per segment of {column}", findings)
    return evidence


def slice_change(
    model: GateModel,
    champion: GateModel | None,
    rows: LabelledRows,
    column: str,
    metric: str,
    *,
    max_regression: float = 0.0,
    **options: Unpack[SliceOptions],
) -> list[SliceEvidence]:
    """:func:`slice_metrics` versus the champion only: no segment may regress beyond its own
    interval by more than ``max_regression``. Without a champion the segments are reported."""
    return slice_metrics(
        model, rows, column, metric, champion=champion, max_regression=max_regression, **options
    )


def selection_rate_ratio(
    model: GateModel,
    rows: Rows,
    column: str,
    *,
    min_ratio: float | None = 0.8,
    **options: Unpack[SliceOptions],
) -> float | None:
    """The share of each group the model flags (with its interval) and the ratio of the lowest
    to the highest among groups of at least ``min_rows`` rows; None with fewer than two such
    groups. With ``min_ratio`` (0.8: the four-fifths rule) a lower ratio raises
    :class:`SelectionRateFailed`; with None the rates are only recorded."""
    chosen = _with_defaults(options)
    frame = _frame(rows)
    flagged = model.decide(frame).astype(np.float64)
    measured = [
        (
            segment,
            len(positions),
            _estimate(SELECTION_RATE, flagged[positions], flagged[positions], 0.5, chosen),
        )
        for segment, positions in _segments(frame[column], chosen["bins"], chosen["segments"])
    ]
    rates = {
        segment: found.value
        for segment, size, found in measured
        if size >= chosen["min_rows"] and found.value is not None
    }
    top = max(rates, key=lambda segment: rates[segment]) if rates else None
    ceiling = rates[top] if top is not None else None
    bound = (
        f">= {min_ratio:g} x {ceiling:.3f} (rate of {top!r})"
        if min_ratio is not None and ceiling is not None
        else None
    )
    record_evidence(
        *(
            SliceEvidence(
                column=column,
                segment=segment,
                metric=SELECTION_RATE,
                rows=size,
                value=found.value,
                low=found.low,
                high=found.high,
                bound=bound if segment in rates else None,
                passed=_rate_passes(rates.get(segment), ceiling, min_ratio),
            )
            for segment, size, found in measured
        )
    )
    if len(rates) < 2 or ceiling is None:
        return None
    bottom = min(rates, key=lambda segment: rates[segment])
    ratio = rates[bottom] / ceiling if ceiling > 0 else 1.0
    if min_ratio is not None and ratio < min_ratio:
        raise SelectionRateFailed(
            f"selection rate ratio of {column} below {min_ratio:g}",
            [
                Finding(
                    column,
                    repr(bottom),
                    f"selection rate {rates[bottom]:.3f}, ratio {ratio:.3f} to {top!r}",
                    bound or "",
                )
            ],
        )
    return ratio


# --------------------------------------------------------------------------- plumbing


def _with_defaults(options: SliceOptions) -> SliceOptions:
    return SliceOptions(**{**SLICE_DEFAULTS, **options})


def _estimate(
    metric: str, y: npt.ArrayLike, proba: npt.ArrayLike, threshold: float, chosen: SliceOptions
) -> Estimate:
    return estimate(
        metric,
        y,
        proba,
        threshold,
        resamples=chosen["resamples"],
        confidence=chosen["confidence"],
        seed=chosen["seed"],
    )


def _frame(rows: Rows) -> pd.DataFrame:
    return rows.X if isinstance(rows, LabelledRows) else rows


def _levels(frame: pd.DataFrame, column: str) -> list[object]:
    if column not in frame:
        raise ValueError(f"{column!r} is not a column of the rows: give its values")
    series = frame[column]
    if isinstance(series.dtype, pd.CategoricalDtype):
        present = set(series.dropna())
        return [level for level in series.cat.categories if level in present]
    return sorted(series.dropna().unique().tolist())


def _with_value(frame: pd.DataFrame, column: str, value: object) -> pd.DataFrame:
    """``frame`` with every row's ``column`` set to ``value`` (its dtype kept)."""
    changed = frame.copy()
    dtype = frame[column].dtype if column in frame else None
    if isinstance(dtype, pd.CategoricalDtype):
        if value not in dtype.categories:
            raise ValueError(f"{value!r} is not a level of {column!r}: {list(dtype.categories)}")
        changed[column] = pd.Categorical([value] * len(frame), dtype=dtype)
    else:
        changed[column] = pd.Series([value] * len(frame), index=frame.index)
    return changed


def _probabilities(
    model: GateModel, frame: pd.DataFrame, column: str, values: Sequence[object]
) -> npt.NDArray[np.float64]:
    """P(churn) of every row with ``column`` set to each value: one row of the result each."""
    stacked = pd.concat([_with_value(frame, column, value) for value in values], ignore_index=True)
    return model.probability(stacked).reshape(len(values), len(frame))


def _segments(
    values: pd.Series, bins: Sequence[float] | None, only: Sequence[object] | None
) -> list[tuple[str, npt.NDArray[np.int64]]]:
    """(segment label, row positions) for each level or bin, in the column's order."""
    if bins is not None:
        binned = pd.cut(values, bins=list(bins))
        order = [f"({edge.left:g}, {edge.right:g}]" for edge in binned.cat.categories]
        order.append(NONE_SEGMENT)
        codes = np.asarray(order)[binned.cat.codes.to_numpy()]  # code -1 (no bin): the last
    else:
        order = [str(level) for level in _levels(values.to_frame(), str(values.name))]
        order.append(NONE_SEGMENT)
        codes = values.astype(str).where(values.notna(), NONE_SEGMENT).to_numpy()
    wanted = None if only is None else {str(segment) for segment in only}
    found: list[tuple[str, npt.NDArray[np.int64]]] = []
    for segment in order:
        positions = np.flatnonzero(codes == segment)
        if (positions.size and wanted is None) or (wanted is not None and segment in wanted):
            found.append((segment, positions))
    named = {segment for segment, _ in found}
    absent = [str(segment) for segment in only or () if str(segment) not in named]
    return found + [(segment, np.empty(0, dtype=np.int64)) for segment in absent]


def _out_of_bounds(
    metric: str,
    measured: Estimate,
    lower: float | None,
    upper: float | None,
    champion: float | None,
    max_regression: float | None,
) -> list[str]:
    """Why a gated segment fails: each broken bound in words (empty when it passes)."""
    value = measured.value
    if value is None:
        return ["undefined on these rows"] if lower is not None or upper is not None else []
    reasons = []
    if lower is not None and value < lower:
        reasons.append(f"below {lower:g}")
    if upper is not None and value > upper:
        reasons.append(f"above {upper:g}")
    if champion is not None and max_regression is not None:
        if metric in LOWER_IS_BETTER:
            edge = measured.low if measured.low is not None else value
            if champion < edge - max_regression:
                reasons.append(
                    f"regressed: champion {champion:.4f} < {edge:.4f} - {max_regression:g}"
                )
        else:
            edge = measured.high if measured.high is not None else value
            if champion > edge + max_regression:
                reasons.append(
                    f"regressed: champion {champion:.4f} > {edge:.4f} + {max_regression:g}"
                )
    return reasons


def _bound_text(
    metric: str,
    lower: float | None,
    upper: float | None,
    champion: float | None,
    max_regression: float | None,
) -> str | None:
    """The bounds a segment is held to, in words (None: only reported)."""
    parts = []
    if lower is not None:
        parts.append(f">= {lower:g}")
    if upper is not None:
        parts.append(f"<= {upper:g}")
    if champion is not None and max_regression is not None:
        side = "low" if metric in LOWER_IS_BETTER else "high"
        sign = "-" if metric in LOWER_IS_BETTER else "+"
        relation = ">=" if metric in LOWER_IS_BETTER else "<="
        parts.append(
            f"champion {champion:.4f} {relation} interval {side} {sign} {max_regression:g}"
        )
    return "; ".join(parts) or None


def _value_text(measured: Estimate) -> str:
    if measured.value is None:
        return "undefined"
    if measured.low is None or measured.high is None:
        return f"{measured.value:.4f}"
    return f"{measured.value:.4f} [{measured.low:.4f}, {measured.high:.4f}]"


def _rate_passes(rate: float | None, ceiling: float | None, min_ratio: float | None) -> bool | None:
    if rate is None or ceiling is None or min_ratio is None:
        return None
    return rate >= min_ratio * ceiling
