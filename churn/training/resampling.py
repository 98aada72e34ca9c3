"""Resampling of training folds with imbalanced-learn, and where it sits in a pipeline.

A sampler is the first step of an ``imblearn.pipeline.Pipeline`` that is the candidate's model
step, so it runs only when that pipeline is *fitted*: on training folds in CV, search,
threshold tuning and calibration, and on the training part for the final fit. Scoring
(``predict_proba``) skips samplers, so validation and hold-out rows are never resampled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from imblearn.over_sampling import SMOTE, SMOTENC
from imblearn.pipeline import Pipeline as ImbPipeline
from imblearn.under_sampling import RandomUnderSampler
from sklearn.base import BaseEstimator

from churn.spec import ResampleSpec


class BinaryAsCategoricalSMOTENC(BaseEstimator):  # type: ignore[misc]
    """SMOTENC that treats every 0/1 column of its (encoded) input as categorical.

    The sampler sees the encoded features: one-hot columns and flags are exactly the columns
    that hold only 0 and 1, and SMOTENC then copies them from neighbours instead of
    interpolating fractions between them.
    """

    def __init__(
        self,
        sampling_strategy: float | str = "auto",
        k_neighbors: int = 5,
        random_state: int | None = None,
    ) -> None:
        self.sampling_strategy = sampling_strategy
        self.k_neighbors = k_neighbors
        self.random_state = random_state

    def fit_resample(self, X: Any, y: Any) -> tuple[Any, Any]:
        """Resample with the 0/1 columns of ``X`` as the categorical features."""
        values = np.asarray(X, dtype=np.float64)
        binary = np.flatnonzero(np.all((values == 0) | (values == 1), axis=0)).tolist()
        options: dict[str, Any] = {
            "sampling_strategy": self.sampling_strategy,
            "k_neighbors": self.k_neighbors,
            "random_state": self.random_state,
        }
        # no 0/1 column: plain SMOTE is the same thing (SMOTENC refuses to run without one)
        sampler = SMOTENC(categorical_features=binary, **options) if binary else SMOTE(**options)
        resampled: tuple[Any, Any] = sampler.fit_resample(values, y)
        return resampled


SAMPLERS: dict[str, Callable[[Any, int], Any]] = {
    "smote": lambda s, seed: SMOTE(
        sampling_strategy=s.sampling_strategy, k_neighbors=s.k_neighbors, random_state=seed
    ),
    "smotenc": lambda s, seed: BinaryAsCategoricalSMOTENC(
        sampling_strategy=s.sampling_strategy, k_neighbors=s.k_neighbors, random_state=seed
    ),
    "random_under": lambda s, seed: RandomUnderSampler(
        sampling_strategy=s.sampling_strategy, random_state=seed
    ),
}
"""Resample ``type`` -> builder of the unfitted sampler (spec block, seed)."""


def with_resampling(estimator: Any, resample: ResampleSpec | None, *, seed: int) -> Any:
    """``estimator`` alone, or ``[resample -> estimator]`` as an imblearn pipeline."""
    if resample is None:
        return estimator
    sampler = SAMPLERS[resample.type](resample, seed)
    return ImbPipeline([("resample", sampler), ("estimator", estimator)])
