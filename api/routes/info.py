"""GET /app-info: the service at a glance (cached until the champion or the latest run changes)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from churn.api.deps import HolderDep, RegistryDep, StateDep
from churn.api.schemas import AppInfo
from churn.api.state import ModelHolder
from churn.api.survival import survival_info
from churn.api.views import gate_verdict, last_time, parse_time, run_status
from churn.registry import Registry, RegistryError

router = APIRouter(tags=["info"])


@router.get("/app-info", response_model=AppInfo, summary="Service status, champion and last run")
async def app_info(state: StateDep, registry: RegistryDep, holder: HolderDep) -> Response:
    """Whether a champion serves, its hold-out metrics, and how the latest run went."""
    body = state.info.get(
        holder.current,
        holder.error,
        lambda: build_app_info(registry, holder).model_dump_json().encode(),
    )
    return Response(body, media_type="application/json")


def build_app_info(registry: Registry, holder: ModelHolder) -> AppInfo:
    """The /app-info answer from the serving model and the registry's latest run."""
    model = holder.current
    latest = registry.latest_record()
    fields: dict[str, object] = {"status": "no_model"}
    if model is not None:
        metrics = model.pointer.metrics
        fields.update(
            status="degraded" if holder.error else "ok",
            model=model.candidate,
            model_type=model.model_type,
            run_id=model.run_id,
            threshold=model.threshold,
            threshold_policy=_threshold_policy(registry, model.run_id, model.candidate),
            promoted_at=parse_time(model.pointer.promoted_at),
            **{
                name: metrics.get(name)
                for name in ("accuracy", "precision", "recall", "f1", "roc_auc")
            },
        )
    if model is not None and model.survival is not None:
        fields.update(survival_info(model))
    if latest is not None:
        fields.update(
            last_run=last_time(latest),
            pipeline_status=run_status(latest),
            last_run_id=latest.run_id,
            last_run_gates=gate_verdict(latest),
        )
    return AppInfo.model_validate(fields)


def _threshold_policy(registry: Registry, run_id: str, candidate: str | None) -> str | None:
    """The champion's threshold strategy, from its run's record (None for older records)."""
    try:
        record = registry.record(run_id)
    except RegistryError:
        return None
    entry = (record.candidates or {}).get(candidate or "")
    policy = entry.threshold_policy if entry is not None else None
    return policy.strategy if policy is not None else None
