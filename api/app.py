"""The app factory: ``create_app(settings)``; ``uvicorn churn.api.app:create_app --factory`` serves
it.

Settings are read, the spec is loaded and the routes are built when the factory runs; the
champion is loaded by the lifespan, which also starts the background reload check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Any, cast

import anyio
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from churn import __version__
from churn.api.batching import MicroBatcher
from churn.api.errors import install as install_edges
from churn.api.heap import serving_heap
from churn.api.metrics import ApiMetrics, MetricsMiddleware
from churn.api.monitoring_metrics import MonitoringCollector
from churn.api.records import RecordSchema, build_record_schema
from churn.api.routes import health, info, metrics, models, predict, runs
from churn.api.settings import Settings
from churn.api.state import AppState, ModelHolder
from churn.monitoring.recorder_process import serving_recorder
from churn.registry import Registry, resolve_home
from churn.serving import load_serving_model
from churn.settings import load_settings
from churn.spec.loader import load_spec

log = logging.getLogger(__name__)

DESCRIPTION = """\
Serves the champion of a churn registry: `POST /predict` scores customers, `GET /runs` shows
the training history, `GET /app-info` the service at a glance, `GET /metrics` Prometheus metrics.
A new champion (a promotion or a rollback) is picked up without a restart.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API for one registry and spec.

    Args:
        settings: Read from ``CHURN_*`` environment variables when omitted.

    Raises:
        SpecError: The spec (``CHURN_SPEC``) cannot be loaded.
        SettingsError: A ``CHURN_*`` variable has an unusable value.
    """
    settings = settings if settings is not None else load_settings(Settings)
    spec = load_spec(settings.spec)
    registry = Registry(resolve_home(settings.home))
    records = build_record_schema(spec, max_batch=settings.max_batch)
    api_metrics = ApiMetrics()
    holder = ModelHolder(
        partial(load_serving_model, registry, records.specs),
        registry.champion_path,
        interval=settings.reload_interval,
        metrics=api_metrics,
    )
    app = FastAPIOffline(
        title="churn",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    batcher = (
        MicroBatcher(
            max_wait=settings.batch_max_wait_ms / 1000,
            max_size=settings.batch_max_size,
            observe=api_metrics.batch_records.observe,
        )
        if settings.batching
        else None
    )
    shared = settings.prometheus_multiproc_dir  # each worker's window goes there
    recorder, drift = serving_recorder(
        settings,
        registry.home,
        spec,
        drift=settings.drift_tracking,
        shared=shared,
        count=api_metrics.record_outcome,
        process=settings.recorder_process,
    )
    api_metrics.add_computed(
        MonitoringCollector(
            spec,
            registry.home,
            drift,
            shared,
            lambda: holder.current.run_id if holder.current is not None else None,
        )
    )
    app.state.churn = AppState(
        settings, spec, registry, records, holder, api_metrics, batcher, recorder, drift
    )
    install_edges(app)  # disconnects, capped 422s, HEAD, JSON only (inside the metrics)
    app.add_middleware(MetricsMiddleware, metrics=api_metrics)
    for router in (
        info.router,
        health.router,
        models.router,
        runs.router,
        predict.build_router(records),
        metrics.router,
    ):
        app.include_router(router)
    _document_request_body(app, records)
    return app


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Load the champion, then check for a new one every ``reload_interval`` seconds; record
    what is scored until the app stops (the last records are flushed then)."""
    state = cast(AppState, app.state.churn)
    holder = state.holder
    recorder = state.recorder
    # the recorder (its process, when it has one) starts while the champion loads, and before
    # the freeze: its thread and sinks live as long
    starting = asyncio.ensure_future(anyio.to_thread.run_sync(recorder.start)) if recorder else None
    await anyio.to_thread.run_sync(holder.refresh)
    if starting is not None:
        await starting
    with serving_heap() as frozen:
        log.debug("froze %d start-up objects out of the garbage collector's passes", frozen)
        task = asyncio.create_task(holder.poll()) if holder.interval > 0 else None
        try:
            yield
        finally:
            if state.recorder is not None:
                await anyio.to_thread.run_sync(state.recorder.close)
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


def _document_request_body(app: FastAPI, records: RecordSchema) -> None:
    """Add the generated request models to the OpenAPI components (/predict refers to them).

    /predict reads its body itself (to count records before validating them), so FastAPI does
    not see the model; its JSON schema is added here.
    """
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        body = records.request_model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(body.pop("$defs", {}))
        components[records.request_model.__name__] = body
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
