"""A fitted churn pipeline's explanations in the spec's columns.

:class:`PipelineExplainer` splits a fitted ``[derive ->] features -> model`` pipeline into its
encoding part and its model, asks :func:`~churn.explain.models.model_explainer` for the
model's exact contributions per encoded feature and adds them up per spec column
(:mod:`churn.explain.columns`). The result sums, per row, to the model's own additive output
(:mod:`churn.explain.attribution` says which). It is built once per loaded model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from churn.explain.attribution import Attribution, Matrix, Scale, Unexplainable, Vector
from churn.explain.columns import feature_columns, sum_by_column
from churn.explain.models import model_explainer
from churn.explain.reasons import Reason, row_reasons


@dataclass(frozen=True)
class Explanation:
    """Contributions per column (rows x columns) and per-row base, on ``scale``."""

    columns: list[str]
    contributions: Matrix
    base: Vector
    scale: Scale
    rounding: float

    @property
    def output(self) -> Vector:
        """The explained output per row (contributions plus base)."""
        return np.asarray(self.contributions.sum(axis=1) + self.base, dtype=np.float64)

    def reasons(self, values: Mapping[str, Any], k: int) -> list[list[Reason]]:
        """Each row's top ``k`` reasons, with the values from ``values`` (by column)."""
        return row_reasons(self.columns, self.contributions, [values[c] for c in self.columns], k)


class PipelineExplainer:
    """Exact per-column explanations of one fitted pipeline.

    Raises:
        Unexplainable: The pipeline's shape, a step or its model has no exact explanation.
    """

    def __init__(self, pipeline: Pipeline) -> None:
        steps = list(pipeline.steps)
        if len(steps) < 2 or not isinstance(steps[-2][1], ColumnTransformer):
            raise Unexplainable("a pipeline other than [derive] -> ColumnTransformer -> model")
        self.pipeline = pipeline
        self.columns, self._index = feature_columns(steps[-2][1])
        self._model = model_explainer(steps[-1][1])

    def explain_encoded(self, X: Matrix) -> Explanation:
        """Explain rows given as the model's encoded feature matrix."""
        attribution: Attribution = self._model(np.asarray(X, dtype=np.float64))
        per_column = sum_by_column(attribution.values, self._index, len(self.columns))
        return Explanation(
            self.columns, per_column, attribution.base, attribution.scale, attribution.rounding
        )

    def explain_frame(self, frame: pd.DataFrame) -> tuple[Explanation, dict[str, Sequence[Any]]]:
        """Explain validated rows of a DataFrame; also every explained column's values."""
        encode = self.pipeline[:-1]
        explanation = self.explain_encoded(np.asarray(encode.transform(frame), dtype=np.float64))
        first = self.pipeline.steps[0][1]
        derived = frame if isinstance(first, ColumnTransformer) else first.transform(frame)
        values = {name: derived[name].tolist() for name in self.columns}
        return explanation, values
