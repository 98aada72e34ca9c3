"""Drift and realized performance in ``/metrics``, computed when scraped.

A custom collector, not gauges: PSI is not a sum, so under ``--workers N`` it cannot be merged
by prometheus-client's multiprocess mode. The collector adds up the workers' window counts
(:func:`~churn.monitoring.serving_drift.merged_window`) and judges them against the champion's
profile and the spec's thresholds (:func:`~churn.monitoring.drift.compare_counts`) at scrape
time. Realized performance is read from ``monitoring/realized.json`` (the latest ISO week), and
the gates' lower bounds are exported beside it so an alert can compare the two.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from pathlib import Path

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from churn.errors import RegistryError, one_line
from churn.monitoring.drift import SCORES, compare_counts
from churn.monitoring.realized import REALIZED_METRICS, RealizedRecord, read_realized
from churn.monitoring.serving_drift import DriftView, merged_window
from churn.monitoring.window import WindowCounts
from churn.spec import Spec

log = logging.getLogger(__name__)

STATUS_VALUE = {"ok": 0.0, "warn": 1.0, "alert": 2.0}


class MonitoringCollector(Collector):
    """Exports the serving window's drift and the latest realized performance.

    Args:
        spec: The served spec (monitoring thresholds, gate bounds).
        home: The registry home (``monitoring/realized.json``).
        drift: This process's drift window (None: drift tracking off).
        shared: The workers' shared metrics folder (None: one process).
        serving: The run id of the model serving now (None: none).
    """

    def __init__(
        self,
        spec: Spec,
        home: Path,
        drift: DriftView | None,
        shared: Path | None,
        serving: Callable[[], str | None],
    ) -> None:
        self.spec = spec
        self.home = home
        self.drift = drift
        self.shared = shared
        self.serving = serving

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Every drift and realized-performance family (empty families when nothing is known)."""
        yield from self._drift()
        yield from self._realized()

    def _window(self) -> WindowCounts | None:
        run_id = self.serving()
        if self.drift is None or run_id is None:
            return None
        if self.shared is not None:
            profile = self.drift.profile  # the files are checked against it before adding up
            if profile is None or profile.run_id != run_id:
                return None
            return merged_window(self.shared, run_id, profile)
        counts = self.drift.counts()
        return counts if counts is not None and counts.run_id == run_id else None

    def _drift(self) -> Iterator[GaugeMetricFamily]:
        psi = GaugeMetricFamily(
            "churn_drift_psi",
            "PSI of each input column over the serving window, against the champion's "
            "training data (its reference buckets).",
            labels=["column"],
        )
        score_psi = GaugeMetricFamily(
            "churn_drift_score_psi",
            "PSI of the served scores over the window, against the champion's hold-out scores.",
        )
        unseen = GaugeMetricFamily(
            "churn_drift_unseen_rate",
            "Share of a category column's served values never seen in training.",
            labels=["column"],
        )
        nulls = GaugeMetricFamily(
            "churn_drift_null_rate_change",
            "A column's null rate over the window less its null rate in training.",
            labels=["column"],
        )
        status = GaugeMetricFamily(
            "churn_drift_status",
            "0 ok, 1 warn, 2 alert per column ((scores): the scores), by the spec's monitoring "
            "thresholds.",
            labels=["column"],
        )
        alert_at = GaugeMetricFamily(
            "churn_drift_psi_alert_threshold",
            "The PSI at which a column ((scores): the scores) alerts (monitoring.psi_alert).",
            labels=["column"],
        )
        rows = GaugeMetricFamily(
            "churn_drift_window_records", "Served records in the drift window (all workers)."
        )
        window = self._window()
        profile = self.drift.profile if self.drift is not None else None
        if window is not None and profile is not None and profile.run_id == window.run_id:
            result = compare_counts(
                profile, window.columns, self.spec.monitoring, scores=window.scores
            )
            rows.add_metric([], float(window.rows))
            for column in result.columns:
                status.add_metric([column.column], STATUS_VALUE[column.status])
                alert_at.add_metric(
                    [column.column],
                    self.spec.monitoring.thresholds(
                        None if column.column == SCORES else column.column
                    ).psi_alert,
                )
                value = math.nan if column.psi is None else column.psi
                if column.column == SCORES:
                    score_psi.add_metric([], value)
                    continue
                psi.add_metric([column.column], value)
                nulls.add_metric(
                    [column.column], column.null_rate_current - column.null_rate_reference
                )
                if column.kind == "category":
                    unseen.add_metric([column.column], column.unseen_rate)
        yield from (psi, score_psi, unseen, nulls, status, alert_at, rows)

    def _realized(self) -> Iterator[GaugeMetricFamily]:
        realized = GaugeMetricFamily(
            "churn_realized_metric",
            "Realized precision, recall, ROC-AUC and profit of the latest ISO week with known "
            "outcomes (churn outcomes).",
            labels=["metric"],
        )
        week_rows = GaugeMetricFamily(
            "churn_realized_outcomes",
            "Predictions with a known outcome in that week.",
        )
        bounds = GaugeMetricFamily(
            "churn_gate_lower_bound",
            "The lower bound of each value gate of the spec (realized metrics alert below it).",
            labels=["metric"],
        )
        for gate in self.spec.gates.value:
            if gate.lower is not None:
                bounds.add_metric([gate.metric], gate.lower)
        record = self._record()
        latest = record.latest_week if record is not None else None
        if latest is not None:
            week_rows.add_metric([], float(latest.rows))
            for name in REALIZED_METRICS:
                value = latest.metric(name)
                if value is not None:
                    realized.add_metric([name], value)
        yield from (realized, week_rows, bounds)

    def _record(self) -> RealizedRecord | None:
        try:
            return read_realized(self.home)
        except RegistryError as exc:
            log.warning("realized performance not exported: %s", one_line(exc))
            return None
