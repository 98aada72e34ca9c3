"""Exact TreeSHAP for tree ensembles, computed by XGBoost's own C++ implementation.

XGBoost computes exact path-dependent TreeSHAP for its boosters (``pred_contribs=True``). A
fitted scikit-learn forest or histogram gradient boosting model is a sum of trees too, so
:func:`forest_booster` and :func:`hist_booster` write its trees into an XGBoost model (JSON)
once, at load time; XGBoost then explains it exactly as it explains its own models:

- a split keeps its feature and its missing-value direction; scikit-learn sends ``x <= t``
  left, XGBoost ``x < s``. For forests (which compare float32 inputs) ``s`` is the float32
  just above the largest float32 not above ``t``, so every input goes the same way. Histogram
  gradient boosting compares float64 inputs, so its inputs are first replaced by their rank
  among the model's thresholds (:class:`HistTrees`), which float32 holds exactly;
- a node's cover is its training sample weight (``weighted_n_node_samples``; ``count`` for
  histogram gradient boosting), the weights path-dependent TreeSHAP averages over, as in
  ``shap.TreeExplainer(feature_perturbation="tree_path_dependent")``;
- a forest's leaf holds its P(churn) divided by the number of trees, so the trees sum to the
  forest's probability; a histogram model's leaves are its raw values, its baseline is added
  to the base value.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import xgboost as xgb

from churn.explain.attribution import Attribution, Matrix, Scale, Vector, settle
from churn.explain.shallow import shallow_treeshap
from churn.explain.threads import explain_pool
from churn.private_apis import hist_gradient_boosting_trees

_NO_PARENT = 2147483647


def _tree_json(
    index: int,
    left: np.ndarray,
    right: np.ndarray,
    feature: np.ndarray,
    condition: np.ndarray,
    default_left: np.ndarray,
    cover: np.ndarray,
    n_features: int,
) -> dict[str, Any]:
    """One tree in XGBoost's JSON model layout (leaves: ``left == -1``, value in condition)."""
    order = _breadth_first(left, right)
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    left = np.where(left[order] >= 0, position[left[order]], -1)
    right = np.where(right[order] >= 0, position[right[order]], -1)
    feature, condition = feature[order], condition[order]
    default_left, cover = default_left[order], cover[order]
    n = len(left)
    parents = np.full(n, _NO_PARENT, dtype=np.int64)
    internal = np.flatnonzero(left >= 0)
    parents[left[internal]] = internal
    parents[right[internal]] = internal
    zeros = [0] * n
    return {
        "base_weights": condition.astype(np.float32).tolist(),
        "categories": [],
        "categories_nodes": [],
        "categories_segments": [],
        "categories_sizes": [],
        "default_left": default_left.astype(int).tolist(),
        "id": index,
        "left_children": left.astype(int).tolist(),
        "loss_changes": [0.0] * n,
        "parents": parents.tolist(),
        "right_children": right.astype(int).tolist(),
        "split_conditions": condition.astype(np.float32).tolist(),
        "split_indices": np.where(left >= 0, feature, 0).astype(int).tolist(),
        "split_type": zeros,
        "sum_hessian": cover.astype(np.float32).tolist(),
        "tree_param": {
            "num_deleted": "0",
            "num_feature": str(n_features),
            "num_nodes": str(n),
            "size_leaf_vector": "1",
        },
    }


