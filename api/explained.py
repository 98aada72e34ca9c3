"""``/predict?explain=K``: each customer's top K reasons next to its probability.

The probabilities are computed exactly as without ``explain`` (the same encoding, the same
estimator call); the reasons come from the champion's exact explanation (:mod:`churn.explain`)
of the same encoded records, so they do not depend on the other records of the request or on
the requests micro-batched with it (:func:`explain_batch` explains the rows of every request
that asked in one call; :meth:`ExplainedBatch.answer` cuts out one request's part).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from fastapi.exceptions import RequestValidationError

from churn.explain import MAX_REASONS, Explanation, PipelineExplainer
from churn.explain.reasons import row_reasons
from churn.serving import Columns, FloatArray, ServingModel, Values, single_openmp_thread

EXPLAIN_HELP: Final = (
    f"Add each customer's top K reasons (0-{MAX_REASONS}; 0, the default, adds none): the spec "
    "column, the customer's value, its contribution to the model's output and its direction "
    "(raises / lowers the churn risk), plus the base value the contributions start from. "
    "Contributions and base add up to the model's output on the scale `explanation_scale` names "
    "(log_odds or probability; a survival champion's risk: log_hazard, minus_log_time or "
    "standardised_risk)."
)


def require_explainer(model: ServingModel, k: int) -> PipelineExplainer:
    """The champion's explainer.

    Raises:
        RequestValidationError: The champion has no exact explanation (names ``explain``).
    """
    if model.explainer is None:
        raise RequestValidationError(
            [
                {
                    "type": "explain_unavailable",
                    "loc": ("query", "explain"),
                    "input": k,
                    "msg": f"the champion cannot be explained: {model.explain_off}",
                }
            ]
        )
    return model.explainer


@dataclass(frozen=True)
class ExplainedBatch:
    """The explanation of some rows of a batch and every row's column values."""

    explanation: Explanation
    """Of the explained rows only, in batch order."""
    values: Mapping[str, Values]
    """Every input and derived column, all rows of the batch."""
    position: npt.NDArray[np.intp]
    """Per batch row, its row in ``explanation`` (-1: not explained)."""

    def answer(self, start: int, stop: int, k: int) -> dict[str, Any]:
        """The explanation fields of the answer for batch rows ``start:stop`` (all explained):
        the scale, each record's base value and top ``k`` reasons."""
        rows = self.position[start:stop]
        explanation = self.explanation
        contributions = explanation.contributions[rows]
        values = [self.values[column][start:stop] for column in explanation.columns]
        reasons = row_reasons(explanation.columns, contributions, values, k)
        return {
            "scale": explanation.scale,
            "base": explanation.base[rows].tolist(),
            "reasons": [[reason.as_dict() for reason in row] for row in reasons],
        }


def explain_batch(
    model: ServingModel, columns: Columns, n: int, wanted: npt.NDArray[np.bool_]
) -> tuple[FloatArray, ExplainedBatch]:
    """P(churn) of all ``n`` records and the explanation of the ``wanted`` ones.

    The records are encoded once; the probabilities are the final estimator's on them, the
    numbers :meth:`~churn.serving.FastScorer.predict_proba` gives.

    Raises:
        RequestValidationError: The champion has no exact explanation.
        ValueError: The model refuses the records (as scoring does).
    """
    explainer = require_explainer(model, 1)
    X, values = model.scorer.encoded(columns, n)
    proba = model.scorer.predict_encoded(X)
    rows = np.flatnonzero(wanted)
    with single_openmp_thread():
        explanation = explainer.explain_encoded(X if len(rows) == n else X[rows])
    position = np.full(n, -1, dtype=np.intp)
    position[rows] = np.arange(len(rows))
    return proba, ExplainedBatch(explanation, values, position)


def explained(
    model: ServingModel, columns: Columns, n: int, k: int
) -> tuple[FloatArray, dict[str, Any]]:
    """P(churn) and the explanation fields of an answer: the scale, per record base and reasons.

    Raises:
        RequestValidationError: The champion has no exact explanation (names ``explain``).
        ValueError: The model refuses the records (as scoring does).
    """
    require_explainer(model, k)
    proba, batch = explain_batch(model, columns, n, np.ones(n, dtype=np.bool_))
    return proba, batch.answer(0, n, k)


def add_reasons(payload: dict[str, Any], explained: Mapping[str, Any]) -> None:
    """Put the explanation fields of :meth:`ExplainedBatch.answer` into an answer's payload:
    its ``explanation_scale`` and each prediction's ``base_value`` and ``reasons``."""
    payload["explanation_scale"] = explained["scale"]
    for record, base, why in zip(
        payload["predictions"], explained["base"], explained["reasons"], strict=True
    ):
        record["base_value"] = base
        record["reasons"] = why
