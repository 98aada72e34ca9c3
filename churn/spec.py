"""The spec: pydantic models of the YAML file that says everything about a churn model.

Every model is frozen and forbids unknown keys; polymorphic blocks (derived features, feature
steps, models) are discriminated unions on ``type``. Cross-field rules (a feature column that is
not declared, a numeric step on a categorical column, ...) live in :mod:`churn.spec_checks`;
:func:`churn.spec_loader.load_spec` runs both and reports every problem with its line.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

SPEC_VERSION = 1

Metric = Literal[
    "accuracy",
    "balanced_accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "pr_auc",
    "brier",
    "log_loss",
]
LOWER_IS_BETTER: frozenset[str] = frozenset({"brier", "log_loss"})
"""Metrics where a smaller value is better; every other metric is higher-is-better."""

DEFAULT_METRICS: tuple[Metric, ...] = (
    "accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "pr_auc",
    "brier",
)

DType = Literal["int", "float", "bool", "str", "category"]
NUMERIC_DTYPES: frozenset[str] = frozenset({"int", "float", "bool"})

Kind = Literal["numeric", "categorical"]
Scalar = str | int | float | bool


class StrictModel(BaseModel):
    """Base of every spec model: immutable, and unknown keys are errors, not silently dropped."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------- data


class TargetSpec(StrictModel):
    """The label column and which of its values means 'this customer left'."""

    column: str = Field(description="Name of the label column.")
    positive: Scalar = Field(description="The value of the label column that means churned.")


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

    source: str = Field(description="Path to a .csv or .parquet file, relative to the spec file.")
    format: Literal["csv", "parquet"] | None = Field(
        default=None, description="File format; inferred from the file suffix when omitted."
    )
    read: ReadOptions = Field(default_factory=ReadOptions, description="Read options.")
    id: str = Field(description="Column that identifies a customer; must be unique.")
    target: TargetSpec = Field(description="The label column and its positive value.")


class ColumnSpec(StrictModel):
    """The contract for one input column."""

    dtype: DType = Field(description="int, float, bool (numeric) or str, category (categorical).")
    nullable: bool = Field(default=False, description="Whether missing values are allowed.")
    unique: bool = Field(default=False, description="Whether every value must be distinct.")
    values: list[Scalar] | None = Field(
        default=None, min_length=1, description="The allowed values; any other value is an error."
    )
    min: float | None = Field(default=None, description="Smallest allowed value (inclusive).")
    max: float | None = Field(default=None, description="Largest allowed value (inclusive).")
    description: str | None = Field(default=None, description="What the column means.")

    @property
    def kind(self) -> Kind:
        """numeric or categorical, from the dtype."""
        return "numeric" if self.dtype in NUMERIC_DTYPES else "categorical"

    @model_validator(mode="after")
    def _range_fits_dtype(self) -> ColumnSpec:
        if (self.min is not None or self.max is not None) and self.kind != "numeric":
            raise ValueError(f"min/max need a numeric dtype, got dtype {self.dtype!r}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min must be <= max, got min={self.min} max={self.max}")
        return self


# --------------------------------------------------------------------------- derived features


class _Derived(StrictModel):
    name: str = Field(min_length=1, description="Name of the new column.")
    produces: ClassVar[Kind] = "numeric"

    def inputs(self) -> list[str]:
        """Columns this feature reads."""
        raise NotImplementedError


class RatioFeature(_Derived):
    """numerator / denominator; a zero denominator gives a missing value (impute it)."""

    type: Literal["ratio"] = Field(description="Discriminator.")
    numerator: str = Field(description="Numeric column on top.")
    denominator: str = Field(description="Numeric column below.")

    def inputs(self) -> list[str]:
        """Columns this feature reads."""
        return [self.numerator, self.denominator]


class DifferenceFeature(_Derived):
    """left - right."""

    type: Literal["difference"] = Field(description="Discriminator.")
    left: str = Field(description="Numeric column to subtract from.")
    right: str = Field(description="Numeric column to subtract.")

    def inputs(self) -> list[str]:
        """Columns this feature reads."""
        return [self.left, self.right]


class ProductFeature(_Derived):
    """The product of two or more numeric columns."""

    type: Literal["product"] = Field(description="Discriminator.")
    columns: list[str] = Field(min_length=2, description="Numeric columns to multiply.")

    def inputs(self) -> list[str]:
        """Columns this feature reads."""
        return list(self.columns)


