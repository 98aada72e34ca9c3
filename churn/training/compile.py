"""Spec -> one unfitted scikit-learn Pipeline per candidate. Pure: no I/O, no environment.

Every candidate is ``[derive ->] features -> model``. The model step is the estimator, or an
imblearn ``[resample -> estimator]`` pipeline when the candidate resamples, or, for an
ensemble, a ``VotingClassifier`` / ``StackingClassifier`` (a survival spec's: a
:class:`~churn.survival.ensemble.SurvivalAverage`) over the members' model steps. All
candidates share the spec's one feature block, so an ensemble of model steps behind one
feature front equals an ensemble of the members' whole pipelines, and stays servable by the
fast path. Search and calibration are applied when training (:mod:`churn.training.evaluate`).
"""

from __future__ import annotations

from typing import Any

from sklearn.ensemble import StackingClassifier, VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline

from churn.spec import Candidate, EnsembleSpec, ModelSpec, Spec
from churn.training.features import DerivedFeatures, build_column_transformer
from churn.training.models import build_estimator


def model_step(spec: Spec, model: Candidate) -> Any:
    """The candidate's final step: estimator, resampling pipeline, or ensemble."""
    seed = spec.evaluation.split.seed
    if not isinstance(model, EnsembleSpec):
        estimator = build_estimator(model, seed=seed)
        if model.resample is None:
            return estimator
        # imbalanced-learn loads only for a spec that resamples (a second of CPU per process)
        from churn.training.resampling import with_resampling

        return with_resampling(estimator, model.resample, seed=seed)
    members = [(name, model_step(spec, member_spec(spec, name))) for name in model.members]
    if model.type == "soft_voting":
        return VotingClassifier(members, voting="soft", weights=model.weights)
    if model.type == "survival_average":
        from churn.survival.ensemble import SurvivalAverage  # scikit-survival: survival specs only

        return SurvivalAverage(members, weights=model.weights)
    return StackingClassifier(
        members,
        final_estimator=LogisticRegression(max_iter=1000),
        cv=StratifiedKFold(n_splits=model.cv, shuffle=True, random_state=seed),
        stack_method="predict_proba",
    )


def member_spec(spec: Spec, name: str) -> ModelSpec:
    """The estimator candidate called ``name`` (ensembles name only those)."""
    found = spec.candidate(name)
    assert isinstance(found, ModelSpec)  # enforced by churn.spec.checks
    return found


def compile_candidate(spec: Spec, model: Candidate) -> Pipeline:
    """``derive -> features -> model`` for one candidate (``derive`` only when declared)."""
    steps: list[tuple[str, object]] = []
    if spec.features.derived:
        derived = tuple(entry.model_dump() for entry in spec.features.derived)
        steps.append(("derive", DerivedFeatures(derived)))
    steps.append(("features", build_column_transformer(spec.features)))
    steps.append(("model", model_step(spec, model)))
    return Pipeline(steps)


def compile_spec(spec: Spec) -> dict[str, Pipeline]:
    """Every candidate, by name, in spec order. Each result survives ``sklearn.base.clone``."""
    return {model.name: compile_candidate(spec, model) for model in spec.models}
