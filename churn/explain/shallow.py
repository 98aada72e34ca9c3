"""Exact TreeSHAP for ensembles of shallow trees, as a table lookup per tree.

Path-dependent TreeSHAP reads a row only through the outcomes of the tree's split tests
(which child is "hot" at each node); the covers and leaf values are fixed. A tree with ``s``
splits therefore has at most ``2**s`` contribution vectors, one per outcome pattern. For trees
of depth 3 (at most 7 splits, 128 patterns) :class:`ShallowTreeShap` asks XGBoost's own
``pred_contribs`` once, at load, for every pattern a row can produce (one synthetic row per
pattern), and keeps the answers in a table. Explaining rows is then vectorised numpy: every
split test of every tree at once, the bits packed into a pattern index per tree, the table rows
gathered and added up per feature. The result equals ``pred_contribs`` on the same rows up to
float32 rounding (XGBoost adds the trees in float32, the table in float64).
"""

from __future__ import annotations

import itertools
import json
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import xgboost as xgb

MAX_SPLITS: Final = 8
"""Trees with more split nodes than this are left to ``pred_contribs`` (256 patterns)."""
BLOCK_ROWS: Final = 512
"""Rows explained per vectorised step (keeps the temporary arrays in the CPU's cache)."""


@dataclass(frozen=True)
class ShallowTreeShap:
    """Per tree, its split tests and its TreeSHAP contributions per outcome pattern.

    ``features`` and ``thresholds`` (trees x splits) are the tests ``x[feature] < threshold``
    (a missing ``x``: ``default_left``); the outcome of split ``j`` is bit ``j`` of the tree's
    pattern. ``values`` holds, per (tree, feature the tree splits on), the contribution for each
    pattern; ``entries`` lists those (tree, feature) pairs grouped by feature: ``entry_tree``
    and ``entry_start`` (where its patterns start in ``values``), and ``groups`` the
    ``(feature, first entry, end)`` of each feature.
    """

    features: npt.NDArray[np.intp]
    thresholds: npt.NDArray[np.float32]
    default_left: npt.NDArray[np.bool_]
    values: npt.NDArray[np.float64]
    entry_tree: npt.NDArray[np.intp]
    entry_start: npt.NDArray[np.intp]
    groups: tuple[tuple[int, int, int], ...]
    n_features: int
    base: float

    def contributions(
        self, X: npt.NDArray[Any], pool: Executor | None = None
    ) -> npt.NDArray[np.float64]:
        """Rows x (features + 1): each feature's contribution, then the base (as XGBoost).

        With ``pool``, the blocks of rows are explained by its threads (numpy releases the
        GIL for the heavy steps); the result is the same.
        """
        X32 = np.asarray(X, dtype=np.float32)
        out = np.zeros((len(X32), self.n_features + 1), dtype=np.float64)
        out[:, -1] = self.base
        missing = bool(np.isnan(X32).any())
        starts = range(0, len(X32), BLOCK_ROWS)
        if pool is None or len(starts) < 2:
            for start in starts:
                self._block(X32, out, start, missing)
        else:
            for done in [pool.submit(self._block, X32, out, s, missing) for s in starts]:
                done.result()
        return out

    def _block(
        self, X32: npt.NDArray[np.float32], out: npt.NDArray[np.float64], start: int, missing: bool
    ) -> None:
        """Explain ``BLOCK_ROWS`` rows from ``start`` into ``out``."""
        block = np.ascontiguousarray(X32[start : start + BLOCK_ROWS].T)
        tested = block[self.features]  # trees x splits x rows
        left = tested < self.thresholds[:, :, None]
        if missing:
            left |= np.isnan(tested) & self.default_left[:, :, None]
        pattern = left[:, 0].astype(np.intp)
        for split in range(1, left.shape[1]):
            pattern |= left[:, split].astype(np.intp) << split
        index = pattern[self.entry_tree]
        index += self.entry_start[:, None]
        picked = np.take(self.values, index)  # entries x rows
        rows = out[start : start + block.shape[1]]
        for feature, first, end in self.groups:
            rows[:, feature] = np.add.reduce(picked[first:end], axis=0)


