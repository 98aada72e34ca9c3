"""Harrell's and Uno's concordance in O(n log n): scikit-survival's numbers without its pair loop.

``sksurv.metrics.concordance_index_censored`` / ``concordance_index_ipcw`` visit every event
and compare it with every later row, O(events x rows): 0.2 s on 20,000 hold-out rows, hours on
200,000. Here the rows are ordered by time (events before censored rows at a tied time), so
the rows an event is compared with (a longer time, or censored at its time) are a suffix of
that order; each event's count of lower and tied risks in its suffix comes from one wavelet
matrix over the risks' ranks, built and queried level by level with numpy (log2 n levels of
O(n) array operations). The index is scikit-survival's: an event's concordant pairs count 1,
risks within ``tied_tol`` count 1/2, each weighted by the event's weight (1 for Harrell's,
the squared inverse probability of censoring for Uno's); ``tests/survival/
test_survival_concordance.py`` compares both with scikit-survival's functions.
"""

from __future__ import annotations

import numpy as np
from sksurv.exceptions import NoComparablePairException
from sksurv.nonparametric import CensoringDistributionEstimator

from churn.survival.censoring import TIED_TOL


def harrell_c(event: np.ndarray, time: np.ndarray, risk: np.ndarray) -> float:
    """Harrell's concordance index, ``concordance_index_censored(event, time, risk)[0]``."""
    return weighted_concordance(event, time, risk, np.ones(len(time)))


def uno_c(
    censoring: CensoringDistributionEstimator,
    y_test: np.ndarray,
    risk: np.ndarray,
    tau: float | None,
) -> float:
    """Uno's concordance index, ``concordance_index_ipcw(y_train, y_test, risk, tau)[0]``.

    Each event before ``tau`` is weighted by ``1 / G(t)^2``, G the Kaplan-Meier curve of the
    training part's censoring (``censoring``: :func:`~churn.survival.censoring.
    censoring_estimator` of ``y_train``); events at or after ``tau`` weigh 0.
    """
    event, time = np.asarray(y_test["event"], dtype=bool), np.asarray(y_test["time"], float)
    kept = np.ones(len(time), dtype=bool) if tau is None else time < tau
    ipcw = np.zeros(len(time))
    ipcw[kept] = censoring.predict_ipcw(y_test[kept])
    return weighted_concordance(event, time, risk, np.square(ipcw))


def weighted_concordance(
    event: np.ndarray,
    time: np.ndarray,
    risk: np.ndarray,
    weight: np.ndarray,
    tied_tol: float = TIED_TOL,
) -> float:
    """Sum over events i of ``w_i`` x (lower risks + half the tied ones) among the rows i is
    comparable with, over the sum of ``w_i`` x their number; NaN when that is 0.

    Raises:
        NoComparablePairException: No event has a row to compare with (scikit-survival's).
        ValueError: Fewer than two rows, or event flags that are not booleans.
    """
    event = np.asarray(event)
    if event.dtype != np.bool_:
        raise ValueError(f"only boolean event flags are supported, got {event.dtype}")
    time, risk = np.asarray(time, dtype=float), np.asarray(risk, dtype=float)
    if not len(time) == len(risk) == len(event) == len(weight):
        raise ValueError("event, time, risk and weight must have the same length")
    if len(time) < 2:
        raise ValueError("Need a minimum of two samples")
    if not event.any():
        raise NoComparablePairException("All samples are censored")
    if not _has_comparable_event(event, time):
        raise NoComparablePairException(
            "Data has no comparable pairs, cannot estimate concordance index."
        )
    order = np.lexsort((~event, time))  # by time; at a tied time, events first
    sorted_time, sorted_event = time[order], event[order]
    # An event is compared with the rows after its time's events: its suffix starts there.
    group_end = np.searchsorted(sorted_time, sorted_time, side="right")
    censored_in_group = _censored_at_time(sorted_time, sorted_event)
    start = (group_end - censored_in_group)[sorted_event]
    by_risk = np.argsort(risk, kind="stable")
    ranks = np.empty(len(risk), dtype=np.int64)
    ranks[by_risk] = np.arange(len(risk))
    sorted_risk = risk[by_risk]
    event_risk = risk[order][sorted_event]
    lower = np.searchsorted(sorted_risk, event_risk - tied_tol, side="left")
    upper = np.searchsorted(sorted_risk, event_risk + tied_tol, side="right")
    below = _suffix_counts_below(ranks[order], np.concatenate([start, start]),
                                 np.concatenate([lower, upper]))  # fmt: skip
    concordant, up_to_tied = below[: len(start)], below[len(start) :]
    event_weight = np.asarray(weight, dtype=float)[order][sorted_event]
    numerator = float(np.sum(event_weight * (concordant + 0.5 * (up_to_tied - concordant))))
    denominator = float(np.sum(event_weight * (len(time) - start)))
    return numerator / denominator if denominator > 0 else float("nan")


def _has_comparable_event(event: np.ndarray, time: np.ndarray) -> bool:
    """scikit-survival's rule: an event outside a last time that only one row has."""
    last = time == time.max()
    return bool(event[~last].any() or (last.sum() > 1 and event[last].any()))


def _censored_at_time(sorted_time: np.ndarray, sorted_event: np.ndarray) -> np.ndarray:
    """Per row (ordered by time), how many censored rows share its time."""
    _, inverse, _ = np.unique(sorted_time, return_inverse=True, return_counts=True)
    censored = np.bincount(inverse, weights=~sorted_event).astype(np.int64)
    counts: np.ndarray = censored[inverse]
    return counts


def _suffix_counts_below(values: np.ndarray, starts: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """For each query k, ``#{j >= starts[k] : values[j] < bounds[k]}``.

    ``values`` is a permutation of ``0..n-1`` and ``bounds`` lie in ``[0, n]``. A wavelet
    matrix: at each bit, from the highest, the values are stably split into those with a 0
    bit and those with a 1; a query whose bound has a 1 bit there counts its range's 0s (all
    lower) and follows the 1s, otherwise it follows the 0s.
    """
    n = len(values)
    low = np.asarray(starts, dtype=np.int64).copy()
    high = np.full(len(low), n, dtype=np.int64)
    bounds = np.asarray(bounds, dtype=np.int64)
    count = np.zeros(len(low), dtype=np.int64)
    current = np.asarray(values, dtype=np.int64)
    for level in reversed(range(max(n.bit_length(), 1))):
        is_zero = ((current >> level) & 1) == 0
        zeros_before = np.concatenate(([0], np.cumsum(is_zero)))
        zeros = zeros_before[-1]
        low_zeros, high_zeros = zeros_before[low], zeros_before[high]
        one = ((bounds >> level) & 1) == 1
        count += np.where(one, high_zeros - low_zeros, 0)
        low = np.where(one, zeros + low - low_zeros, low_zeros)
        high = np.where(one, zeros + high - high_zeros, high_zeros)
        current = np.concatenate((current[is_zero], current[~is_zero]))
    return count
