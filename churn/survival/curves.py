"""Survival curves as arrays: the Breslow baseline, Cox-form and step-function curves.

numpy only, so the pandas-free serving path and the estimators compute the same numbers.
A Cox-form model is a risk score ``r`` (the log partial hazard) and a baseline cumulative
hazard ``H0``, a right-continuous step function on ``grid``: ``S(t | x) = exp(-H0(t) e^r)``.
"""

from __future__ import annotations

import numpy as np

LOG_LN2 = float(np.log(np.log(2.0)))
"""log(ln 2): S(t) <= 1/2 exactly when log H(t) >= log(ln 2)."""


def breslow_baseline(
    risk: np.ndarray, event: np.ndarray, time: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Breslow's cumulative baseline hazard for the risk scores ``risk`` (log partial hazards).

    Returns the sorted unique times (censored ones included, where the hazard does not rise)
    and ``H0`` at each. Risks are shifted by their maximum before exponentiating, so large
    margins do not overflow.
    """
    risk = np.asarray(risk, dtype=float)
    order = np.argsort(time, kind="mergesort")
    sorted_time = np.asarray(time, dtype=float)[order]
    shift = float(risk.max()) if risk.size else 0.0
    weight = np.exp(risk[order] - shift)
    grid, first = np.unique(sorted_time, return_index=True)
    at_risk = np.cumsum(weight[::-1])[::-1][first]
    events = np.add.reduceat(np.asarray(event, dtype=float)[order], first)
    cumulative_hazard = np.cumsum(events / at_risk) * np.exp(-shift)
    return grid, cumulative_hazard


def step_values(
    grid: np.ndarray, values: np.ndarray, times: np.ndarray, before: float
) -> np.ndarray:
    """A right-continuous step function (``values[..., j]`` from ``grid[j]``) at ``times``.

    ``values`` is 1-d or (rows, len(grid)); ``before`` is the value left of ``grid[0]``.
    """
    index = np.searchsorted(grid, np.asarray(times, dtype=float), side="right") - 1
    taken = np.take(values, np.clip(index, 0, None), axis=-1)
    return np.where(index >= 0, taken, before)


def cox_survival(
    risk: np.ndarray, grid: np.ndarray, cumulative_hazard: np.ndarray, times: np.ndarray
) -> np.ndarray:
    """``S(t | x) = exp(-H0(t) e^r)``, shape (rows, len(times)); 1 before the first time."""
    hazard = step_values(grid, cumulative_hazard, times, before=0.0)
    with np.errstate(divide="ignore", over="ignore"):
        log_hazard = np.log(hazard)[None, :] + np.asarray(risk, dtype=float)[:, None]
        survival: np.ndarray = np.exp(-np.exp(log_hazard))
    return survival


def cox_median(risk: np.ndarray, grid: np.ndarray, cumulative_hazard: np.ndarray) -> np.ndarray:
    """The first grid time where ``S(t | x) <= 1/2``; ``inf`` when it stays above within grid."""
    with np.errstate(divide="ignore"):
        log_hazard = np.log(cumulative_hazard)
    index = np.searchsorted(log_hazard, LOG_LN2 - np.asarray(risk, dtype=float), side="left")
    padded = np.append(np.asarray(grid, dtype=float), np.inf)
    median: np.ndarray = padded[index]
    return median


def step_median(grid: np.ndarray, survival: np.ndarray) -> np.ndarray:
    """Per row of ``survival`` (on ``grid``), the first time where it is at most 1/2, or ``inf``."""
    below = survival <= 0.5
    first = below.argmax(axis=1)
    median: np.ndarray = np.where(below.any(axis=1), np.asarray(grid, dtype=float)[first], np.inf)
    return median
