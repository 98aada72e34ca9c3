"""The spec: pydantic models of the YAML file that says everything about a churn model.

Every model is frozen and forbids unknown keys; polymorphic blocks (derived features, feature
steps, models) are discriminated unions on ``type``. Cross-field rules (a feature column that is
not declared, a numeric step on a categorical column, ...) live in :mod:`churn.spec.checks`;
:func:`churn.spec.loader.load_spec` runs both and reports every problem with its line.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Discriminator, Field, PrivateAttr, Tag, ValidationInfo, model_validator

from churn.errors import SpecError
from churn.spec.base import (
    DType,
    Kind,
    Scalar,
    StrictModel,
    kind_of,
)
from churn.spec.bounds import MAX_CANDIDATES, MAX_COLUMNS
from churn.spec.compute import ComputeSpec
from churn.spec.evaluation import (
    Candidate,
    EvaluationSpec,
    GatesSpec,
    OutputSpec,
    PromotionSpec,
)
from churn.spec.features import (
    FeaturesSpec,
)
from churn.spec.monitoring import MonitoringSpec
from churn.spec.sources import SqlSource
from churn.spec.survival import (
    DEFAULT_SURVIVAL_SELECTION,
    SurvivalTargetSpec,
    plain_horizons,
)

if TYPE_CHECKING:
    import pandas as pd

    from churn.spec.yaml_lines import LocatedYaml

# --------------------------------------------------------------------------- data

ROW_NUMBER = "row"
"""Name of the row-number identifier used when the spec declares no ``data.id``."""


class TargetSpec(StrictModel):
    """The label column and which of its values means 'this customer left'."""

    kind: Literal["classification"] = Field(
        default="classification",
        exclude=True,
        description="Discriminator: whether a customer left (the default); see survival.",
    )
    column: str = Field(description="Name of the label column.")
    positive: Scalar = Field(description="The value of the label column that means churned.")


def _target_kind(value: object) -> str:
    """``kind`` of a target, ``classification`` when absent (every spec before survival)."""
    kind = value.get("kind", "classification") if isinstance(value, dict) else None
    if kind is None:
        kind = getattr(value, "kind", "classification")
    return kind if isinstance(kind, str) else repr(kind)


Target = Annotated[
    Annotated[TargetSpec, Tag("classification")] | Annotated[SurvivalTargetSpec, Tag("survival")],
    Discriminator(
        _target_kind,
        custom_error_type="target_kind",
        custom_error_message="expected kind classification (the default) or survival",
    ),
]
"""The label of a classifier, or the duration and event of a time-to-churn (survival) target."""


class ReadOptions(StrictModel):
    """How to read the source file."""

    na_values: list[str] = Field(
        default_factory=list,
        description="Extra strings read as missing (the Telco file writes ' ' for no charges).",
    )
    delimiter: str = Field(default=",", min_length=1, max_length=1, description="CSV delimiter.")
    encoding: str = Field(default="utf-8", description="Text encoding of a CSV file.")


class DataSpec(StrictModel):
    """Where the data is and which columns identify a customer and carry the label."""

    source: str | SqlSource = Field(
        description="Path to a .csv or .parquet file, relative to the spec file; or a "
        "database: {kind: sql, url_env | url_file, query | table}."
    )
    format: Literal["csv", "parquet"] | None = Field(
        default=None, description="File format; inferred from the file suffix when omitted."
    )
    read: ReadOptions = Field(default_factory=ReadOptions, description="Read options.")
    id: str | None = Field(
        default=None,
        description=(
            "Column that identifies a customer; must be unique. Without one, a customer is "
            "identified by its row number (1 = the first data row) in predictions and reports."
        ),
    )
    target: Target = Field(
        description="The label column and its positive value; or, with kind: survival, the "
        "duration and event columns and the horizons."
    )


class ColumnSpec(StrictModel):
    """The contract for one input column."""

    dtype: DType = Field(
        description="int, float, bool (numeric); str, category (categorical); or datetime."
    )
    format: str | None = Field(
        default=None,
        description="datetime: the strftime format of the values (e.g. '%Y-%m-%d'); ISO 8601 "
        "when omitted.",
    )
    nullable: bool = Field(default=False, description="Whether missing values are allowed.")
    unique: bool = Field(default=False, description="Whether every value must be distinct.")
    values: list[Scalar] | None = Field(
        default=None, min_length=1, description="The allowed values; any other value is an error."
    )
    min: float | None = Field(default=None, description="Smallest allowed value (inclusive).")
    max: float | None = Field(default=None, description="Largest allowed value (inclusive).")
    allow_inf: bool = Field(
        default=False,
        description=(
            "float only: whether inf and -inf (also text like 1e309 that overflows to inf) are "
            "allowed; by default a non-finite number breaks the contract."
        ),
    )
    description: str | None = Field(default=None, description="What the column means.")

    @property
    def kind(self) -> Kind:
        """numeric, categorical or datetime, from the dtype."""
        return kind_of(self.dtype)

    @model_validator(mode="after")
    def _range_fits_dtype(self) -> ColumnSpec:
        if (self.min is not None or self.max is not None) and self.kind != "numeric":
            raise ValueError(f"min/max need a numeric dtype, got dtype {self.dtype!r}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min must be <= max, got min={self.min} max={self.max}")
        if self.format is not None and self.dtype != "datetime":
            raise ValueError(f"format needs dtype datetime, got dtype {self.dtype!r}")
        if self.values is not None and self.dtype == "datetime":
            raise ValueError("values cannot restrict a datetime column")
        if self.allow_inf and self.dtype != "float":
            raise ValueError(f"allow_inf needs dtype float, got dtype {self.dtype!r}")
        return self


# --------------------------------------------------------------------------- the spec


class Spec(StrictModel):
    """A churn model, end to end."""

    version: Literal[1] = Field(description="Spec format version; this library reads 1.")
    name: str = Field(min_length=1, description="Name of the model; used in the registry.")
    description: str | None = Field(default=None, description="What this spec is for.")
    data: DataSpec = Field(description="The data source, id and target.")
    columns: dict[str, ColumnSpec] = Field(
        min_length=1,
        max_length=MAX_COLUMNS,
        description="Every input column and its contract.",
    )
    features: FeaturesSpec = Field(description="Derived features, groups and steps, drops.")
    models: list[Candidate] = Field(
        min_length=1,
        max_length=MAX_CANDIDATES,
        description="The candidate models and ensembles of them.",
    )
    evaluation: EvaluationSpec = Field(
        default_factory=EvaluationSpec, description="Split, CV, metrics, threshold."
    )
    gates: GatesSpec = Field(default_factory=GatesSpec, description="Quality gates.")
    promotion: PromotionSpec = Field(default_factory=PromotionSpec, description="Promotion policy.")
    output: OutputSpec = Field(
        default_factory=OutputSpec, description="Predictions, report and EDA settings."
    )
    compute: ComputeSpec = Field(
        default_factory=ComputeSpec,
        description="Where training runs: this machine, or a Dask cluster (scheduler address).",
    )
    monitoring: MonitoringSpec = Field(
        default_factory=MonitoringSpec,
        description="Drift thresholds, the serving window, outcome horizon, champion age limit.",
    )

    _base_dir: Path | None = PrivateAttr(default=None)
    _lines: tuple[str, LocatedYaml] | None = PrivateAttr(default=None)

    def located_at(self, base_dir: Path, lines: tuple[str, LocatedYaml] | None = None) -> Spec:
        """A copy whose relative data path resolves from ``base_dir`` (the spec file's folder);
        ``lines`` (the spec file's name and its located YAML) lets :meth:`place` name lines."""
        copy = self.model_copy()
        copy._base_dir = base_dir
        copy._lines = lines if lines is not None else self._lines
        return copy

    def place(self, *loc: str | int) -> str:
        """``spec.yaml:23: evaluation.cv_folds``: where a value of this spec is written (the
        line of the closest key the file has; no file and line for a spec built in code)."""
        from churn.spec.yaml_lines import format_path

        path = format_path(loc)
        if self._lines is None:
            return path
        source, located = self._lines
        line = located.line_of(loc)
        return f"{source}:{line}: {path}" if line else f"{source}: {path}"

    def candidate(self, name: str) -> Candidate:
        """The ``models`` entry called ``name``.

        Raises:
            SpecError: No candidate has that name (the message lists the ones there are).
        """
        for model in self.models:
            if model.name == name:
                return model
        known = ", ".join(model.name for model in self.models)
        raise SpecError(
            [f"{self.place('models')}: no candidate named {name!r} (the spec has {known})"]
        )

    @property
    def folder(self) -> Path:
        """The spec file's folder (the cwd for a spec built in code): relative paths start here."""
        return self._base_dir or Path.cwd()

    @property
    def source_path(self) -> Path:
        """The data file, resolved against the spec file's folder (or the cwd); for a SQL
        source a name that is no file (``<sql query>``), for messages and output checks."""
        if isinstance(self.data.source, SqlSource):
            return Path(f"<{self.data.source.label}>")
        source = Path(self.data.source)
        base = self._base_dir or Path.cwd()
        return source if source.is_absolute() else (base / source).resolve()

    @property
    def sql_source(self) -> SqlSource | None:
        """The database source, or None when the data is a file."""
        source = self.data.source
        return source if isinstance(source, SqlSource) else None

    @property
    def feature_columns(self) -> list[str]:
        """Input columns the model reads (id, target, a survival target's duration and dropped
        columns excluded), in order."""
        excluded = {self.data.id, *self.target_columns, *self.features.drop} - {None}
        return [name for name in self.columns if name not in excluded]

    @property
    def survival_target(self) -> SurvivalTargetSpec | None:
        """The time-to-churn target, or None for a classifier spec."""
        target = self.data.target
        return target if isinstance(target, SurvivalTargetSpec) else None

    @property
    def target_columns(self) -> tuple[str, ...]:
        """The columns that make the outcome: the label, or the event and the duration."""
        survival = self.survival_target
        if survival is not None:
            return (survival.event, survival.duration)
        return (self.data.target.column,)

    @model_validator(mode="before")
    @classmethod
    def _survival_metric_defaults(cls, raw: Any) -> Any:
        """A survival spec reports every survival metric and selects on harrell_c unless it
        says otherwise (the classifier defaults would name metrics it cannot compute)."""
        if not isinstance(raw, dict):
            return raw
        data = raw.get("data")
        target = data.get("target") if isinstance(data, dict) else None
        if not isinstance(target, dict) or target.get("kind") != "survival":
            return raw
        evaluation = raw.get("evaluation", {})
        if not isinstance(evaluation, dict):
            return raw
        defaults: dict[str, Any] = {
            "selection_metric": DEFAULT_SURVIVAL_SELECTION,
            "metrics": SurvivalTargetSpec.metrics_at(plain_horizons(target.get("horizons"))),
        }
        return {**raw, "evaluation": {**defaults, **evaluation}}

    @model_validator(mode="after")
    def _cross_field_rules(self, info: ValidationInfo) -> Spec:
        from churn.spec.checks import ESTIMATOR_CHECKS, SpecProblems, find_problems

        problems = find_problems(self, estimators=(info.context or {}).get(ESTIMATOR_CHECKS, True))
        if problems:
            raise SpecProblems(problems)
        return self

    def row_ids(self, frame: pd.DataFrame) -> pd.Series:
        """What identifies each row: the id column, or the row number (1 = first data row)."""
        import numpy as np
        import pandas as pd

        if self.data.id is not None:
            return frame[self.data.id]
        return pd.Series(np.arange(1, len(frame) + 1), index=frame.index, name=ROW_NUMBER)

    def column_kinds(self) -> dict[str, Kind]:
        """Kind of every declared and derived column."""
        kinds: dict[str, Kind] = {name: col.kind for name, col in self.columns.items()}
        for derived in self.features.derived:
            kinds[derived.name] = derived.produces
        return kinds
