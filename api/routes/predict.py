"""POST /predict: score customers with the champion."""

from __future__ import annotations

import time
from typing import Annotated, Any, Final

import numpy as np
import pydantic_core
from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError

from churn.api.deps import ModelDep, StateDep
from churn.api.explained import EXPLAIN_HELP, add_reasons, explained, require_explainer
from churn.api.records import REQUEST_MODEL, PayloadTooLarge, RecordSchema, parse_body
from churn.api.schemas import ErrorDetail, PredictAnswer, ValidationErrors
from churn.api.state import AppState
from churn.api.survival import survival_answer
from churn.explain import MAX_REASONS
from churn.monitoring.scored import ScoredBatch
from churn.serving import Columns, FloatArray, ServingModel

INLINE_BYTES: Final = 16384
"""Bodies up to this size are scored on the event loop; larger ones in a worker thread."""

PREDICT_DESCRIPTION = """\
Score up to `CHURN_MAX_BATCH` customers. Each record carries the spec's model input columns and
the id column; answers come back in request order with `churn_probability`, `will_churn`
(`churn_probability >= threshold`, the champion's tuned threshold) and `model_version` (the
champion's run id).

**Unseen categories.** A categorical column whose spec declares its values accepts only those
values: any other value is refused with 422 naming the field and the allowed values (nothing is
scored; a category the model never saw would otherwise be silently encoded as "none of the
known ones"). Free-text categorical columns (no declared values) accept any string; a category
the model never saw is then encoded as the spec's `one_hot.handle_unknown` says (`ignore`: all
zeros; `error`: 422).

**Errors.** 413: more records than `CHURN_MAX_BATCH` (checked before any record is validated)
or a body over the size limit. 422: wrong type, missing or unknown field, value out of range
(every problem is listed with its record index and field, first 20); `explain` out of range or
asked of a champion without an exact explanation. 503: no champion loaded.

**Survival champion** (a spec with `target.kind: survival`): each prediction carries
`churn_within` (P(churn within h) = 1 - S(h | x) for every declared horizon h, keyed by h) and
`median_time_to_churn` (the first time S(t | x) <= 1/2, in the target's `unit`; null when the
curve stays above one half within the training times) instead of `churn_probability` and
`will_churn`; the answer names `kind: survival`, the `unit` and the `horizons`
(`SurvivalPredictResponse`, with an example). `explain` adds reasons on the model's risk
(`explanation_scale` `log_hazard` for cox / xgb_cox, `minus_log_time` for xgb_aft,
`standardised_risk` for a `survival_average`); it is refused (422, naming the model type)
for gradient boosting and random survival forests.

**Reasons.** `?explain=K` adds to each prediction its `base_value` and its top K `reasons`
(column, value, contribution, direction), ranked by absolute contribution; see the README's
"Why this customer" section for what the contributions add up to per model type.
"""

EXPLAINED_EXAMPLE: Final = {
    "model_version": "20261206T101500Z-3f2a",
    "model": "xgb",
    "threshold": 0.31,
    "explanation_scale": "log_odds",
    "predictions": [
        {
            "id": "7590-VHVEG",
            "churn_probability": 0.62,
            "will_churn": True,
            "model_version": "20261206T101500Z-3f2a",
            "base_value": -1.21,
            "reasons": [
                {
                    "column": "Contract",
                    "value": "Month-to-month",
                    "contribution": 0.71,
                    "direction": "raises",
                },
                {"column": "tenure", "value": 1, "contribution": 0.66, "direction": "raises"},
                {
                    "column": "InternetService",
                    "value": "DSL",
                    "contribution": -0.3,
                    "direction": "lowers",
                },
            ],
        }
    ],
}
"""The OpenAPI example of an answer with ``explain=3``."""


