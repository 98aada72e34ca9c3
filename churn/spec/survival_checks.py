"""Cross-field rules of a survival spec, and the rules that keep survival out of classifier specs.

A survival target needs a numeric, never-missing, non-negative duration that no feature reads;
its candidates must be survival models or ``survival_average`` ensembles of them (no classifier
ensembles, calibration, resampling or class balance: they are about class labels) and its
metrics survival metrics at declared horizons. A classifier spec may name neither survival
models, survival ensembles nor survival metrics.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from churn.spec.survival import (
    SURVIVAL_ENSEMBLE_TYPES,
    SURVIVAL_METRIC_PATTERN,
    SURVIVAL_MODEL_TYPES,
    SurvivalTargetSpec,
    is_survival_metric,
)
from churn.survival.names import horizon_label

if TYPE_CHECKING:
    from churn.spec.checks import Location, Problem
    from churn.spec.model import Spec

TARGET = ("data", "target")


def survival_problems(spec: Spec) -> Iterator[Problem]:
    """Every survival-related cross-field problem of ``spec``."""
    target = spec.survival_target
    if target is None:
        yield from _classifier_names_no_survival(spec)
        return
    yield from _duration_column(spec, target)
    yield from _duration_not_a_feature(spec, target)
    yield from _survival_candidates(spec)
    yield from _survival_metrics(spec, target)
    yield from _no_classifier_options(spec)


def _metric_locations(spec: Spec) -> Iterator[tuple[Location, str]]:
    evaluation = spec.evaluation
    yield ("evaluation", "selection_metric"), evaluation.selection_metric
    for index, metric in enumerate(evaluation.metrics):
        yield ("evaluation", "metrics", index), metric
    for block in ("value", "change"):
        for index, threshold in enumerate(getattr(spec.gates, block)):
            yield ("gates", block, index, "metric"), threshold.metric
    for index, model in enumerate(spec.models):
        search = getattr(model, "search", None)
        if search is not None and search.metric is not None:
            yield ("models", index, "search", "metric"), search.metric


def _classifier_names_no_survival(spec: Spec) -> Iterator[Problem]:
    for index, model in enumerate(spec.models):
        if model.type in SURVIVAL_MODEL_TYPES + SURVIVAL_ENSEMBLE_TYPES:
            kind = "model" if model.type in SURVIVAL_MODEL_TYPES else "ensemble"
            yield (
                ("models", index, "type"),
                f"{model.type!r} is a survival {kind}; it needs data.target.kind: survival",
            )
    for loc, metric in _metric_locations(spec):
        if is_survival_metric(metric):
            yield loc, f"{metric!r} is a survival metric; it needs data.target.kind: survival"


def _duration_column(spec: Spec, target: SurvivalTargetSpec) -> Iterator[Problem]:
    loc = (*TARGET, "duration")
    column = spec.columns.get(target.duration)
    if column is None:
        yield loc, f"expected a column declared in `columns`, got {target.duration!r}"
        return
    if target.duration in (target.event, spec.data.id):
        role = "event" if target.duration == target.event else "id"
        yield loc, f"the duration and the {role} must differ, both are {target.duration!r}"
    if column.dtype not in ("int", "float"):
        yield loc, f"the duration needs dtype int or float, got {column.dtype!r}"
        return
    where = ("columns", target.duration)
    if column.nullable:
        yield (*where, "nullable"), "the duration column cannot be nullable"
    if column.min is None or column.min < 0:
        got = "no min" if column.min is None else f"min: {column.min:g}"
        yield (*where, "min"), f"the duration column needs min: 0 or more, got {got}"
    if column.max is not None and target.horizons[-1] > column.max:
        yield (
            (*TARGET, "horizons", len(target.horizons) - 1),
            f"expected horizons within the duration's max {column.max:g}, "
            f"got {target.horizons[-1]:g}",
        )


def _duration_not_a_feature(spec: Spec, target: SurvivalTargetSpec) -> Iterator[Problem]:
    message = (
        f"the duration {target.duration!r} cannot be a feature: the model would read the "
        "answer (drop it here; `churn check` lists columns tied to it)"
    )
    for g_index, group in enumerate(spec.features.groups):
        for c_index, column in enumerate(group.columns):
            if column == target.duration:
                yield ("features", "groups", g_index, "columns", c_index), message
    for d_index, derived in enumerate(spec.features.derived):
        if target.duration in derived.inputs():
            yield ("features", "derived", d_index), message


def _survival_candidates(spec: Spec) -> Iterator[Problem]:
    from churn.spec.candidates import EnsembleSpec

    for index, model in enumerate(spec.models):
        loc = ("models", index)
        if isinstance(model, EnsembleSpec):
            if model.type not in SURVIVAL_ENSEMBLE_TYPES:
                yield (*loc, "type"), f"{model.type!r} ensembles are for classifiers, not survival"
            if model.calibration is not None:
                yield (*loc, "calibration"), "calibration is for classifiers, not survival"
            continue
        if model.type not in SURVIVAL_MODEL_TYPES:
            yield (
                (*loc, "type"),
                f"a survival target needs a survival model ({', '.join(SURVIVAL_MODEL_TYPES)}), "
                f"got {model.type!r}",
            )
        for option in ("calibration", "resample"):
            if getattr(model, option) is not None:
                yield (*loc, option), f"{option} is for classifiers; a survival model has none"
        search = model.search
        if search is not None and search.metric not in (None, "harrell_c"):
            yield (
                (*loc, "search", "metric"),
                f"a survival search maximises harrell_c (the models' score), got {search.metric!r}",
            )
        if model.class_balance != "none":
            yield (*loc, "class_balance"), "class_balance is for classifiers, not survival"


def _survival_metrics(spec: Spec, target: SurvivalTargetSpec) -> Iterator[Problem]:
    horizons = {horizon_label(h) for h in target.horizons}
    declared = ", ".join(sorted(horizons, key=float))
    for loc, metric in _metric_locations(spec):
        match = SURVIVAL_METRIC_PATTERN.match(metric)
        if match is None:
            yield loc, f"a survival spec reports survival metrics, got {metric!r}"
        elif match.group(3) is not None and match.group(3) not in horizons:
            yield (
                loc,
                f"{metric!r} names no declared horizon (data.target.horizons: {declared})",
            )


def _no_classifier_options(spec: Spec) -> Iterator[Problem]:
    evaluation = spec.evaluation
    if "threshold" in evaluation.model_fields_set:
        yield ("evaluation", "threshold"), "a survival spec has no decision threshold"
    if evaluation.costs is not None:
        yield ("evaluation", "costs"), "costs price a classifier's threshold; not for survival"
    if spec.gates.slices:
        yield ("gates", "slices"), "slice gates measure classifier metrics; not for survival"
    if "tests" in spec.gates.model_fields_set:
        yield ("gates", "tests"), "gate tests take a classifier; not for survival yet"
