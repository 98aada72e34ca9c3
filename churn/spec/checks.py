"""Cross-field rules of the spec: what one block says about another.

Each rule returns problems as ``(location, message)`` so the loader can point at the YAML line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING

from churn.spec.monitoring import monitoring_problems
from churn.spec.slices import slice_problems
from churn.spec.survival_checks import survival_problems

if TYPE_CHECKING:
    from churn.spec.base import Kind
    from churn.spec.model import Spec

Location = tuple[str | int, ...]
Problem = tuple[Location, str]


class SpecProblems(Exception):
    """Raised from the Spec validator; deliberately not a ValueError so pydantic lets it through."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{loc}: {msg}" for loc, msg in problems))
        self.problems = problems


ESTIMATOR_CHECKS = "estimator_checks"
"""Validation context key: False leaves out the checks that import the estimators."""


def find_problems(spec: Spec, *, estimators: bool = True) -> list[Problem]:
    """Every cross-field problem of ``spec``, in file order of the blocks they concern
    (without the search spaces' parameter names, which import the estimators, unless
    ``estimators``)."""
    rules = (
        _data_columns_declared,
        _values_fit_dtypes,
        _derived_inputs,
        _group_columns,
        _steps_fit_kinds,
        _every_column_accounted_for,
        _unique_names,
        _metrics_reported,
        _ensemble_members,
        _search_spaces,
        _sizes_bounded,
        _costs_declared,
        slice_problems,
        monitoring_problems,
        survival_problems,
    )
    skipped = () if estimators else (_search_spaces,)
    return [problem for rule in rules if rule not in skipped for problem in rule(spec)]


def search_space_problems(spec: Spec) -> list[Problem]:
    """What ``estimators=False`` leaves out of :func:`find_problems`: the search spaces'
    parameter names (they import the estimators)."""
    return list(_search_spaces(spec))


def _known(spec: Spec) -> str:
    return ", ".join(spec.columns)


def _data_columns_declared(spec: Spec) -> Iterator[Problem]:
    data = spec.data
    for loc, name in (
        (("data", "id"), data.id),
        (("data", "target", "column"), data.target.column),
    ):
        if name is not None and name not in spec.columns:
            yield loc, f"expected a column declared in `columns`, got {name!r}"
    if data.id == data.target.column:
        yield ("data", "id"), f"the id and the target must differ, both are {data.id!r}"
    id_column = spec.columns.get(data.id) if data.id is not None else None
    if data.id is not None and id_column is not None and id_column.nullable:
        yield ("columns", data.id, "nullable"), "the id column cannot be nullable"
    target = spec.columns.get(data.target.column)
    if target is not None:
        if target.values is None:
            yield (
                ("columns", data.target.column, "values"),
                "the target column must list its values (two classes)",
            )
        elif len(target.values) != 2:
            yield (
                ("columns", data.target.column, "values"),
                f"expected exactly 2 classes for the target, got {len(target.values)}",
            )
        elif data.target.positive not in target.values:
            yield (
                ("data", "target", "positive"),
                f"expected one of the target's values {target.values}, "
                f"got {data.target.positive!r}",
            )
        if target.nullable:
            yield ("columns", data.target.column, "nullable"), "the target cannot be nullable"
    time_column = spec.evaluation.split.time_column
    if time_column is not None and time_column not in spec.columns:
        yield (
            ("evaluation", "split", "time_column"),
            f"expected a declared column, got {time_column!r}",
        )


def _values_fit_dtypes(spec: Spec) -> Iterator[Problem]:
    for name, column in spec.columns.items():
        for index, value in enumerate(column.values or []):
            if column.kind == "categorical" and not isinstance(value, str):
                yield (
                    ("columns", name, "values", index),
                    f"expected a string for dtype {column.dtype!r}, got {value!r}; quote it",
                )
            if column.kind == "numeric" and (
                isinstance(value, str) or (column.dtype != "bool" and isinstance(value, bool))
            ):
                yield (
                    ("columns", name, "values", index),
                    f"expected a number for dtype {column.dtype!r}, got {value!r}",
                )