def _breadth_first(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Node ids in breadth-first order, each node's two children side by side (XGBoost's
    TreeSHAP walks a tree in the order its own training allocates nodes)."""
    order, head = [0], 0
    while head < len(order):
        node = order[head]
        head += 1
        if left[node] >= 0:
            order += [int(left[node]), int(right[node])]
    return np.asarray(order, dtype=np.int64)


def _booster(trees: Sequence[dict[str, Any]], n_features: int) -> xgb.Booster:
    """An XGBoost regression booster (identity link, base score 0) made of ``trees``."""
    model = {
        "learner": {
            "attributes": {},
            "feature_names": [],
            "feature_types": [],
            "gradient_booster": {
                "model": {
                    "gbtree_model_param": {
                        "num_parallel_tree": "1",
                        "num_trees": str(len(trees)),
                    },
                    "iteration_indptr": list(range(len(trees) + 1)),
                    "tree_info": [0] * len(trees),
                    "trees": list(trees),
                },
                "name": "gbtree",
            },
            "learner_model_param": {
                "base_score": "0E0",
                "boost_from_average": "0",
                "num_class": "0",
                "num_feature": str(n_features),
                "num_target": "1",
            },
            "objective": {"name": "reg:squarederror", "reg_loss_param": {"scale_pos_weight": "1"}},
        },
        "version": [3, 0, 0],
    }
    booster = xgb.Booster(params={"nthread": 1})
    booster.load_model(bytearray(json.dumps(model).encode()))
    return booster


def _below_or_equal(threshold: np.ndarray) -> np.ndarray:
    """The float32 ``s`` with ``x < s`` exactly when ``x <= threshold``, for float32 ``x``."""
    t32 = threshold.astype(np.float32)
    t32 = np.where(t32.astype(np.float64) > threshold, np.nextafter(t32, np.float32(-np.inf)), t32)
    return np.nextafter(t32, np.float32(np.inf))


def forest_booster(forest: Any) -> xgb.Booster:
    """A fitted random forest / extra trees classifier (binary) as an XGBoost booster."""
    trees = []
    count = len(forest.estimators_)
    for index, estimator in enumerate(forest.estimators_):
        tree = estimator.tree_
        left = tree.children_left.astype(np.int64)
        leaf = left < 0
        value = tree.value[:, 0, :]
        proba = value[:, 1] / value.sum(axis=1)
        condition = np.where(leaf, proba / count, _below_or_equal(tree.threshold))
        missing = getattr(tree, "missing_go_to_left", None)
        default_left = np.ones(len(left), bool) if missing is None else missing.astype(bool)
        trees.append(
            _tree_json(
                index,
                np.where(leaf, -1, left),
                np.where(leaf, -1, tree.children_right.astype(np.int64)),
                tree.feature.astype(np.int64),
                condition,
                default_left,
                tree.weighted_n_node_samples,
                forest.n_features_in_,
            )
        )
    return _booster(trees, forest.n_features_in_)


@dataclass(frozen=True)
class HistTrees:
    """A histogram gradient boosting model as an XGBoost booster over threshold ranks.

    The model compares float64 inputs with float64 thresholds; float32 (XGBoost's inputs)
    cannot keep every such comparison. So each input is replaced by its rank among the
    thresholds of its feature (how many are below it, exact in float32; missing stays
    missing) and the split on the i-th threshold becomes ``rank < i + 0.5``: every row takes
    exactly the model's own path.
    """

    booster: xgb.Booster
    baseline: float
    thresholds: tuple[np.ndarray, ...]

    def ranks(self, X: Matrix) -> np.ndarray:
        """Each input's rank among its feature's thresholds (nan stays nan), as float32."""
        out = np.zeros(X.shape, dtype=np.float32)
        for feature, edges in enumerate(self.thresholds):
            column = X[:, feature]
            out[:, feature] = np.searchsorted(edges, column, side="left")
            out[np.isnan(column), feature] = np.nan
        return out


def hist_booster(model: Any) -> HistTrees:
    """A fitted binary ``HistGradientBoostingClassifier`` (no categorical splits) as a booster."""
    predictors, baseline = hist_gradient_boosting_trees(model)
    nodes_of = [predictor.nodes for predictor in predictors]
    if any(np.any(nodes["is_categorical"]) for nodes in nodes_of):
        raise ValueError("histogram gradient boosting with categorical splits")
    n_features = model.n_features_in_
    thresholds = []
    for feature in range(n_features):
        found = [
            nodes["num_threshold"][(nodes["is_leaf"] == 0) & (nodes["feature_idx"] == feature)]
            for nodes in nodes_of
        ]
        thresholds.append(np.unique(np.concatenate(found)) if found else np.empty(0))
    trees = []
    for index, nodes in enumerate(nodes_of):
        leaf = nodes["is_leaf"].astype(bool)
        feature = nodes["feature_idx"].astype(np.int64)
        rank = np.array(
            [
                np.searchsorted(thresholds[f], t) if not is_leaf else 0
                for f, t, is_leaf in zip(feature, nodes["num_threshold"], leaf, strict=True)
            ],
            dtype=np.float64,
        )
        trees.append(
            _tree_json(
                index,
                np.where(leaf, -1, nodes["left"].astype(np.int64)),
                np.where(leaf, -1, nodes["right"].astype(np.int64)),
                feature,
                np.where(leaf, nodes["value"], rank + 0.5),
                nodes["missing_go_to_left"].astype(bool),
                nodes["count"].astype(np.float64),
                n_features,
            )
        )
    return HistTrees(_booster(trees, n_features), baseline, tuple(thresholds))


Contributions = Callable[[npt.NDArray[np.float32]], Matrix]
"""Float32 rows -> rows x (features + 1): TreeSHAP contributions, then the base."""


def tree_contributions(booster: xgb.Booster) -> Contributions:
    """``booster``'s exact TreeSHAP: its table form when its trees are shallow enough
    (:func:`~churn.explain.shallow.shallow_treeshap`, built once here), else XGBoost's
    ``pred_contribs`` on one thread."""
    table = shallow_treeshap(booster)
    if table is not None:
        return lambda X: table.contributions(X, explain_pool())

    def contributions(X: npt.NDArray[np.float32]) -> Matrix:
        matrix = xgb.DMatrix(X, nthread=1)
        return np.asarray(booster.predict(matrix, pred_contribs=True), dtype=np.float64)

    return contributions


def booster_attribution(
    contributions: Contributions, X: Matrix, output: Vector, offset: float, scale: Scale
) -> Attribution:
    """TreeSHAP (``contributions``) on ``X`` (base plus ``offset``), settled on ``output``."""
    contribs = contributions(np.asarray(X, dtype=np.float32))
    return settle(Attribution(contribs[:, :-1], contribs[:, -1] + offset, scale), output)
