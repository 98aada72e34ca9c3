"""What ``churn monitor`` shows: realized performance over time, the drift of each run's
training data against its champion, and (when asked) the serving window's drift read from a
running API's ``/metrics``; as JSON or a self-contained HTML page."""

from __future__ import annotations

import math
import threading
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Final

from markupsafe import Markup, escape
from prometheus_client.parser import text_string_to_metric_families

from churn.errors import ChurnError, one_line
from churn.monitoring.drift import SCORES
from churn.monitoring.realized import REALIZED_METRICS, RealizedRecord
from churn.registry import Registry
from churn.registry.record import TrainingDriftRecord
from churn.spec.bounds import shorten

RECENT_RUNS: Final = 30
SERVING_FAMILIES: Final = {
    "churn_drift_psi": "psi",
    "churn_drift_status": "status",
    "churn_drift_unseen_rate": "unseen_rate",
    "churn_drift_null_rate_change": "null_rate_change",
}
STATUS_NAMES: Final = {0.0: "ok", 1.0: "warn", 2.0: "alert"}
MAX_METRICS_BYTES: Final = 16 * 1024 * 1024


@dataclass(frozen=True)
class RunDrift:
    """One run's training data against the champion it started with (its run.json's record)."""

    run_id: str
    drift: TrainingDriftRecord

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the run id, the champion, the status, the alerts and the warnings."""
        drift = self.drift
        return {
            "run_id": self.run_id,
            "champion": drift.champion,
            "status": drift.status,
            "alerts": drift.alerts,
            "warnings": drift.warnings,
        }


@dataclass(frozen=True)
class Overview:
    """Everything ``churn monitor`` shows."""

    realized: RealizedRecord | None
    training_drift: list[RunDrift]
    serving_drift: list[dict[str, Any]] = field(default_factory=list)
    serving_records: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "realized": self.realized.model_dump(mode="json") if self.realized else None,
            "training_drift": [row.to_dict() for row in self.training_drift],
            "serving_drift": {"records": self.serving_records, "columns": self.serving_drift},
        }


def recent_training_drift(registry: Registry, limit: int = RECENT_RUNS) -> list[RunDrift]:
    """Each recent run's training data against the champion it started with, newest first."""
    return [
        RunDrift(manifest.run_id, manifest.training_drift)
        for manifest in registry.records(limit=limit)
        if manifest.training_drift is not None
    ]


def serving_drift(url: str, timeout: float = 10) -> tuple[list[dict[str, Any]], float | None]:
    """The drift families of a running API's ``/metrics`` by column, and the window's records.

    The whole answer must arrive within ``timeout`` seconds (a server that trickles bytes is
    given up on, not waited for) and hold at most 16 MiB of Prometheus text with churn's drift
    families; a value that is not finite is shown as unknown (None).

    Raises:
        ChurnError: The API cannot be reached, is too slow, or does not answer with a churn
            API's metrics.
    """
    target = url.rstrip("/") + "/metrics"
    text = _fetch_text(target, timeout)
    try:
        families = list(text_string_to_metric_families(text))
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise ChurnError(
            f"{shorten(target)} does not answer with Prometheus metrics ({one_line(exc)[:200]}); "
            "is --api the address of `churn serve`?"
        ) from None
    if not any(family.name in SERVING_FAMILIES for family in families):
        raise ChurnError(
            f"{shorten(target)} holds no churn drift metrics ({', '.join(SERVING_FAMILIES)}); "
            "is --api the address of `churn serve`?"
        )
    columns: dict[str, dict[str, Any]] = {}
    records = None
    for family in families:
        for sample in family.samples:
            if sample.name == "churn_drift_window_records":
                records = _finite(sample.value)
            if family.name == "churn_drift_score_psi":
                columns.setdefault(SCORES, {"column": SCORES})["psi"] = _finite(sample.value)
            key = SERVING_FAMILIES.get(sample.name)
            name = sample.labels.get("column")
            if key is None or name is None:
                continue
            name = shorten(name, quote=False)
            entry = columns.setdefault(name, {"column": name})
            entry[key] = (
                STATUS_NAMES.get(sample.value) if key == "status" else _finite(sample.value)
            )
    return list(columns.values()), records