class BinsFeature(_Derived):
    """Cut a numeric column at fixed edges into labelled buckets (a categorical column)."""

    type: Literal["bins"] = Field(description="Discriminator.")
    column: str = Field(description="Numeric column to cut.")
    edges: list[float] = Field(
        min_length=2, description="Increasing bucket edges; values outside them are missing."
    )
    labels: list[str] | None = Field(
        default=None, description="One label per bucket (len(edges) - 1); default 'a-b'."
    )
    right: bool = Field(default=True, description="Whether buckets include their right edge.")
    produces: ClassVar[Kind] = "categorical"

    def inputs(self) -> list[str]:
        """Columns this feature reads."""
        return [self.column]

    @model_validator(mode="after")
    def _edges_increase(self) -> BinsFeature:
        if any(b <= a for a, b in itertools.pairwise(self.edges)):
            raise ValueError(f"edges must increase strictly, got {self.edges}")
        if self.labels is not None and len(self.labels) != len(self.edges) - 1:
            raise ValueError(
                f"labels needs {len(self.edges) - 1} entries (one per bucket), "
                f"got {len(self.labels)}"
            )
        return self


DerivedFeature = Annotated[
    RatioFeature | DifferenceFeature | ProductFeature | BinsFeature, Field(discriminator="type")
]

# --------------------------------------------------------------------------- feature steps


class _Step(StrictModel):
    accepts: ClassVar[Kind | None] = None
    """The column kind the step needs, or None for any."""
    produces: ClassVar[Kind | None] = None
    """The kind of the step's output, or None when it keeps the input's kind."""


class ImputeStep(_Step):
    """Fill missing values (sklearn SimpleImputer)."""

    type: Literal["impute"] = Field(description="Discriminator.")
    strategy: Literal["mean", "median", "most_frequent", "constant"] = Field(
        default="median", description="How to fill; mean and median need numeric columns."
    )
    fill_value: Scalar | None = Field(default=None, description="The value for 'constant'.")
    add_indicator: bool = Field(
        default=False, description="Add a 0/1 column saying where a value was missing."
    )


class ScaleStep(_Step):
    """Scale numeric columns."""

    type: Literal["scale"] = Field(description="Discriminator.")
    method: Literal["standard", "minmax", "robust"] = Field(
        default="standard", description="StandardScaler, MinMaxScaler or RobustScaler."
    )
    accepts: ClassVar[Kind | None] = "numeric"


class LogStep(_Step):
    """log(1 + x) of numeric columns (values must be > -1)."""

    type: Literal["log"] = Field(description="Discriminator.")
    accepts: ClassVar[Kind | None] = "numeric"


class BinStep(_Step):
    """Learn bucket edges from the training data (sklearn KBinsDiscretizer)."""

    type: Literal["bin"] = Field(description="Discriminator.")
    n_bins: int = Field(default=5, ge=2, description="Number of buckets.")
    strategy: Literal["quantile", "uniform", "kmeans"] = Field(
        default="quantile", description="How edges are placed."
    )
    encode: Literal["onehot-dense", "ordinal"] = Field(
        default="onehot-dense", description="One 0/1 column per bucket, or the bucket number."
    )
    accepts: ClassVar[Kind | None] = "numeric"
    produces: ClassVar[Kind | None] = "numeric"


class OneHotStep(_Step):
    """One 0/1 column per category (sklearn OneHotEncoder)."""

    type: Literal["one_hot"] = Field(description="Discriminator.")
    handle_unknown: Literal["ignore", "infrequent_if_exist", "error"] = Field(
        default="ignore", description="What a category unseen in training becomes."
    )
    drop: Literal["first", "if_binary"] | None = Field(
        default=None, description="Drop one column per feature (first) or per binary feature."
    )
    min_frequency: int | float | None = Field(
        default=None, description="Categories rarer than this are grouped as infrequent."
    )
    produces: ClassVar[Kind | None] = "numeric"


class OrdinalStep(_Step):
    """Map categories to integers in a declared order (sklearn OrdinalEncoder)."""

    type: Literal["ordinal"] = Field(description="Discriminator.")
    categories: list[list[Scalar]] | None = Field(
        default=None,
        description="Per column, the categories in order; learned (sorted) when omitted.",
    )
    produces: ClassVar[Kind | None] = "numeric"


