"""The spec's ``features`` block: derived columns, feature steps and column groups."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Annotated, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from churn.spec.base import Kind, Scalar, StrictModel
from churn.spec.derived import (
    ClipFeature,
    CompareFeature,
    CountFeature,
    DerivedBase,
    Log1pFeature,
    MaxFeature,
    MeanFeature,
    MinFeature,
    PowerFeature,
    SumFeature,
)

# --------------------------------------------------------------------------- derived features


class RatioFeature(DerivedBase):
    """numerator / denominator; a zero denominator gives a missing value (impute it)."""

    type: Literal["ratio"] = Field(description="Discriminator.")
    numerator: str = Field(description="Numeric column on top.")
    denominator: str = Field(description="Numeric column below.")

    def inputs(self) -> list[str]:
        """Columns this feature reads."""
        return [self.numerator, self.denominator]


class DifferenceFeature(DerivedBase):
    """left - right."""

    type: Literal["difference"] = Field(description="Discriminator.")
    left: str = Field(description="Numeric column to subtract from.")
    right: str = Field(description="Numeric column to subtract.")

    def inputs(self) -> list[str]:
        """Columns this feature reads."""
        return [self.left, self.right]


class ProductFeature(DerivedBase):
    """The product of two or more numeric columns."""

    type: Literal["product"] = Field(description="Discriminator.")
    columns: list[str] = Field(min_length=2, description="Numeric columns to multiply.")

    def inputs(self) -> list[str]:
        """Columns this feature reads."""
        return list(self.columns)


class BinsFeature(DerivedBase):
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


class DaysBetweenFeature(DerivedBase):
    """Days from ``start`` to ``end`` (two datetime columns); fractional days count."""

    type: Literal["days_between"] = Field(description="Discriminator.")
    start: str = Field(description="The earlier datetime column.")
    end: str = Field(description="The later datetime column.")
    reads: ClassVar[Kind] = "datetime"

    def inputs(self) -> list[str]:
        """Columns this feature reads."""
        return [self.start, self.end]


class DaysSinceFeature(DerivedBase):
    """Days from a datetime column to a fixed reference date (e.g. the export date)."""

    type: Literal["days_since"] = Field(description="Discriminator.")
    column: str = Field(description="The datetime column.")
    reference: dt.date = Field(description="The reference date, YYYY-MM-DD.")
    reads: ClassVar[Kind] = "datetime"

    def inputs(self) -> list[str]:
        """Columns this feature reads."""
        return [self.column]


DerivedFeature = Annotated[
    RatioFeature
    | DifferenceFeature
    | ProductFeature
    | BinsFeature
    | DaysBetweenFeature
    | DaysSinceFeature
    | SumFeature
    | MeanFeature
    | MinFeature
    | MaxFeature
    | CountFeature
    | CompareFeature
    | ClipFeature
    | PowerFeature
    | Log1pFeature,
    Field(discriminator="type"),
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


class TargetEncodeStep(_Step):
    """Each category -> its smoothed churn rate (sklearn TargetEncoder), for many-level columns.

    Fitting cross-fits: a training row's encoding is learned on the other ``cv`` folds, never
    from its own label; new rows get the encoding learned on all training rows. An unseen
    category gets the overall churn rate.
    """

    type: Literal["target_encode"] = Field(description="Discriminator.")
    smooth: Literal["auto"] | float = Field(
        default="auto",
        description=(
            "Pull of a rare category towards the overall rate, a number >= 0; auto: "
            "empirical Bayes."
        ),
    )
    cv: int = Field(default=5, ge=2, description="Folds of the cross-fitting.")
    seed: int = Field(default=0, description="Seed of the cross-fitting's shuffled folds.")
    accepts: ClassVar[Kind | None] = "categorical"
    produces: ClassVar[Kind | None] = "numeric"

    @field_validator("smooth", mode="before")
    @classmethod
    def _auto_or_not_negative(cls, value: object) -> object:
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if value != "auto" and not (number and value >= 0):  # type: ignore[operator]
            raise ValueError(f"expected 'auto' or a number >= 0, got {value!r}")
        return value


FeatureStep = Annotated[
    ImputeStep | ScaleStep | LogStep | BinStep | OneHotStep | OrdinalStep | TargetEncodeStep,
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
