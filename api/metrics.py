"""Prometheus metrics of one app, in their own ``CollectorRegistry``, and the ASGI middleware.

Under ``churn serve --workers N`` (``PROMETHEUS_MULTIPROC_DIR`` set, see :mod:`churn.api.workers`)
the values live in prometheus-client's per-process files and :func:`exposition` adds up every
worker's: counters and histograms are summed; each gauge says how its workers' values combine.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from churn.api.schemas import ShownRunStatus
from churn.serving import ServingModel
from churn.settings import load_settings

RUN_STATUSES: tuple[str, ...] = get_args(ShownRunStatus)
"""The statuses ``churn_last_run_status`` has a series for (1 for the latest run's)."""
SUCCESS_LOOKBACK = 50
"""How many of the latest runs /metrics reads to find the latest succeeded one."""
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 1024)
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ApiMetrics:
    """Every metric the API exports. One instance per app, so tests can build many apps."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.computed: list[Collector] = []
        """Collectors computed at scrape time from every worker's state (drift, outcomes)."""
        self._served: tuple[str, str, str] | None = None
        r = self.registry
        self.requests = Counter(
            "churn_api_requests",
            "HTTP requests by route template, method and status.",
            ("route", "method", "status"),
            registry=r,
        )
        self.latency = Histogram(
            "churn_api_request_duration_seconds",
            "HTTP request latency by route template, method and status.",
            ("route", "method", "status"),
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.predictions = Counter(
            "churn_predictions",
            "Records scored by /predict, by decision.",
            ("decision",),
            registry=r,
        )
        self.batch_records = Histogram(
            "churn_batch_records",
            "Records per batched scoring call (micro-batching of concurrent /predict requests).",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.recorded = Counter(
            "churn_recorded_records",
            "Scored records handed to the prediction log and the drift window, by result "
            "(written, failed: the sink raised, dropped: too many waiting).",
            ("sink", "result"),
            registry=r,
        )
        self.champion = Gauge(
            "churn_champion_info",
            "The serving champion (1); labels say which.",
            ("run_id", "model", "model_type"),
            registry=r,
            multiprocess_mode="livemax",  # 1 while any worker serves it
        )
        self.champion_metric = Gauge(
            "churn_champion_metric",
            "The serving champion's hold-out metrics.",
            ("metric",),
            registry=r,
            multiprocess_mode="livemostrecent",
        )
        self.champion_threshold = Gauge(
            "churn_champion_threshold",
            "The serving champion's decision threshold.",
            registry=r,
            multiprocess_mode="livemostrecent",
        )
        self.ready = Gauge(
            "churn_model_ready",
            "1 while a champion is serving (in every worker).",
            registry=r,
            multiprocess_mode="livemin",
        )
        self.reloads = Counter(
            "churn_model_reloads",
            "Champion loads, by result (success or failure).",
            ("result",),
            registry=r,
        )
        self.load_error = Gauge(
            "churn_model_load_error",
            "1 while the latest champion load failed (in any worker).",
            registry=r,
            multiprocess_mode="livemax",
        )
        self.last_run_status = Gauge(
            "churn_last_run_status",
            "1 for the latest run's status, 0 for the others.",
            ("status",),
            registry=r,
            multiprocess_mode="livemostrecent",
        )
        self.last_run_time = Gauge(
            "churn_last_run_timestamp_seconds",
            "When the latest run ended (or started).",
            registry=r,
            multiprocess_mode="livemostrecent",
        )
        self.last_success_time = Gauge(
            "churn_last_success_timestamp_seconds",
            f"When the latest succeeded run ended (0: none in the latest {SUCCESS_LOOKBACK} runs).",
            registry=r,
            multiprocess_mode="livemostrecent",
        )
        self.last_run_gates = Gauge(
            "churn_last_run_gates_passed",
            "1: the latest run's winner passed its gates; 0: it failed them; NaN: no verdict.",
            registry=r,
            multiprocess_mode="livemostrecent",
        )

    def add_computed(self, collector: Collector) -> None:
        """Export ``collector`` too (it merges the workers' state itself)."""
        self.registry.register(collector)
        self.computed.append(collector)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one HTTP request and its latency."""
        code = str(status)
        self.requests.labels(route, method, code).inc()
        self.latency.labels(route, method, code).observe(seconds)

    def predicted(self, churn: int, total: int) -> None:
        """Count scored records by decision."""
        if churn:
            self.predictions.labels("churn").inc(churn)
        if total - churn:
            self.predictions.labels("no_churn").inc(total - churn)

    def record_outcome(self, sink: str, result: str, records: int) -> None:
        """Count records a recorder sink wrote, failed to write, or dropped."""
        self.recorded.labels(sink, result).inc(records)

    def loaded(self, model: ServingModel | None) -> None:
        """A load attempt succeeded: describe the champion now serving (None: no champion)."""
        self.reloads.labels("success").inc()
        self.load_error.set(0)
        if self._served is not None and multiprocess_mode():
            self.champion.labels(*self._served).set(0)  # a worker's file keeps cleared series
        self._served = None
        self.champion.clear()
        self.champion_metric.clear()
        self.ready.set(0 if model is None else 1)
        if model is None:
            return
        self._served = (model.run_id, model.candidate or "", model.model_type or "")
        self.champion.labels(*self._served).set(1)
        self.champion_threshold.set(model.threshold)
        for name, value in model.pointer.metrics.items():
            if value is not None:
                self.champion_metric.labels(name).set(value)

    def load_failed(self) -> None:
        """A load attempt failed (the previous champion, if any, keeps serving)."""
        self.reloads.labels("failure").inc()
        self.load_error.set(1)

    def last_run(self, status: str | None, timestamp: float | None) -> None:
        """Describe the latest run (None when there is none)."""
        for known in RUN_STATUSES:
            self.last_run_status.labels(known).set(1 if known == status else 0)
        if timestamp is not None:
            self.last_run_time.set(timestamp)

    def last_verdicts(self, gates_passed: bool | None, success_timestamp: float | None) -> None:
        """The latest run's gate verdict and when the latest succeeded run ended."""
        self.last_run_gates.set(float("nan") if gates_passed is None else float(gates_passed))
        self.last_success_time.set(0.0 if success_timestamp is None else success_timestamp)


def multiprocess_mode() -> bool:
    """True when metrics are kept in per-process files (several workers)."""
    return load_settings().prometheus_multiproc_dir is not None


def exposition(metrics: ApiMetrics, accept: str) -> tuple[bytes, str]:
    """The metrics in the format ``accept`` asks for: this app's, or every worker's added up."""
    encode, content_type = choose_encoder(accept)
    if not multiprocess_mode():
        return encode(metrics.registry), content_type
    combined = CollectorRegistry()
    multiprocess.MultiProcessCollector(combined)  # type: ignore[no-untyped-call]
    for collector in metrics.computed:
        combined.register(collector)
    return encode(combined), content_type


class MetricsMiddleware:
    """Times every HTTP request and counts it by route template (not raw path) and status."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; record it once the app is done, even when it raised."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.observe(
                route_template(scope), scope["method"], status, time.perf_counter() - started
            )


def route_template(scope: Mapping[str, Any]) -> str:
    """The matched route's path template (``/runs/{run_id}``), or ``unmatched``.

    A mounted app (the docs' static files) counts as ``<mount path>/{path}``.
    """
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str) and path:
        return path
    mounted = str(scope.get("root_path", ""))[len(str(scope.get("app_root_path", ""))) :]
    return f"{mounted}/{{path}}" if mounted else "unmatched"