def _derived_inputs(spec: Spec) -> Iterator[Problem]:
    kinds: dict[str, Kind] = {name: col.kind for name, col in spec.columns.items()}
    for index, derived in enumerate(spec.features.derived):
        loc = ("features", "derived", index)
        if derived.name in kinds:
            yield (*loc, "name"), f"{derived.name!r} is already a column; pick another name"
        for column in derived.inputs():
            if column not in kinds:
                yield (
                    loc,
                    (
                        f"expected a declared column (or an earlier derived one), got {column!r}; "
                        f"declared: {_known(spec)}"
                    ),
                )
            elif kinds[column] != derived.reads:
                yield (
                    loc,
                    (f"expected a {derived.reads} input column, got {column!r} ({kinds[column]})"),
                )
            elif column in (spec.data.id, spec.data.target.column):
                yield loc, f"the id and the target cannot feed a feature, got {column!r}"
        for where, message in derived.problems(spec.columns):
            yield (*loc, *where), message
        kinds[derived.name] = derived.produces


def _group_columns(spec: Spec) -> Iterator[Problem]:
    known = spec.column_kinds()
    seen: dict[str, str] = {}
    for g_index, group in enumerate(spec.features.groups):
        for c_index, column in enumerate(group.columns):
            loc = ("features", "groups", g_index, "columns", c_index)
            if column in (spec.data.id, spec.data.target.column):
                role = "id" if column == spec.data.id else "target"
                yield loc, f"the {role} column {column!r} cannot be a feature"
            elif column not in known:
                yield (
                    loc,
                    (
                        f"expected a column declared in `columns` or `features.derived`, "
                        f"got {column!r}; declared: {_known(spec)}"
                    ),
                )
            elif column in spec.features.drop:
                yield loc, f"{column!r} is listed in features.drop; remove it from one of them"
            elif known[column] == "datetime":
                yield (
                    loc,
                    (
                        f"{column!r} is a datetime column; derive a days_between or days_since "
                        "feature from it and group that"
                    ),
                )
            if column in seen:
                yield loc, f"{column!r} is already in group {seen[column]!r}"
            seen.setdefault(column, group.name)
    for index, column in enumerate(spec.features.drop):
        if column not in spec.columns:
            yield ("features", "drop", index), f"expected a declared column, got {column!r}"


def _steps_fit_kinds(spec: Spec) -> Iterator[Problem]:
    known = spec.column_kinds()
    for g_index, group in enumerate(spec.features.groups):
        kinds = {column: known[column] for column in group.columns if column in known}
        for s_index, step in enumerate(group.steps):
            loc = ("features", "groups", g_index, "steps", s_index)
            wrong = [c for c, kind in kinds.items() if step.accepts and kind != step.accepts]
            if wrong:
                listed = ", ".join(f"{c} ({kinds[c]})" for c in wrong)
                yield loc, f"step {step.type!r} needs {step.accepts} columns, got {listed}"
            categorical = [c for c, kind in kinds.items() if kind != "numeric"]
            if step.type == "impute" and step.strategy in ("mean", "median") and categorical:
                message = (
                    f"{step.strategy!r} needs numeric columns, got {', '.join(categorical)}; "
                    "use most_frequent or constant"
                )
                yield (*loc, "strategy"), message
            if step.produces is not None:
                kinds = dict.fromkeys(kinds, step.produces)


def _every_column_accounted_for(spec: Spec) -> Iterator[Problem]:
    grouped = {column for group in spec.features.groups for column in group.columns}
    for column in spec.feature_columns:
        if column not in grouped and not _feeds_derived_only(spec, column):
            yield (
                ("columns", column),
                (f"{column!r} is in no feature group; add it to a group or to features.drop"),
            )
    for index, derived in enumerate(spec.features.derived):
        used_later = any(derived.name in d.inputs() for d in spec.features.derived)
        if derived.name not in grouped and not used_later:
            yield (
                ("features", "derived", index, "name"),
                (f"derived feature {derived.name!r} is used by no group"),
            )


def _feeds_derived_only(spec: Spec, column: str) -> bool:
    return any(column in derived.inputs() for derived in spec.features.derived)


def _unique_names(spec: Spec) -> Iterator[Problem]:
    blocks: tuple[tuple[Location, list[str]], ...] = (
        (("models",), [model.name for model in spec.models]),
        (("features", "groups"), [group.name for group in spec.features.groups]),
    )
    for block, names in blocks:
        counts = Counter(names)
        first: set[str] = set()
        for index, name in enumerate(names):
            if counts[name] > 1 and name in first:
                yield (*block, index, "name"), f"duplicate name {name!r}; names must be unique"
            first.add(name)