FeatureStep = Annotated[
    ImputeStep | ScaleStep | LogStep | BinStep | OneHotStep | OrdinalStep,
    Field(discriminator="type"),
]


class FeatureGroup(StrictModel):
    """Columns that share one ordered list of steps."""

    name: str = Field(min_length=1, description="Name of the group (unique).")
    columns: list[str] = Field(min_length=1, description="Declared or derived columns.")
    steps: list[FeatureStep] = Field(
        default_factory=list, description="Applied in order; no steps passes columns through."
    )


class FeaturesSpec(StrictModel):
    """How input columns become the model's features."""

    derived: list[DerivedFeature] = Field(
        default_factory=list, description="New columns computed from declared ones, in order."
    )
    groups: list[FeatureGroup] = Field(min_length=1, description="Column groups and their steps.")
    drop: list[str] = Field(
        default_factory=list,
        description="Declared columns the model does not use; every other one must be in a group.",
    )


# --------------------------------------------------------------------------- models

ModelType = Literal[
    "logistic_regression",
    "random_forest",
    "extra_trees",
    "hist_gradient_boosting",
    "xgboost",
    "dummy",
]


class ModelSpec(StrictModel):
    """One candidate model."""

    name: str = Field(min_length=1, description="Candidate name (unique).")
    type: ModelType = Field(description="Which estimator; see churn.models.MODEL_REGISTRY.")
    params: dict[str, Scalar | None] = Field(
        default_factory=dict, description="Estimator keyword arguments, checked by the estimator."
    )
    class_balance: Literal["none", "balanced"] = Field(
        default="none",
        description=(
            "balanced: class weights inversely proportional to class frequency "
            "(xgboost: scale_pos_weight = negatives / positives of the training labels)."
        ),
    )


# --------------------------------------------------------------------------- evaluation


class SplitSpec(StrictModel):
    """How the hold-out is drawn."""

    test_size: float = Field(default=0.2, gt=0, lt=1, description="Fraction held out.")
    stratify: bool = Field(default=True, description="Keep the class balance in both parts.")
    seed: int = Field(default=42, ge=0, description="Seed of the split, the folds and the models.")
    time_column: str | None = Field(
        default=None,
        description="If set, the hold-out is the latest test_size fraction by this column.",
    )


class ThresholdSpec(StrictModel):
    """The probability above which a customer is flagged as churning."""

    strategy: Literal["fixed", "tuned"] = Field(
        default="fixed", description="fixed: use value; tuned: maximise metric by CV on train."
    )
    value: float = Field(default=0.5, gt=0, lt=1, description="The fixed threshold.")
    metric: Literal["f1", "balanced_accuracy", "precision", "recall", "accuracy"] = Field(
        default="f1", description="What a tuned threshold maximises."
    )


class EvaluationSpec(StrictModel):
    """How candidates are scored and the winner chosen."""

    split: SplitSpec = Field(default_factory=SplitSpec, description="The hold-out split.")
    cv_folds: int = Field(default=5, ge=2, le=20, description="Folds of CV on the training part.")
    selection_metric: Metric = Field(
        default="roc_auc", description="CV-mean metric that picks the winner."
    )
    metrics: list[Metric] = Field(
        default_factory=lambda: list(DEFAULT_METRICS),
        min_length=1,
        description="Metrics reported for CV and hold-out.",
    )
    threshold: ThresholdSpec = Field(
        default_factory=ThresholdSpec, description="Decision threshold."
    )


# --------------------------------------------------------------------------- gates & promotion


class ValueThreshold(StrictModel):
    """Pass iff lower <= value <= upper on the hold-out (an unset bound is infinite)."""

    metric: Metric = Field(description="A reported metric.")
    lower: float | None = Field(default=None, description="Smallest passing value (inclusive).")
    upper: float | None = Field(default=None, description="Largest passing value (inclusive).")

    @model_validator(mode="after")
    def _has_a_bound(self) -> ValueThreshold:
        if self.lower is None and self.upper is None:
            raise ValueError("set lower, upper or both")
        if self.lower is not None and self.upper is not None and self.lower > self.upper:
            raise ValueError(f"lower must be <= upper, got {self.lower} > {self.upper}")
        return self


