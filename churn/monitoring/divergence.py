"""How far a batch's distribution is from the reference's: PSI and Jensen-Shannon distance.

Both take counts per bucket (the reference's and the batch's, on the same buckets) and compare
proportions. For categories, :func:`with_unseen` appends the batch's unseen values as one more
bucket (reference 0) so that new values count as drift.

Nothing happens at import time.
"""

from __future__ import annotations

from typing import Final

import numpy as np

DEFAULT_FLOOR: Final = 1e-4
"""Proportions below this are raised to it before PSI takes their logarithm."""


def _proportions(
    reference: np.ndarray, current: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """Both sides as proportions on the same buckets; None when either has no rows.

    Raises:
        ValueError: The two have different numbers of buckets.
    """
    if np.shape(reference) != np.shape(current):
        raise ValueError(
            f"cannot compare {np.shape(reference)} reference buckets with "
            f"{np.shape(current)} current buckets"
        )
    r = np.asarray(reference, dtype=np.float64)
    c = np.asarray(current, dtype=np.float64)
    r_total, c_total = r.sum(), c.sum()
    return None if r_total <= 0 or c_total <= 0 else (r / r_total, c / c_total)


def psi(reference: np.ndarray, current: np.ndarray, *, floor: float = DEFAULT_FLOOR) -> float:
    """Population stability index ``sum((c - r) * ln(c / r))`` over bucket proportions.

    Each proportion is clipped below at ``floor`` (an empty bucket would be infinite).

    Returns:
        The PSI (0 for identical distributions); NaN when either side has no rows.

    Raises:
        ValueError: The two have different numbers of buckets.
    """
    both = _proportions(reference, current)
    if both is None:
        return float("nan")
    r, c = np.maximum(both[0], floor), np.maximum(both[1], floor)
    return float(np.sum((c - r) * np.log(c / r)))


def js_distance(reference: np.ndarray, current: np.ndarray) -> float:
    """Jensen-Shannon distance (base 2, in [0, 1]) of the two bucket distributions.

    Returns:
        The distance; NaN when either side has no rows.

    Raises:
        ValueError: The two have different numbers of buckets.
    """
    both = _proportions(reference, current)
    if both is None:
        return float("nan")
    r, c = both
    middle = (r + c) / 2
    divergence = (_relative_entropy(r, middle) + _relative_entropy(c, middle)) / 2
    return float(min(1.0, max(0.0, np.sqrt(max(divergence, 0.0)))))


def _relative_entropy(p: np.ndarray, q: np.ndarray) -> float:
    """Kullback-Leibler divergence in bits of ``p`` from ``q`` (``q`` > 0 wherever ``p`` > 0,
    as the mixture of ``p`` with another distribution is); 0 log 0 counts as 0."""
    present = p > 0
    return float(np.sum(p[present] * np.log2(p[present] / q[present])))


def with_unseen(
    reference: np.ndarray, current: np.ndarray, unseen: int
) -> tuple[np.ndarray, np.ndarray]:
    """Category counts with one more bucket for values never seen in training (reference 0)."""
    return (
        np.append(np.asarray(reference, dtype=np.int64), 0),
        np.append(np.asarray(current, dtype=np.int64), unseen),
    )