def shallow_treeshap(booster: xgb.Booster) -> ShallowTreeShap | None:
    """The table form of ``booster``'s TreeSHAP, or None when a tree is too deep for it
    (more than :data:`MAX_SPLITS` splits), a split is categorical or an iteration holds more
    than one tree."""
    model = json.loads(booster.save_raw("json"))["learner"]
    gbtree = model["gradient_booster"]
    if gbtree.get("name") != "gbtree":
        return None
    trees = gbtree["model"]["trees"]
    n_features = int(model["learner_model_param"]["num_feature"])
    if int(gbtree["model"]["gbtree_model_param"]["num_parallel_tree"]) != 1 or not trees:
        return None
    splits = []
    for tree in trees:
        left = np.asarray(tree["left_children"])
        if any(tree["split_type"]) or np.count_nonzero(left >= 0) > MAX_SPLITS:
            return None
        splits.append(np.flatnonzero(left >= 0))
    width = max(1, max(len(s) for s in splits))
    count, patterns = len(trees), 2**width
    features = np.zeros((count, width), dtype=np.intp)
    thresholds = np.full((count, width), np.nan, dtype=np.float32)  # padding: never "left"
    default_left = np.zeros((count, width), dtype=np.bool_)
    for t, (tree, nodes) in enumerate(zip(trees, splits, strict=True)):
        features[t, : len(nodes)] = np.asarray(tree["split_indices"])[nodes]
        thresholds[t, : len(nodes)] = np.asarray(tree["split_conditions"], np.float32)[nodes]
        default_left[t, : len(nodes)] = np.asarray(tree["default_left"], bool)[nodes]
    entries: list[tuple[int, int, npt.NDArray[np.float64]]] = []
    for t, nodes in enumerate(splits):
        if not len(nodes):
            continue
        used = features[t, : len(nodes)]
        pattern, rows = _pattern_rows(
            used, thresholds[t, : len(nodes)], default_left[t, : len(nodes)], n_features
        )
        contribs = booster[t : t + 1].predict(
            xgb.DMatrix(rows, missing=np.nan, nthread=1), pred_contribs=True
        )
        for feature in np.unique(used).tolist():
            column = np.zeros(patterns, dtype=np.float64)
            column[pattern] = contribs[:, feature]
            entries.append((feature, t, column))
    entries.sort(key=lambda entry: (entry[0], entry[1]))
    order = [feature for feature, _, _ in entries]
    bounds = np.flatnonzero(np.diff(order, prepend=-1, append=n_features + 1))
    groups = tuple(
        (order[first], int(first), int(end)) for first, end in itertools.pairwise(bounds)
    )
    base = booster.predict(
        xgb.DMatrix(np.full((1, n_features), np.nan, np.float32), nthread=1), pred_contribs=True
    )[0, -1]
    return ShallowTreeShap(
        features=features,
        thresholds=thresholds,
        default_left=default_left,
        values=np.concatenate([c for _, _, c in entries]) if entries else np.zeros(0),
        entry_tree=np.asarray([t for _, t, _ in entries], dtype=np.intp),
        entry_start=np.arange(len(entries), dtype=np.intp) * patterns,
        groups=groups,
        n_features=n_features,
        base=float(base),
    )


def _pattern_rows(
    features: npt.NDArray[np.intp],
    thresholds: npt.NDArray[np.float32],
    default_left: npt.NDArray[np.bool_],
    n_features: int,
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]:
    """Every outcome pattern some input produces, and one such input row per pattern.

    For each feature the pattern asks ``x < t`` of some thresholds (bit 1) and ``x >= t`` of
    others (bit 0): a number meets that when the largest bit-0 threshold is below the smallest
    bit-1 one (it is then that largest threshold, or a number under every threshold), a missing
    value when every bit equals its split's missing direction.
    """
    splits = len(features)
    patterns = np.arange(2**splits, dtype=np.intp)
    bits = ((patterns[:, None] >> np.arange(splits)) & 1).astype(bool)  # patterns x splits
    rows = np.full((len(patterns), n_features), np.nan, dtype=np.float32)
    feasible = np.ones(len(patterns), dtype=bool)
    for feature in np.unique(features):
        mine = features == feature
        t = thresholds[mine].astype(np.float64)
        b = bits[:, mine]
        lower = np.where(~b, t, -np.inf).max(axis=1)
        upper = np.where(b, t, np.inf).min(axis=1)
        number = lower < upper
        missing = (b == default_left[mine]).all(axis=1)
        below = upper - 1.0 - np.abs(np.where(np.isfinite(upper), upper, 0.0))
        value = np.where(np.isfinite(lower), lower, np.where(np.isfinite(upper), below, 0.0))
        rows[:, feature] = np.where(number, value, np.nan)
        feasible &= number | missing
    return patterns[feasible], rows[feasible]
