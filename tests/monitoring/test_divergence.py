"""PSI and Jensen-Shannon distance against a direct numpy computation on the same counts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from churn.monitoring.divergence import js_distance, psi, with_unseen


def direct_psi(reference: np.ndarray, current: np.ndarray, floor: float) -> float:
    r = np.clip(reference / reference.sum(), floor, None)
    c = np.clip(current / current.sum(), floor, None)
    return float(((c - r) * np.log(c / r)).sum())


def direct_js(reference: np.ndarray, current: np.ndarray) -> float:
    p, q = reference / reference.sum(), current / current.sum()
    m = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        nonzero = a > 0
        return float((a[nonzero] * np.log2(a[nonzero] / m[nonzero])).sum())

    return math.sqrt((kl(p) + kl(q)) / 2)


@pytest.mark.parametrize("seed", range(5))
def test_psi_and_js_equal_a_direct_computation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    reference = rng.integers(0, 500, size=10)
    current = rng.integers(0, 500, size=10)
    current[seed % 10] = 0  # an empty bucket meets the floor

    assert psi(reference, current) == pytest.approx(direct_psi(reference, current, 1e-4))
    assert psi(reference, current, floor=0.01) == pytest.approx(
        direct_psi(reference, current, 0.01)
    )
    assert js_distance(reference, current) == pytest.approx(direct_js(reference, current))


@pytest.mark.parametrize("seed", range(20))
def test_js_equals_scipys_on_sparse_and_lopsided_counts(seed: int) -> None:
    """churn computes JS in numpy (no scipy import in ``churn drift``); scipy is the reference."""
    from scipy.spatial.distance import jensenshannon

    rng = np.random.default_rng(seed)
    size = int(rng.integers(2, 40))
    reference = rng.integers(0, 10 ** int(rng.integers(1, 7)), size=size)
    current = rng.integers(0, 10 ** int(rng.integers(1, 7)), size=size)
    reference[rng.random(size) < 0.3] = 0
    current[rng.random(size) < 0.3] = 0
    reference[0], current[-1] = max(reference[0], 1), max(current[-1], 1)

    expected = min(1.0, float(jensenshannon(reference, current, base=2)))
    assert js_distance(reference, current) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_identical_distributions_are_zero_apart() -> None:
    counts = np.array([5, 10, 85])

    assert psi(counts, counts * 3) == pytest.approx(0)
    assert js_distance(counts, counts * 3) == pytest.approx(0)


def test_disjoint_distributions_are_one_apart_in_js() -> None:
    assert js_distance(np.array([10, 0]), np.array([0, 10])) == pytest.approx(1)


def test_an_empty_side_gives_nan_and_mismatched_buckets_are_refused() -> None:
    assert math.isnan(psi(np.array([1, 2]), np.array([0, 0])))
    assert math.isnan(js_distance(np.array([0, 0]), np.array([1, 2])))
    with pytest.raises(ValueError, match="cannot compare"):
        psi(np.array([1, 2]), np.array([1, 2, 3]))


def test_unseen_values_become_one_more_bucket() -> None:
    reference, current = with_unseen(np.array([50, 50]), np.array([40, 40]), 20)

    assert reference.tolist() == [50, 50, 0]
    assert current.tolist() == [40, 40, 20]
    assert psi(reference, current) > 0.25
