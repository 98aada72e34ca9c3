"""The spec's candidate models, evaluation, quality gates, promotion policy and outputs."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from churn.spec.base import DEFAULT_METRICS, Metric, Scalar, StrictModel
from churn.spec.bounds import MAX_NAME_CHARS, MAX_SEED
from churn.spec.candidates import CalibrationSpec, EnsembleSpec, ResampleSpec, SearchSpec
from churn.spec.gate_tests import GateTests, GateTestsSpec
from churn.spec.slices import SliceSpec
from churn.spec.survival import SurvivalMetric

# --------------------------------------------------------------------------- models

ModelType = Literal[
    "logistic_regression",
    "random_forest",
    "extra_trees",
    "hist_gradient_boosting",
    "xgboost",
    "dummy",
    # survival models (need data.target.kind: survival; churn.spec.survival)
    "cox",
    "xgb_cox",
    "xgb_aft",
    "gradient_boosting_survival",
    "random_survival_forest",
]


class ModelSpec(StrictModel):
    """One candidate model."""

    name: str = Field(
        min_length=1, max_length=MAX_NAME_CHARS, description="Candidate name (unique)."
    )
    type: ModelType = Field(description="Which estimator (churn.spec.estimators.MODEL_REGISTRY).")
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
    search: SearchSpec | None = Field(
        default=None, description="Search these parameters on the training part before fitting."
    )
    calibration: CalibrationSpec | None = Field(
        default=None, description="Calibrate the probabilities (CalibratedClassifierCV)."
    )
    resample: ResampleSpec | None = Field(
        default=None,
        description="Resample the training folds only (imbalanced-learn), never scored rows.",
    )
    distributed: bool = Field(
        default=False,
        description=(
            "xgboost only: when the run trains on a Dask cluster, every fit of this candidate "
            "spreads over all the cluster's workers (xgboost.dask), for a matrix too big for "
            "one worker; its CV folds and search trials then run one after another. Without a "
            "cluster, and as an ensemble's member, an ordinary fit."
        ),
    )

    @model_validator(mode="after")
    def _distributed_is_xgboost(self) -> ModelSpec:
        if self.distributed and self.type != "xgboost":
            raise ValueError(f"distributed: true needs type xgboost, got type {self.type!r}")
        return self


ENSEMBLE_TYPES: frozenset[str] = frozenset({"soft_voting", "stacking", "survival_average"})


Candidate = Annotated[ModelSpec | EnsembleSpec, Field(discriminator="type")]
"""An estimator candidate or an ensemble of other candidates (``type`` decides which)."""


# --------------------------------------------------------------------------- evaluation


class SplitSpec(StrictModel):
    """How the hold-out is drawn."""

    test_size: float = Field(default=0.2, gt=0, lt=1, description="Fraction held out.")
    stratify: bool = Field(default=True, description="Keep the class balance in both parts.")
    seed: int = Field(
        default=42,
        ge=0,
        le=MAX_SEED,
        description="Seed of the split, the folds and the models (numpy takes 0 to 2**32 - 1).",
    )
    time_column: str | None = Field(
        default=None,
        description="If set, the hold-out is the latest test_size fraction by this column.",
    )
    min_class_rows: int = Field(
        default=10,
        ge=1,
        le=1_000_000,
        description=(
            "Fewest rows of each class the hold-out must hold to judge a model; a smaller "
            "hold-out is a data error (more data, or a larger test_size)."
        ),
    )


class FixedThreshold(StrictModel):
    """A threshold given in the spec."""

    strategy: Literal["fixed"] = Field(description="Discriminator.")
    value: float = Field(default=0.5, gt=0, lt=1, description="The fixed threshold.")


class TunedThreshold(StrictModel):
    """The threshold that maximises a metric over CV folds of the training part."""

    strategy: Literal["tuned"] = Field(description="Discriminator.")
    metric: Literal["f1", "balanced_accuracy", "precision", "recall", "accuracy"] = Field(
        default="f1", description="What the threshold maximises."
    )


class ProfitThreshold(StrictModel):
    """The threshold that maximises expected profit (needs ``evaluation.costs``)."""

    strategy: Literal["max_profit"] = Field(description="Discriminator.")


class MinRecallThreshold(StrictModel):
    """The threshold with the best precision among those whose recall is at least ``recall``."""

    strategy: Literal["min_recall"] = Field(description="Discriminator.")
    recall: float = Field(gt=0, le=1, description="Smallest acceptable recall (training CV).")


class MinPrecisionThreshold(StrictModel):
    """The threshold with the best recall among those whose precision is at least ``precision``."""

    strategy: Literal["min_precision"] = Field(description="Discriminator.")
    precision: float = Field(gt=0, le=1, description="Smallest acceptable precision (training CV).")


ThresholdSpec = Annotated[
    FixedThreshold | TunedThreshold | ProfitThreshold | MinRecallThreshold | MinPrecisionThreshold,
    Field(discriminator="strategy"),
]
"""How the decision threshold is chosen; all but fixed are tuned on training folds only."""


class CostsSpec(StrictModel):
    """What a retention offer costs and earns: gain = TP x (accept x value - cost) - FP x cost."""

    retained_value: float = Field(gt=0, description="Value of a churner who is kept.")
    offer_cost: float = Field(ge=0, description="Cost of one retention offer (to anyone flagged).")
    acceptance_rate: float = Field(
        gt=0, le=1, description="Share of flagged churners who accept the offer and stay."
    )


class EvaluationSpec(StrictModel):
    """How candidates are scored and the winner chosen."""

    split: SplitSpec = Field(default_factory=SplitSpec, description="The hold-out split.")
    cv_folds: int = Field(default=5, ge=2, le=20, description="Folds of CV on the training part.")
    selection_metric: Metric | SurvivalMetric = Field(
        default="roc_auc",
        description="CV-mean metric that picks the winner (survival: harrell_c by default).",
    )
    metrics: list[Metric | SurvivalMetric] = Field(
        default_factory=lambda: list[str](DEFAULT_METRICS),
        min_length=1,
        description="Metrics reported for CV and hold-out (survival: every survival metric).",
    )
    threshold: ThresholdSpec = Field(
        default_factory=lambda: FixedThreshold(strategy="fixed"),
        description="Decision threshold policy.",
    )
    costs: CostsSpec | None = Field(
        default=None, description="Offer economics, for max_profit and the profit metric."
    )


# --------------------------------------------------------------------------- gates & promotion


class ValueThreshold(StrictModel):
    """Pass iff lower <= value <= upper on the hold-out (an unset bound is infinite)."""

    metric: Metric | SurvivalMetric = Field(description="A reported metric.")
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

    metric: Metric | SurvivalMetric = Field(description="A reported metric.")
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
    slices: list[SliceSpec] = Field(
        default_factory=list,
        description="Metric per segment of a column, gated by a bound and/or versus the champion.",
    )
    tests: GateTests = Field(
        default_factory=GateTestsSpec,
        description=(
            "pytest gate tests beside the spec (a list of paths, or the block with time limits); "
            "a failing or erroring test fails the gates like a failed threshold."
        ),
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
    evaluation_max_rows: int = Field(
        default=100_000,
        ge=1000,
        description=(
            "Evaluation plots (curves, calibration, confusion, gains, thresholds, profit) draw a "
            "seeded stratified sample of this many hold-out rows from larger hold-outs; the "
            "recorded metrics always use every hold-out row."
        ),
    )
    importance_max_rows: int = Field(
        default=1000,
        ge=100,
        description=(
            "Permutation importance shuffles the columns of a seeded stratified sample of this "
            "many hold-out rows (each shuffle re-scores them all)."
        ),
    )
