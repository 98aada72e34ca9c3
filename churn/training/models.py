"""The models block -> unfitted estimators, from the catalogue of :mod:`churn.spec.estimators`."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin

from churn.spec import Candidate, EnsembleSpec, ModelSpec, Spec
from churn.spec.estimators import MODEL_REGISTRY


def build_estimator(spec: ModelSpec, *, seed: int) -> ClassifierMixin:
    """An unfitted estimator for one candidate. Spec params override churn's defaults."""
    kind = MODEL_REGISTRY[spec.type]
    params: dict[str, Any] = dict(kind.defaults)
    if kind.seed_param is not None:
        params[kind.seed_param] = seed
    params.update(kind.balance(spec))
    params.update(spec.params)
    if spec.distributed:
        from churn.training.cluster_xgb import ClusterXGBClassifier

        return ClusterXGBClassifier(**params)
    estimator: ClassifierMixin = kind.factory(**params)
    return estimator


def estimator_prefix(model: ModelSpec, prefix: str = "model__") -> str:
    """Parameter prefix of the estimator inside a compiled candidate's model step."""
    return f"{prefix}estimator__" if model.resample is not None else prefix


def data_dependent_params(
    spec: Spec, model: Candidate, y_train: np.ndarray, prefix: str = "model__"
) -> dict[str, Any]:
    """Parameters that need the training labels, prefixed for the compiled pipeline.

    ``prefix`` points at the candidate's model step; ensemble members are nested below it.
    """
    if isinstance(model, EnsembleSpec):
        found: dict[str, Any] = {}
        for name in model.members:
            member = spec.candidate(name)
            found.update(data_dependent_params(spec, member, y_train, f"{prefix}{name}__"))
        return found
    inner = estimator_prefix(model, prefix)
    if model.type == "xgboost" and model.class_balance == "balanced":
        positives = int(np.sum(y_train == 1))
        negatives = int(len(y_train) - positives)
        return {f"{inner}scale_pos_weight": negatives / max(positives, 1)}
    return {}
