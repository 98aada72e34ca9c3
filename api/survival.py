"""``/predict`` for a survival champion: P(churn within each horizon) and the median time.

The records are validated as for a classifier (the same record model), encoded by the same
scorer (pandas-free where the pipeline allows it) and answered by the champion's
:class:`~churn.survival.scoring.SurvivalScorer`. Such requests are not micro-batched: the
answer of a Cox model's matrix product may differ in the last bits with the rows scored beside
it. In the Prometheus counter a record counts as ``churn`` when P(churn within the longest
horizon) is at least one half; the records go to the prediction log and the drift window
with that probability as their score (the one the run's reference profile holds) and every
horizon's.

With ``explain=K`` each prediction also carries its ``base_value`` and top K ``reasons``: the
exact contributions to the model's risk (:mod:`churn.explain.survival`; ``explanation_scale``
says which risk), from the same encoded records the curves are scored on.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pydantic_core
from fastapi import Response
from fastapi.exceptions import RequestValidationError

from churn.api.explained import ExplainedBatch, add_reasons, require_explainer
from churn.api.records import parse_body
from churn.api.state import AppState
from churn.monitoring.scored import ScoredBatch
from churn.serving import Columns, ServingModel, single_openmp_thread
from churn.survival.scoring import SurvivalScores


def survival_answer(
    state: AppState, model: ServingModel, body: bytes, explain: int = 0
) -> Response:
    """Parse, validate and score one body with a survival ``model``; the JSON answer (with
    ``explain``, each record's top ``explain`` reasons on the model's risk)."""
    survival = model.survival
    if survival is None:
        raise TypeError(f"champion {model.run_id} is not a survival model")
    ids, columns = parse_body(state.records, body)
    try:
        scores, explained = _scored(model, columns, len(ids), explain)
    except ValueError as exc:
        raise _refused(exc) from None
    within = scores.within.tolist()
    decisions = scores.within[:, -1] >= 0.5
    state.metrics.predicted(int(np.count_nonzero(decisions)), len(ids))
    if state.recorder is not None:
        state.recorder.record(
            ScoredBatch(
                ids,
                model.run_id,
                time.time(),
                scores.within[:, -1],
                decisions,
                columns,
                within=scores.within,
                horizons=survival.names,
            )
        )
    version = model.version
    payload: dict[str, Any] = {
        "model_version": version,
        "model": model.candidate,
        "kind": "survival",
        "unit": survival.unit,
        "horizons": list(survival.horizons),
        "predictions": [
            {
                "id": i,
                "churn_within": dict(zip(survival.names, row, strict=True)),
                "median_time_to_churn": median,
                "model_version": version,
            }
            for i, row, median in zip(ids, within, scores.median_or_none(), strict=True)
        ],
    }
    if explained is not None:
        add_reasons(payload, explained)
    return Response(pydantic_core.to_json(payload), media_type="application/json")


def _scored(
    model: ServingModel, columns: Columns, n: int, k: int
) -> tuple[SurvivalScores, dict[str, Any] | None]:
    """The curves of ``n`` records and, with ``k``, the explanation fields of the answer (the
    records are encoded once for both).

    Raises:
        RequestValidationError: ``k`` asked of a model without an exact explanation.
        ValueError: The model refuses the records.
    """
    if not k:
        return model.score_survival(columns, n), None
    explainer = require_explainer(model, k)
    survival = model.survival
    assert survival is not None  # survival_answer checked it
    encoded, values = model.scorer.encoded(columns, n)
    with single_openmp_thread():
        scores = survival.score(encoded)
        explanation = explainer.explain_encoded(encoded)
    batch = ExplainedBatch(explanation, values, np.arange(n, dtype=np.intp))
    return scores, batch.answer(0, n, k)


def survival_info(model: ServingModel) -> dict[str, Any]:
    """The /app-info fields of a survival champion: its hold-out survival metrics, horizons
    and unit (its classifier fields and threshold stay null)."""
    survival = model.survival
    if survival is None:
        raise TypeError(f"champion {model.run_id} is not a survival model")
    metrics = model.pointer.metrics
    return {
        "kind": "survival",
        "threshold": None,
        "harrell_c": metrics.get("harrell_c"),
        "uno_c": metrics.get("uno_c"),
        "ibs_ratio": metrics.get("ibs_ratio"),
        "td_auc": {name: metrics.get(f"td_auc_{name}") for name in survival.names},
        "horizons": list(survival.horizons),
        "unit": survival.unit,
    }


def _refused(exc: ValueError) -> RequestValidationError:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
    return RequestValidationError(
        [
            {
                "type": "model_refused",
                "loc": ("body", "records"),
                "input": None,
                "msg": f"the model cannot score these records: {first}",
            }
        ]
    )
