"""GET /models/champion: the model serving /predict."""

from __future__ import annotations

from fastapi import APIRouter

from churn.api.deps import ModelDep
from churn.api.schemas import Champion, ErrorDetail
from churn.api.views import champion_view

router = APIRouter(prefix="/models", tags=["models"])


@router.get(
    "/champion",
    response_model=Champion,
    summary="The champion serving /predict",
    responses={503: {"model": ErrorDetail, "description": "No champion is loaded."}},
)
def get_champion(model: ModelDep) -> Champion:
    """Its run, candidate, hold-out metrics, threshold and promotion record."""
    return champion_view(model)
