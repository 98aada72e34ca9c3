"""The seeded, class-balanced row sample the plots and the report's reasons are drawn from
(no plotting library: ``churn run``'s own process computes the reasons)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from sklearn.model_selection import train_test_split


def stratified_sample(
    y: npt.NDArray[np.int64], limit: int, *, seed: int
) -> npt.NDArray[np.int64] | None:
    """Positions of a seeded sample of ``limit`` rows keeping the class balance (in the
    sampler's order); None when there are no more than ``limit`` rows (use them all)."""
    if len(y) <= limit:
        return None
    positions = np.arange(len(y))
    stratify = y if np.unique(y).size > 1 else None
    keep, _ = train_test_split(positions, train_size=limit, random_state=seed, stratify=stratify)
    return np.asarray(keep, dtype=np.int64)
