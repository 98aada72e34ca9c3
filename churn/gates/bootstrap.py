"""A metric and its seeded bootstrap interval, for many resamples at once.

A bootstrap resample draws ``n`` rows with replacement; drawing row ``i`` ``k`` times is the
same as weighing it by ``k``. So every resample is one row of a weight matrix and each metric
is computed for all resamples together from weighted counts (matrix products and cumulative
sums) instead of one scikit-learn call per resample. The draws are
``numpy.random.default_rng(seed).integers(0, n, size=(resamples, n))``: a direct loop over
those index rows with scikit-learn's metrics gives the same values (the tests check it).

A resample on which a metric is undefined (no positives for recall, one class for ROC AUC)
is left out of the interval; a value that is undefined on all rows is ``None``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Weighted = Callable[[Floats, Floats, Floats, Floats], Floats]
"""(weights (resamples x rows), labels, probabilities, decisions) -> one value per resample."""


@dataclass(frozen=True)
class Estimate:
    """A metric on all rows and the bounds of its bootstrap interval (None when undefined)."""

    value: float | None
    low: float | None
    high: float | None


def resample_weights(rows: int, resamples: int, seed: int) -> Floats:
    """How often each row is drawn in each seeded resample: a ``resamples x rows`` matrix."""
    draws = np.random.default_rng(seed).integers(0, rows, size=(resamples, rows))
    offsets = np.arange(resamples)[:, None] * rows
    counts = np.bincount((draws + offsets).ravel(), minlength=resamples * rows)
    return counts.reshape(resamples, rows).astype(np.float64)


def estimate(
    metric: str,
    y: npt.ArrayLike,
    proba: npt.ArrayLike,
    threshold: float,
    *,
    resamples: int,
    confidence: float,
    seed: int,
) -> Estimate:
    """``metric`` on all rows and its percentile bootstrap interval at ``confidence``."""
    labels = np.asarray(y, dtype=np.float64)
    scores = np.asarray(proba, dtype=np.float64)
    value = point(metric, labels, scores, threshold)
    if not len(labels):
        return Estimate(None, None, None)
    weights = resample_weights(len(labels), resamples, seed)
    values = weighted_metric(metric, labels, scores, threshold, weights)
    values = values[np.isfinite(values)]
    if not values.size:
        return Estimate(value, None, None)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(values, [tail, 1.0 - tail])
    return Estimate(value, float(low), float(high))


def point(metric: str, y: npt.ArrayLike, proba: npt.ArrayLike, threshold: float) -> float | None:
    """``metric`` on all rows (None when undefined, or no rows)."""
    labels = np.asarray(y, dtype=np.float64)
    if not len(labels):
        return None
    scores = np.asarray(proba, dtype=np.float64)
    value = weighted_metric(metric, labels, scores, threshold, np.ones((1, len(labels))))[0]
    return float(value) if np.isfinite(value) else None


def weighted_metric(
    metric: str, y: Floats, proba: Floats, threshold: float, weights: Floats
) -> Floats:
    """``metric`` under each row of ``weights`` (NaN where it is undefined)."""
    decided = (proba >= threshold).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(METRICS[metric](weights, y, proba, decided), dtype=np.float64)


def _counts(weights: Floats, y: Floats, decided: Floats) -> tuple[Floats, Floats, Floats, Floats]:
    """Weighted true positives, false positives, false negatives, true negatives."""
    tp = weights @ (y * decided)
    fp = weights @ ((1 - y) * decided)
    fn = weights @ (y * (1 - decided))
    tn = weights @ ((1 - y) * (1 - decided))
    return tp, fp, fn, tn


def _accuracy(w: Floats, y: Floats, _p: Floats, d: Floats) -> Floats:
    tp, fp, fn, tn = _counts(w, y, d)
    return np.asarray((tp + tn) / (tp + fp + fn + tn), dtype=np.float64)


def _precision(w: Floats, y: Floats, _p: Floats, d: Floats) -> Floats:
    tp, fp, _, _ = _counts(w, y, d)
    return np.asarray(tp / (tp + fp), dtype=np.float64)


def _recall(w: Floats, y: Floats, _p: Floats, d: Floats) -> Floats:
    tp, _, fn, _ = _counts(w, y, d)
    return np.asarray(tp / (tp + fn), dtype=np.float64)


def _f1(w: Floats, y: Floats, _p: Floats, d: Floats) -> Floats:
    tp, fp, fn, _ = _counts(w, y, d)
    return np.asarray(2 * tp / (2 * tp + fp + fn), dtype=np.float64)


def _balanced_accuracy(w: Floats, y: Floats, _p: Floats, d: Floats) -> Floats:
    tp, fp, fn, tn = _counts(w, y, d)
    return np.asarray((tp / (tp + fn) + tn / (tn + fp)) / 2, dtype=np.float64)


def _brier(w: Floats, y: Floats, p: Floats, _d: Floats) -> Floats:
    return np.asarray((w @ (p - y) ** 2) / w.sum(axis=1), dtype=np.float64)


def _log_loss(w: Floats, y: Floats, p: Floats, _d: Floats) -> Floats:
    eps = np.finfo(np.float64).eps
    clipped = np.clip(p, eps, 1 - eps)
    losses = -(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))
    return np.asarray((w @ losses) / w.sum(axis=1), dtype=np.float64)


def _selection_rate(w: Floats, _y: Floats, _p: Floats, d: Floats) -> Floats:
    return np.asarray((w @ d) / w.sum(axis=1), dtype=np.float64)


def _by_score(w: Floats, y: Floats, p: Floats) -> tuple[Floats, Floats]:
    """Weighted positives and negatives per distinct score, highest score first."""
    order = np.argsort(-p, kind="mergesort")
    ranked = p[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    weighted = w[:, order]
    positives = np.add.reduceat(weighted * y[order], starts, axis=1)
    negatives = np.add.reduceat(weighted * (1 - y[order]), starts, axis=1)
    return positives, negatives


def _roc_auc(w: Floats, y: Floats, p: Floats, _d: Floats) -> Floats:
    """Mann-Whitney: the weighted share of (positive, negative) pairs ranked right, ties 1/2."""
    positives, negatives = _by_score(w, y, p)
    below = negatives.sum(axis=1, keepdims=True) - np.cumsum(negatives, axis=1)
    pairs = (positives * (below + negatives / 2)).sum(axis=1)
    return np.asarray(pairs / (positives.sum(axis=1) * negatives.sum(axis=1)), dtype=np.float64)


def _pr_auc(w: Floats, y: Floats, p: Floats, _d: Floats) -> Floats:
    """Average precision: precision at each distinct score weighted by the recall it adds."""
    positives, negatives = _by_score(w, y, p)
    tps = np.cumsum(positives, axis=1)
    flagged = tps + np.cumsum(negatives, axis=1)
    precision = np.where(flagged > 0, tps / np.where(flagged > 0, flagged, 1), 1.0)
    return np.asarray((positives * precision).sum(axis=1) / positives.sum(axis=1), dtype=np.float64)


METRICS: dict[str, Weighted] = {
    "accuracy": _accuracy,
    "balanced_accuracy": _balanced_accuracy,
    "precision": _precision,
    "recall": _recall,
    "f1": _f1,
    "roc_auc": _roc_auc,
    "pr_auc": _pr_auc,
    "brier": _brier,
    "log_loss": _log_loss,
    "selection_rate": _selection_rate,
}
"""Every metric a segment can be measured by, including the share of rows flagged."""
