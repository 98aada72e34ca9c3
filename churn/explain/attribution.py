"""Additive attributions of one model's output and the change of scale between outputs.

An :class:`Attribution` holds, per row, one contribution per encoded feature and a base value
whose sum is the model's own additive output: its log-odds (``"log_odds"``: XGBoost, logistic
regression, histogram gradient boosting, stacking) or its probability (``"probability"``:
forests, soft voting, calibrated models, whose output is a mean of probabilities).

:func:`to_probability` moves a log-odds attribution to the probability scale so that members
of an ensemble can be combined: each row's contributions are multiplied by one factor,
``(sigmoid(margin) - sigmoid(base)) / (margin - base)`` (the slope of the sigmoid between the
base and the row's margin; the derivative at the base when they are equal). The contributions
then sum exactly to ``probability - sigmoid(base)``, and their order and signs within the row
are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

Scale = Literal["log_odds", "probability", "log_hazard", "minus_log_time", "standardised_risk"]
"""``log_hazard``, ``minus_log_time``, ``standardised_risk`` (a ``survival_average``): a survival
model's risk (:mod:`churn.explain.survival`)."""
Matrix = npt.NDArray[np.float64]
Vector = npt.NDArray[np.float64]


class Unexplainable(ValueError):
    """The model has no exact additive explanation here; the message says which part."""


@dataclass(frozen=True)
class Attribution:
    """``values`` (rows x encoded features) plus ``base`` (per row) equals the output."""

    values: Matrix
    base: Vector
    scale: Scale
    rounding: float = 0.0
    """The largest float32 rounding difference moved into ``base`` (see :func:`settle`)."""

    @property
    def output(self) -> Vector:
        """The explained output of each row: contributions plus base."""
        return np.asarray(self.values.sum(axis=1) + self.base, dtype=np.float64)


def settle(attribution: Attribution, output: Vector) -> Attribution:
    """The attribution with its base moved so that it sums to the model's own ``output``.

    XGBoost computes contributions in float32; their sum differs from the model's own output
    (float64 for scikit-learn models) by rounding only, a few 1e-7. That difference goes into
    the base; its size stays visible in ``rounding``.
    """
    residual = np.asarray(output, dtype=np.float64) - attribution.output
    rounding = float(np.abs(residual).max()) if len(residual) else 0.0
    return Attribution(attribution.values, attribution.base + residual, attribution.scale, rounding)


def sigmoid(x: Vector) -> Vector:
    """The logistic function, without overflow warnings."""
    with np.errstate(over="ignore"):
        return np.asarray(1.0 / (1.0 + np.exp(-x)), dtype=np.float64)


def rescale(attribution: Attribution, base: Vector, output: Vector, scale: Scale) -> Attribution:
    """The attribution mapped by a monotone function given at the base and the output.

    Args:
        attribution: Contributions on their own scale.
        base: The function's value at each row's base.
        output: The function's value at each row's output.
        scale: The scale of the mapped values.
    """
    delta = attribution.output - attribution.base
    target = output - base
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(delta != 0.0, target / delta, 0.0)
    return Attribution(attribution.values * factor[:, None], base, scale, attribution.rounding)


def to_probability(attribution: Attribution) -> Attribution:
    """The attribution on the probability scale (unchanged when it is already there)."""
    if attribution.scale == "probability":
        return attribution
    base, margin = attribution.base, attribution.output
    delta = margin - base
    slope = sigmoid(base) * (1.0 - sigmoid(base))
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(delta != 0.0, (sigmoid(margin) - sigmoid(base)) / delta, slope)
    scaled = attribution.values * factor[:, None]
    return Attribution(scaled, sigmoid(base), "probability", attribution.rounding)


def weighted_sum(
    parts: list[Attribution], weights: Vector, offset: float, scale: Scale
) -> Attribution:
    """``offset + sum(w * part)``: a linear combination of attributions on one scale."""
    values = sum((w * part.values for w, part in zip(weights, parts, strict=True)), start=0.0)
    base = sum((w * part.base for w, part in zip(weights, parts, strict=True)), start=0.0)
    rounding = max((part.rounding for part in parts), default=0.0)
    values_ = np.asarray(values, np.float64)
    return Attribution(values_, np.asarray(base + offset, np.float64), scale, rounding)
