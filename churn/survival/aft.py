"""Accelerated failure time curves: ``ln T = m(x) + sigma Z`` with XGBoost's three laws of Z."""

from __future__ import annotations

import numpy as np
from scipy.special import expit, ndtr

MEDIAN_Z: dict[str, float] = {
    "normal": 0.0,
    "logistic": 0.0,
    "extreme": float(np.log(np.log(2.0))),
}
"""The median of Z per law: F(z) = 1/2 (extreme: F(z) = 1 - exp(-e^z))."""


def aft_cdf(z: np.ndarray, distribution: str) -> np.ndarray:
    """F(z), the law of Z as XGBoost's ``survival:aft`` defines it."""
    if distribution == "normal":
        return np.asarray(ndtr(z))
    if distribution == "logistic":
        return np.asarray(expit(z))
    if distribution == "extreme":
        with np.errstate(over="ignore"):
            cdf: np.ndarray = -np.expm1(-np.exp(z))
        return cdf
    raise ValueError(
        f"aft_loss_distribution: expected normal, logistic or extreme, got {distribution!r}"
    )


def aft_survival(
    margin: np.ndarray, scale: float, distribution: str, times: np.ndarray
) -> np.ndarray:
    """``S(t | x) = 1 - F((ln t - m) / sigma)``, shape (rows, len(times)); 1 at t <= 0."""
    times = np.asarray(times, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (np.log(times)[None, :] - np.asarray(margin, dtype=float)[:, None]) / scale
    survival: np.ndarray = np.where(times[None, :] > 0, 1.0 - aft_cdf(z, distribution), 1.0)
    return survival


def aft_median(margin: np.ndarray, scale: float, distribution: str) -> np.ndarray:
    """``exp(m + sigma z_1/2)``, the time where the curve crosses one half."""
    median: np.ndarray = np.exp(np.asarray(margin, dtype=float) + scale * MEDIAN_Z[distribution])
    return median
