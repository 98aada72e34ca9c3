"""Spec -> one unfitted scikit-learn Pipeline per candidate. Pure: no I/O, no environment."""

from __future__ import annotations

from sklearn.pipeline import Pipeline

from churn.spec import ModelSpec, Spec
from churn.training.features import DerivedFeatures, build_column_transformer
from churn.training.models import build_estimator


def compile_candidate(spec: Spec, model: ModelSpec) -> Pipeline:
    """``derive -> features -> model`` for one candidate (``derive`` only when declared)."""
    steps: list[tuple[str, object]] = []
    if spec.features.derived:
        derived = tuple(entry.model_dump() for entry in spec.features.derived)
        steps.append(("derive", DerivedFeatures(derived)))
    steps.append(("features", build_column_transformer(spec.features)))
    steps.append(("model", build_estimator(model, seed=spec.evaluation.split.seed)))
    return Pipeline(steps)


def compile_spec(spec: Spec) -> dict[str, Pipeline]:
    """Every candidate, by name, in spec order. Each result survives ``sklearn.base.clone``."""
    return {model.name: compile_candidate(spec, model) for model in spec.models}


compile = compile_spec
