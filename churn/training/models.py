"""The models block -> unfitted estimators, from the catalogue of :mod:`churn.spec.estimators`."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin

from churn.spec import ModelSpec
from churn.spec.estimators import MODEL_REGISTRY


def build_estimator(spec: ModelSpec, *, seed: int) -> ClassifierMixin:
    """An unfitted estimator for one candidate. Spec params override churn's defaults."""
    kind = MODEL_REGISTRY[spec.type]
    params: dict[str, Any] = dict(kind.defaults)
    if kind.seed_param is not None:
        params[kind.seed_param] = seed
    params.update(kind.balance(spec))
    params.update(spec.params)
    estimator: ClassifierMixin = kind.factory(**params)
    return estimator


def data_dependent_params(spec: ModelSpec, y_train: np.ndarray) -> dict[str, Any]:
    """Parameters that need the training labels (``model__``-prefixed for the pipeline)."""
    if spec.type == "xgboost" and spec.class_balance == "balanced":
        positives = int(np.sum(y_train == 1))
        negatives = int(len(y_train) - positives)
        return {"model__scale_pos_weight": negatives / max(positives, 1)}
    return {}