def build_router(schema: RecordSchema) -> APIRouter:
    """The /predict router for the record models generated from the spec."""
    router = APIRouter(tags=["predict"])

    @router.post(
        "/predict",
        response_model=PredictAnswer,
        summary="Churn probability and decision (or time to churn) for each customer",
        description=PREDICT_DESCRIPTION,
        responses={
            200: {"content": {"application/json": {"example": EXPLAINED_EXAMPLE}}},
            413: {"model": ErrorDetail, "description": "Too many records or too large a body."},
            415: {"model": ErrorDetail, "description": "The body is not application/json."},
            422: {"model": ValidationErrors, "description": "The body breaks the schema."},
            503: {"model": ErrorDetail, "description": "No champion is loaded."},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": f"#/components/schemas/{REQUEST_MODEL}"}
                    }
                },
            }
        },
    )
    async def predict(
        request: Request,
        state: StateDep,
        model: ModelDep,
        explain: Annotated[int, Query(ge=0, le=MAX_REASONS, description=EXPLAIN_HELP)] = 0,
    ) -> Response:
        """Validate the records against the spec, score them, answer in request order."""
        if explain:
            require_explainer(model, explain)
        batcher = state.batcher
        if model.survival is not None:
            body = await read_body(request, state.settings.body_limit)
            if len(body) <= INLINE_BYTES:
                return survival_answer(state, model, body, explain)
            return await run_in_threadpool(survival_answer, state, model, body, explain)
        if batcher is None:
            body = await read_body(request, state.settings.body_limit)
            if len(body) <= INLINE_BYTES:
                return score(state, model, body, explain)
            return await run_in_threadpool(score, state, model, body, explain)
        with batcher.arriving():
            body = await read_body(request, state.settings.body_limit)
            if len(body) > INLINE_BYTES:
                return await run_in_threadpool(score, state, model, body, explain)
            ids, columns = parse_body(state.records, body)
        if not batcher.accepts(model, len(ids)):
            return scored_answer(state, model, ids, columns, explain)
        if explain:
            try:
                proba, why = await batcher.explain(model, columns, len(ids), explain)
            except ValueError as exc:
                raise _refused(exc) from None
            return answer(state, model, ids, proba, columns, why)
        try:
            proba = await batcher.score(model, columns, len(ids))
        except ValueError as exc:
            raise _refused(exc) from None
        return answer(state, model, ids, proba, columns)

    return router


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) more than ``limit`` bytes without reading them all."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body of {declared} bytes; at most {limit} (CHURN_MAX_BODY_BYTES)")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body over {limit} bytes (CHURN_MAX_BODY_BYTES)")
        chunks.append(chunk)
    return b"".join(chunks)


def score(state: AppState, model: ServingModel, body: bytes, explain: int = 0) -> Response:
    """Parse, validate and score one body with ``model`` (the one the request started with);
    with ``explain``, add each record's top ``explain`` reasons."""
    return scored_answer(state, model, *parse_body(state.records, body), explain)


def scored_answer(
    state: AppState, model: ServingModel, ids: list[str], columns: Columns, explain: int = 0
) -> Response:
    """Score (and with ``explain``, explain) parsed records with ``model``; the answer."""
    if not explain:
        return answer(state, model, ids, _scored(model, columns, len(ids)), columns)
    try:
        proba, why = explained(model, columns, len(ids), explain)
    except ValueError as exc:
        raise _refused(exc) from None
    return answer(state, model, ids, proba, columns, why)


def _scored(model: ServingModel, columns: Columns, n: int) -> FloatArray:
    try:
        return model.scorer.predict_proba(columns, n)
    except ValueError as exc:
        raise _refused(exc) from None


def _refused(exc: ValueError) -> RequestValidationError:
    return RequestValidationError(
        [
            {
                "type": "model_refused",
                "loc": ("body", "records"),
                "input": None,
                "msg": f"the model cannot score these records: {_first_line(exc)}",
            }
        ]
    )


def answer(
    state: AppState,
    model: ServingModel,
    ids: list[str],
    proba: FloatArray,
    columns: Columns,
    explained: dict[str, Any] | None = None,
) -> Response:
    """The JSON answer: each id with its probability and decision at the served threshold
    (and, when ``explained``, its base value and reasons). The records are queued for the
    prediction log and the drift window (never waited on)."""
    decisions = proba >= model.threshold
    state.metrics.predicted(int(np.count_nonzero(decisions)), len(ids))
    if state.recorder is not None:
        state.recorder.record(
            ScoredBatch(ids, model.run_id, time.time(), proba, decisions, columns)
        )
    version = model.version
    payload: dict[str, Any] = {
        "model_version": version,
        "model": model.candidate,
        "threshold": model.threshold,
        "predictions": [
            {"id": i, "churn_probability": p, "will_churn": d, "model_version": version}
            for i, p, d in zip(ids, proba.tolist(), decisions.tolist(), strict=True)
        ],
    }
    if explained is not None:
        add_reasons(payload, explained)
    return Response(pydantic_core.to_json(payload), media_type="application/json")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