def check_api_url(url: str) -> str | None:
    """What is wrong with ``url`` as ``--api`` (None: an http(s) URL with a host)."""
    try:
        parts = urllib.parse.urlsplit(url)
        _ = parts.port  # raises on a port that is not a number
    except ValueError as exc:
        return f"--api {shorten(url)}: {one_line(exc)}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"--api {shorten(url)}: expected http://host:port or https://host:port"
    if any(ord(char) <= 32 or ord(char) == 127 for char in url):
        return f"--api {shorten(url)}: a URL has no spaces or control characters"
    return None


def _fetch_text(target: str, timeout: float) -> str:
    """The body of ``target`` as text, read whole within ``timeout`` seconds (a daemon thread
    does the reading, so a server that never finishes cannot hold the command)."""
    answer: dict[str, bytes | BaseException] = {}

    def fetch() -> None:
        try:
            with urllib.request.urlopen(target, timeout=timeout) as response:
                body = response.read(MAX_METRICS_BYTES + 1)
                if len(body) <= MAX_METRICS_BYTES and response.length:
                    raise OSError(f"the answer ends {response.length:,} bytes short of its length")
                answer["body"] = body
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            answer["error"] = exc

    reader = threading.Thread(target=fetch, name="churn-monitor-api", daemon=True)
    reader.start()
    reader.join(timeout)
    shown_target = shorten(target)
    if reader.is_alive():
        raise ChurnError(f"{shown_target} did not answer in full within {timeout:g} s")
    error = answer.get("error")
    if isinstance(error, BaseException):  # refused, reset, HTTP errors, a malformed answer
        raise ChurnError(f"cannot read {shown_target}: {one_line(error)[:300]}") from None
    body = answer["body"]
    assert isinstance(body, bytes)
    if len(body) > MAX_METRICS_BYTES:
        raise ChurnError(f"{shown_target} answered more than {MAX_METRICS_BYTES:,} bytes")
    try:
        return body.decode()
    except UnicodeDecodeError as exc:
        raise ChurnError(f"{shown_target} does not answer with text: {one_line(exc)}") from None


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def html_page(overview: Overview, chart: Markup | None = None) -> str:
    """A self-contained page: realized metrics per week (``chart`` and a table), drift tables."""
    parts = [Markup("<h1>churn monitor</h1><h2>Realized performance</h2>")]
    if overview.realized is None or not overview.realized.by_week:
        parts.append(Markup("<p>No outcomes recorded yet (<code>churn outcomes DATA</code>).</p>"))
    else:
        if chart is not None:
            parts.append(chart)
        parts.append(_realized_table(overview.realized))
    parts.append(Markup("<h2>Training data against the champion</h2>"))
    parts.append(_table(["run", "champion", "status", "alerts"], [
        [r.run_id, r.drift.champion, r.drift.status or "no profile", ", ".join(r.drift.alerts)]
        for r in overview.training_drift
    ]))  # fmt: skip
    if overview.serving_drift:
        parts.append(Markup("<h2>Serving window</h2>"))
        parts.append(Markup("<p>{} records</p>").format(f"{overview.serving_records or 0:,.0f}"))
        parts.append(_table(["column", "PSI", "status", "unseen", "null change"], [
            [c["column"], _fmt(c.get("psi")), c.get("status") or "-", _fmt(c.get("unseen_rate")),
             _fmt(c.get("null_rate_change"))] for c in overview.serving_drift
        ]))  # fmt: skip
    style = "body{font-family:sans-serif;margin:2em}td,th{padding:2px 8px;text-align:right}"
    body = Markup("").join(parts)
    return str(Markup("<!doctype html><meta charset=utf-8><title>churn monitor</title>"
                      "<style>{}</style>{}").format(style, body))  # fmt: skip


def _realized_table(record: RealizedRecord) -> Markup:
    rows = [
        [e.week or "all", e.run_id or "all", f"{e.rows:,}",
         *(_fmt(e.metric(name)) for name in REALIZED_METRICS)]
        for e in (*record.by_week, *record.by_run)
    ]  # fmt: skip
    return _table(["week", "run", "outcomes", *REALIZED_METRICS], rows)


def _table(header: list[str], rows: list[list[Any]]) -> Markup:
    head = Markup("").join(Markup("<th>{}</th>").format(name) for name in header)
    body = Markup("").join(
        Markup("<tr>{}</tr>").format(
            Markup("").join(Markup("<td>{}</td>").format(escape(str(v))) for v in row)
        )
        for row in rows
    )
    return Markup("<table><tr>{}</tr>{}</table>").format(head, body)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"
