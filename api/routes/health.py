"""GET /health (liveness) and GET /ready (a champion is loaded)."""

from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from churn.api.deps import HolderDep
from churn.api.schemas import Health, Readiness

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="Liveness: 200 while the process runs")
async def health() -> Health:
    """Always ok; it touches neither the registry nor the model."""
    return Health()


@router.get(
    "/ready",
    response_model=Readiness,
    summary="Readiness: 200 once a champion is loaded, else 503 with the reason",
    responses={503: {"model": Readiness, "description": "No champion is loaded."}},
)
def ready(holder: HolderDep) -> Readiness | JSONResponse:
    """Ready when a champion serves; a failed reload shows in ``reload_error`` (still ready)."""
    model = holder.current
    if model is None:
        body = Readiness(ready=False, reason=holder.unavailable_reason(), reload_error=holder.error)
        return JSONResponse(body.model_dump(mode="json"), status.HTTP_503_SERVICE_UNAVAILABLE)
    return Readiness(
        ready=True,
        run_id=model.run_id,
        model=model.candidate,
        loaded_at=model.loaded_at,
        fast_path=model.scorer.fast,
        fast_path_off=model.scorer.reason,
        reload_error=holder.error,
    )