def _metrics_reported(spec: Spec) -> Iterator[Problem]:
    reported = set(spec.evaluation.metrics)
    if spec.evaluation.selection_metric not in reported:
        yield (
            ("evaluation", "selection_metric"),
            (
                f"expected one of evaluation.metrics {sorted(reported)}, "
                f"got {spec.evaluation.selection_metric!r}"
            ),
        )
    for block in ("value", "change"):
        for index, threshold in enumerate(getattr(spec.gates, block)):
            if threshold.metric not in reported:
                yield (
                    ("gates", block, index, "metric"),
                    (
                        f"expected a metric listed in evaluation.metrics {sorted(reported)}, "
                        f"got {threshold.metric!r}"
                    ),
                )


def _ensemble_members(spec: Spec) -> Iterator[Problem]:
    from churn.spec.candidates import EnsembleSpec

    estimators = [m.name for m in spec.models if not isinstance(m, EnsembleSpec)]
    for index, model in enumerate(spec.models):
        if not isinstance(model, EnsembleSpec):
            continue
        counts = Counter(model.members)
        for m_index, member in enumerate(model.members):
            loc = ("models", index, "members", m_index)
            if member not in estimators:
                yield (
                    loc,
                    (
                        "expected the name of an estimator candidate "
                        f"(one of {', '.join(estimators)}), got {member!r}"
                    ),
                )
            elif counts[member] > 1 and model.members.index(member) != m_index:
                yield loc, f"{member!r} is listed twice"


def _search_spaces(spec: Spec) -> Iterator[Problem]:
    from churn.spec.candidates import EnsembleSpec
    from churn.spec.estimators import MODEL_REGISTRY

    for index, model in enumerate(spec.models):
        if isinstance(model, EnsembleSpec) or model.search is None:
            continue
        if model.type not in MODEL_REGISTRY:
            continue  # reported by the loader's parameter checks
        valid = set(MODEL_REGISTRY[model.type].factory().get_params(deep=False))
        for name in model.search.space:
            if name not in valid:
                yield (
                    ("models", index, "search", "space", name),
                    f"unknown parameter for {model.type}; "
                    f"expected one of {', '.join(sorted(valid))}",
                )


def _sizes_bounded(spec: Spec) -> Iterator[Problem]:
    """Column names and size parameters (``params`` and search spaces) within their bounds."""
    from churn.spec.bounds import MAX_NAME_CHARS, PARAM_BOUNDS
    from churn.spec.candidates import ChoiceSpace, EnsembleSpec, IntSpace

    for name in spec.columns:
        if len(name) > MAX_NAME_CHARS:
            yield ("columns", name), f"a column name may have at most {MAX_NAME_CHARS} characters"
    for index, model in enumerate(spec.models):
        if isinstance(model, EnsembleSpec):
            continue
        values: list[tuple[Location, object]] = [
            (("params", name), value) for name, value in model.params.items()
        ]
        for name, space in model.search.space.items() if model.search else ():
            loc: Location = ("search", "space", name)
            if isinstance(space, IntSpace):
                values.append(((*loc, "high"), space.high))
            elif isinstance(space, ChoiceSpace):
                values += [((*loc, "values", i), v) for i, v in enumerate(space.values)]
        for where, value in values:
            param = str(where[-1] if where[0] == "params" else where[2])
            bound = PARAM_BOUNDS.get(param)
            if bound is not None and _number_over(value, bound):
                yield (
                    ("models", index, *where),
                    f"{param} may be at most {bound:,} (a bound of this project), got {value!r}",
                )


def _number_over(value: object, bound: int) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > bound


def _costs_declared(spec: Spec) -> Iterator[Problem]:
    from churn.spec.base import COST_METRICS

    if spec.evaluation.costs is not None:
        return
    if spec.evaluation.threshold.strategy == "max_profit":
        yield (
            ("evaluation", "threshold", "strategy"),
            "max_profit needs an evaluation.costs block "
            "(retained_value, offer_cost, acceptance_rate)",
        )
    for index, metric in enumerate(spec.evaluation.metrics):
        if metric in COST_METRICS:
            yield ("evaluation", "metrics", index), f"{metric!r} needs an evaluation.costs block"
    for index, model in enumerate(spec.models):
        search = getattr(model, "search", None)
        if search is not None and search.metric in COST_METRICS:
            message = f"{search.metric!r} needs an evaluation.costs block"
            yield ("models", index, "search", "metric"), message
