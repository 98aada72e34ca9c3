"""GET /metrics: Prometheus exposition of this app's registry."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from churn.api.deps import RegistryDep, StateDep
from churn.api.metrics import SUCCESS_LOOKBACK, exposition
from churn.api.views import gate_verdict, last_time, run_status

router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    response_model=None,
    response_class=Response,
    summary="Prometheus metrics",
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}},
)
def metrics(request: Request, state: StateDep, registry: RegistryDep) -> Response:
    """Requests, latency, predictions, the champion, reloads and the latest run."""
    latest = registry.latest_record()
    if latest is None:
        state.metrics.last_run(None, None)
    else:
        when = last_time(latest)
        state.metrics.last_run(run_status(latest), when.timestamp() if when else None)
    verdict = gate_verdict(latest) if latest is not None else None
    success = next(
        (m for m in registry.records(limit=SUCCESS_LOOKBACK) if run_status(m) == "succeeded"),
        None,
    )
    ended = success.ended_at if success is not None else None
    state.metrics.last_verdicts(
        verdict.passed if verdict is not None else None, ended.timestamp() if ended else None
    )
    body, content_type = exposition(state.metrics, request.headers.get("accept", ""))
    return Response(body, media_type=content_type)
