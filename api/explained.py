"""``/predict?explain=K``: each customer's top K reasons next to its probability.

The probabilities are computed exactly as without ``explain`` (the same scorer call); the
reasons come from the champion's exact explanation (:mod:`churn.explain`) of the same encoded
records, so they do not depend on the other records of the request.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi.exceptions import RequestValidationError

from churn.explain import MAX_REASONS
from churn.serving import Columns, FloatArray, ServingModel, single_openmp_thread

EXPLAIN_HELP: Final = (
    f"Add each customer's top K reasons (0-{MAX_REASONS}; 0, the default, adds none): the spec "
    "column, the customer's value, its contribution to the model's output and its direction "
    "(raises / lowers the churn risk), plus the base value the contributions start from. "
    "Contributions and base add up to the model's output on the scale `explanation_scale` names "
    "(log_odds or probability)."
)


def explained(
    model: ServingModel, columns: Columns, n: int, k: int
) -> tuple[FloatArray, dict[str, Any]]:
    """P(churn) and the explanation fields of an answer: the scale, per record base and reasons.

    The records are encoded once; the probabilities are the final estimator's on them, the
    numbers :meth:`~churn.serving.FastScorer.predict_proba` gives.

    Raises:
        RequestValidationError: The champion has no exact explanation (names ``explain``).
        ValueError: The model refuses the records (as scoring does).
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
    X, values = model.scorer.encoded(columns, n)
    proba = model.scorer.predict_encoded(X)
    with single_openmp_thread():
        explanation = model.explainer.explain_encoded(X)
    rows = explanation.reasons(values, k)
    return proba, {
        "scale": explanation.scale,
        "base": explanation.base.tolist(),
        "reasons": [[reason.as_dict() for reason in row] for row in rows],
    }