class ChangeThreshold(StrictModel):
    """Compare with the champion re-scored on the same hold-out: d = candidate - champion."""

    metric: Metric = Field(description="A reported metric.")
    direction: Literal["higher", "lower"] | None = Field(
        default=None, description="Which way is better; defaults to the metric's own."
    )
    min_absolute_change: float = Field(
        default=0.0,
        description="Needs d >= this (higher) or -d >= this (lower); 0 = at least as good.",
    )
    min_relative_change: float | None = Field(
        default=None, description="Needs d / |champion| >= this (sign flipped for lower)."
    )


class GatesSpec(StrictModel):
    """Quality gates: a run whose winner fails one is a failed run."""

    value: list[ValueThreshold] = Field(
        default_factory=list, description="Absolute thresholds on hold-out metrics."
    )
    change: list[ChangeThreshold] = Field(
        default_factory=list, description="Thresholds on the change versus the champion."
    )
    when_empty: Literal["fail", "pass"] = Field(
        default="fail",
        description="With no thresholds at all: fail the run, or pass and say so in the record.",
    )


class PromotionSpec(StrictModel):
    """When a winner that passed the gates replaces the champion."""

    first_run: Literal["promote", "hold"] = Field(
        default="promote",
        description=(
            "With no champion yet: promote on the value gates alone, or hold for `churn promote`."
        ),
    )
    on_regression: Literal["fail", "keep_champion"] = Field(
        default="keep_champion",
        description=(
            "When only the change thresholds fail: keep the champion and succeed, or fail the run."
        ),
    )


# --------------------------------------------------------------------------- outputs


class OutputSpec(StrictModel):
    """What a run writes besides metrics and the model."""

    predictions: Literal["holdout", "all"] = Field(
        default="holdout",
        description="Score the hold-out only, or every row of the input, in predictions.csv.",
    )
    top_at_risk: int = Field(
        default=25, ge=1, le=1000, description="How many at-risk customers the report lists."
    )
    eda_max_rows: int = Field(
        default=50_000, ge=1000, description="EDA samples this many rows from larger inputs."
    )


# --------------------------------------------------------------------------- the spec


class Spec(StrictModel):
    """A churn model, end to end."""

    version: Literal[1] = Field(description="Spec format version; this library reads 1.")
    name: str = Field(min_length=1, description="Name of the model; used in the registry.")
    description: str | None = Field(default=None, description="What this spec is for.")
    data: DataSpec = Field(description="The data source, id and target.")
    columns: dict[str, ColumnSpec] = Field(
        min_length=1, description="Every input column and its contract."
    )
    features: FeaturesSpec = Field(description="Derived features, groups and steps, drops.")
    models: list[ModelSpec] = Field(min_length=1, description="The candidate models.")
    evaluation: EvaluationSpec = Field(
        default_factory=EvaluationSpec, description="Split, CV, metrics, threshold."
    )
    gates: GatesSpec = Field(default_factory=GatesSpec, description="Quality gates.")
    promotion: PromotionSpec = Field(default_factory=PromotionSpec, description="Promotion policy.")
    output: OutputSpec = Field(
        default_factory=OutputSpec, description="Predictions, report and EDA settings."
    )

    _base_dir: Path | None = PrivateAttr(default=None)

    def located_at(self, base_dir: Path) -> Spec:
        """A copy whose relative data path resolves from ``base_dir`` (the spec file's folder)."""
        copy = self.model_copy()
        copy._base_dir = base_dir
        return copy

    @property
    def source_path(self) -> Path:
        """The data file, resolved against the spec file's folder (or the cwd)."""
        source = Path(self.data.source)
        base = self._base_dir or Path.cwd()
        return source if source.is_absolute() else (base / source).resolve()

    @property
    def feature_columns(self) -> list[str]:
        """Input columns the model reads (id, target and dropped columns excluded), in order."""
        excluded = {self.data.id, self.data.target.column, *self.features.drop}
        return [name for name in self.columns if name not in excluded]

    @model_validator(mode="after")
    def _cross_field_rules(self) -> Spec:
        from churn.spec_checks import SpecProblems, find_problems

        problems = find_problems(self)
        if problems:
            raise SpecProblems(problems)
        return self

    def column_kinds(self) -> dict[str, Kind]:
        """Kind of every declared and derived column."""
        kinds: dict[str, Kind] = {name: col.kind for name, col in self.columns.items()}
        for derived in self.features.derived:
            kinds[derived.name] = derived.produces
        return kinds
