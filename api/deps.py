"""FastAPI dependencies; override them in tests with ``app.dependency_overrides``.

They are ``async``: FastAPI runs a plain ``def`` dependency in the thread pool, three thread
hand-offs per /predict request for what are attribute reads.
"""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, HTTPException, Request, status

from churn.api.state import AppState, ModelHolder
from churn.registry import Registry
from churn.serving import ServingModel


async def get_state(request: Request) -> AppState:
    """The state ``create_app`` built."""
    return cast(AppState, request.app.state.churn)


async def get_registry(state: Annotated[AppState, Depends(get_state)]) -> Registry:
    """The run registry (read only)."""
    return state.registry


async def get_holder(state: Annotated[AppState, Depends(get_state)]) -> ModelHolder:
    """The serving-model holder; a request past the reload interval starts a check."""
    state.holder.poke()
    return state.holder


async def get_serving_model(holder: Annotated[ModelHolder, Depends(get_holder)]) -> ServingModel:
    """The champion as this request will use it from start to end; 503 when none is loaded."""
    model = holder.current
    if model is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, holder.unavailable_reason())
    return model


StateDep = Annotated[AppState, Depends(get_state)]
RegistryDep = Annotated[Registry, Depends(get_registry)]
HolderDep = Annotated[ModelHolder, Depends(get_holder)]
ModelDep = Annotated[ServingModel, Depends(get_serving_model)]
