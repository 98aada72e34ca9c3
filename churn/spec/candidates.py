"""Options of one candidate: hyper-parameter search, calibration, resampling; and ensembles."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from churn.spec.base import Metric, Scalar, StrictModel
from churn.spec.bounds import MAX_CANDIDATES, MAX_NAME_CHARS, MAX_SEARCH_VALUES
from churn.spec.survival import SurvivalMetric

# --------------------------------------------------------------------------- search space


class ChoiceSpace(StrictModel):
    """Pick one of the listed values."""

    type: Literal["choice"] = Field(description="Discriminator.")
    values: list[Scalar | None] = Field(
        min_length=1, max_length=MAX_SEARCH_VALUES, description="The values to choose from."
    )


class IntSpace(StrictModel):
    """A whole number drawn uniformly from [low, high] (both inclusive)."""

    type: Literal["int"] = Field(description="Discriminator.")
    low: int = Field(description="Smallest value (inclusive).")
    high: int = Field(description="Largest value (inclusive).")

    @model_validator(mode="after")
    def _ordered(self) -> IntSpace:
        if self.low > self.high:
            raise ValueError(f"low must be <= high, got {self.low} > {self.high}")
        return self


class FloatSpace(StrictModel):
    """A real number drawn from [low, high], uniformly or log-uniformly."""

    type: Literal["float"] = Field(description="Discriminator.")
    low: float = Field(description="Smallest value.")
    high: float = Field(description="Largest value.")
    log: bool = Field(default=False, description="Draw log-uniformly (needs low > 0).")

    @model_validator(mode="after")
    def _ordered(self) -> FloatSpace:
        if self.low >= self.high:
            raise ValueError(f"low must be < high, got {self.low} >= {self.high}")
        if self.log and self.low <= 0:
            raise ValueError(f"log needs low > 0, got {self.low}")
        return self


SearchSpace = Annotated[ChoiceSpace | IntSpace | FloatSpace, Field(discriminator="type")]


class SearchSpec(StrictModel):
    """A hyper-parameter search on the training part only (scikit-learn's searchers)."""

    method: Literal["random", "halving"] = Field(
        default="random",
        description="random: RandomizedSearchCV; halving: HalvingRandomSearchCV.",
    )
    space: dict[str, SearchSpace] = Field(
        min_length=1, description="Estimator parameter -> the distribution it is drawn from."
    )
    n_iter: int = Field(
        default=8,
        ge=1,
        le=200,
        description="Parameter settings tried (halving: the candidates of the first round).",
    )
    cv: int = Field(default=3, ge=2, le=10, description="Folds of the search's own CV.")
    metric: Metric | SurvivalMetric | None = Field(
        default=None, description="What the search maximises; the selection metric by default."
    )
    factor: int = Field(
        default=3, ge=2, description="halving: keep 1/factor of the settings each round."
    )
    top: int = Field(
        default=10, ge=1, le=100, description="Rows of the search table kept in the run record."
    )


# --------------------------------------------------------------------------- calibration


class CalibrationSpec(StrictModel):
    """Calibrate the probabilities with CalibratedClassifierCV."""

    method: Literal["sigmoid", "isotonic"] = Field(
        default="sigmoid", description="Platt scaling (sigmoid) or isotonic regression."
    )
    cv: int = Field(default=3, ge=2, le=10, description="Folds used to fit the calibrators.")


# --------------------------------------------------------------------------- resampling


class _Sampler(StrictModel):
    sampling_strategy: Annotated[float, Field(gt=0, le=1)] | Literal["auto"] = Field(
        default="auto",
        description=(
            "Wanted minority / majority ratio after resampling, in (0, 1], or auto (1:1); "
            "it must not be below the data's own ratio (checked against the data)."
        ),
    )


class _Synthetic(_Sampler):
    k_neighbors: int = Field(default=5, ge=1, description="Neighbours to interpolate between.")


class SmoteSpec(_Synthetic):
    """Synthetic minority rows between neighbours (imblearn SMOTE), on the encoded features."""

    type: Literal["smote"] = Field(description="Discriminator.")


class SmoteNCSpec(_Synthetic):
    """SMOTE for mixed data (imblearn SMOTENC): the encoded 0/1 columns stay 0/1."""

    type: Literal["smotenc"] = Field(description="Discriminator.")


class UnderSampleSpec(_Sampler):
    """Drop majority rows at random (imblearn RandomUnderSampler)."""

    type: Literal["random_under"] = Field(description="Discriminator.")


ResampleSpec = Annotated[SmoteSpec | SmoteNCSpec | UnderSampleSpec, Field(discriminator="type")]

# --------------------------------------------------------------------------- ensembles


class EnsembleSpec(StrictModel):
    """A candidate built from other candidates of the spec, by name."""

    name: str = Field(
        min_length=1, max_length=MAX_NAME_CHARS, description="Candidate name (unique)."
    )
    type: Literal["soft_voting", "stacking", "survival_average"] = Field(
        description=(
            "soft_voting: VotingClassifier averaging probabilities; stacking: StackingClassifier "
            "with a logistic regression over the members' out-of-fold probabilities; "
            "survival_average (survival specs): the weighted mean of the members' standardised "
            "risks and of their survival curves."
        )
    )
    members: list[str] = Field(
        min_length=2,
        max_length=MAX_CANDIDATES,
        description="Names of estimator candidates (their model steps; no search or calibration).",
    )
    weights: list[Annotated[float, Field(ge=0)]] | None = Field(
        default=None,
        description=(
            "soft_voting, survival_average: one weight (>= 0, at least one > 0) per member "
            "(equal by default)."
        ),
    )
    cv: int = Field(
        default=3, ge=2, le=10, description="stacking: folds for the out-of-fold probabilities."
    )
    calibration: CalibrationSpec | None = Field(
        default=None, description="Calibrate the ensemble's probabilities."
    )

    @model_validator(mode="after")
    def _weights_match(self) -> EnsembleSpec:
        if self.weights is not None and len(self.weights) != len(self.members):
            raise ValueError(
                f"weights needs one entry per member ({len(self.members)}), got {len(self.weights)}"
            )
        if self.weights is not None and not any(self.weights):
            raise ValueError(f"weights must not all be 0, got {self.weights}")
        return self
