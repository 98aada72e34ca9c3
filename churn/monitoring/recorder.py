"""Off the request path: what was scored is queued and handed to the sinks by one thread.

The API (per answered request) and ``churn score`` (per chunk) call :meth:`ScoreRecorder.record`,
which adds a :class:`~churn.monitoring.scored.ScoredBatch` to what waits under a lock and
returns: the caller never waits on disk. A request's records are copied into a few long
per-column lists (:class:`~churn.monitoring.pending.PendingRecords`), so its own objects are
freed when it is answered and the garbage collector does not walk a second of them. A daemon
thread wakes every ``interval`` seconds (or when ``flush_records`` records wait), takes what
waits and hands it to each sink (the prediction
log's writer, the drift window). So a crash loses what was recorded since the last flush: at
most ``interval`` seconds plus the write in progress.

A sink that raises never reaches the caller: its records are counted as ``failed``, the first
failure is logged (once, until a flush of that sink succeeds again), and the next flush tries
again. When the sinks fall behind, at most ``max_pending`` records wait; more are counted as
``dropped``, so memory stays bounded. A sink that keeps failed flushes to retry them (the
database table, :mod:`churn.monitoring.prediction_table`) returns how many records a later
flush wrote in all, and counts what it gives up as ``dropped`` itself.

The prediction log goes to Parquet files (:mod:`churn.monitoring.prediction_log`), or to the
database table ``CHURN_PREDICTION_LOG_TABLE`` names.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from churn.errors import SourceError, one_line
from churn.monitoring.pending import PendingRecords
from churn.monitoring.prediction_log import PredictionLogFolder, log_sink
from churn.monitoring.prediction_table import (
    PredictionTableWriter,
    prediction_table_target,
    unusable_table_sink,
)
from churn.monitoring.scored import Count, ScoredBatch, Sink
from churn.settings import ChurnSettings

if TYPE_CHECKING:
    from churn.spec import Spec

log = logging.getLogger(__name__)


class ScoreRecorder:
    """Queues scored batches and flushes them to ``sinks`` from a background thread."""

    def __init__(
        self,
        sinks: Sequence[Sink],
        *,
        interval: float = 1.0,
        flush_records: int = 100_000,
        max_pending: int = 1_000_000,
        count: Count | None = None,
    ) -> None:
        self.sinks = tuple(sinks)
        self.interval = interval
        self.flush_records = flush_records
        self.max_pending = max_pending
        self._count = count or (lambda sink, result, n: None)
        self._lock = threading.Lock()
        self._pending = PendingRecords()
        self._wake = threading.Event()
        self._stopping = False
        self._failing: set[str] = set()
        self._thread: threading.Thread | None = None

    def record(self, batch: ScoredBatch) -> None:
        """Queue ``batch`` for the next flush (never blocks on I/O, never raises)."""
        with self._lock:
            if self._pending.rows + batch.rows > self.max_pending:
                dropped = True
            else:
                dropped = False
                self._pending.add(batch)
                full = self._pending.rows >= self.flush_records
        if dropped:
            for sink in self.sinks:
                self._count(sink.name, "dropped", batch.rows)
        elif full:
            self._wake.set()

    def start(self) -> ScoreRecorder:
        """Start the flushing thread (a daemon: it never keeps a process alive)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="churn-recorder", daemon=True)
            self._thread.start()
        return self

    def close(self, timeout: float = 10.0) -> None:
        """Flush what is queued and stop the thread (or flush here, when it never started)."""
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        else:
            self.flush()
        for sink in self.sinks:
            if sink.close is not None:
                try:
                    sink.close()
                except Exception as exc:  # noqa: BLE001 - closing never fails the caller
                    log.error("%s: %s", sink.name, one_line(exc))

    def flush(self) -> int:
        """Hand what is queued to every sink now; the number of records taken."""
        with self._lock:
            pending, self._pending = self._pending, PendingRecords()
        if pending.empty:
            return 0
        batches = pending.batches()
        rows = sum(batch.rows for batch in batches)
        for sink in self.sinks:
            try:
                written = sink.consume(batches)
            except Exception as exc:  # noqa: BLE001 - a broken sink never fails scoring
                self._count(sink.name, "failed", rows)
                if sink.name not in self._failing:
                    self._failing.add(sink.name)
                    log.error("%s: %d records not recorded: %s", sink.name, rows, one_line(exc))
                continue
            self._count(sink.name, "written", rows if written is None else written)
            if sink.name in self._failing:
                self._failing.discard(sink.name)
                log.warning("%s: recording again", sink.name)
        return rows

    def _run(self) -> None:
        next_flush = time.monotonic() + self.interval
        while not self._stopping:
            self._wake.wait(max(0.0, next_flush - time.monotonic()))
            self._wake.clear()
            next_flush = time.monotonic() + self.interval
            self.flush()
            self._tick()
        self.flush()

    def _tick(self) -> None:
        for sink in self.sinks:
            if sink.tick is None:
                continue
            try:
                sink.tick()
            except Exception as exc:  # noqa: BLE001 - a broken sink never stops the thread
                if sink.name not in self._failing:
                    self._failing.add(sink.name)
                    log.error("%s: %s", sink.name, one_line(exc))


def score_recorder(
    settings: ChurnSettings,
    home: Path,
    *,
    spec: Spec | None = None,
    sinks: Sequence[Sink] = (),
    count: Count | None = None,
) -> ScoreRecorder | None:
    """The recorder of a serving or scoring process: the prediction log (unless turned off;
    into the database table of ``CHURN_PREDICTION_LOG_TABLE`` when set, on ``spec``'s database)
    and ``sinks``; None when there is nothing to record to. Not started.

    Nothing is connected here, and a log table without a usable database URL does not stop the
    process: its sink fails every flush with the reason (logged once, counted ``failed``).
    """
    folder = settings.prediction_log_folder(home)
    logged = []
    if folder is not None and settings.prediction_log_table is not None:
        try:
            table = prediction_table_target(settings, spec)
        except SourceError as exc:
            logged.append(unusable_table_sink(exc))
        else:
            assert table is not None
            logged.append(PredictionTableWriter(*table, count=count).sink())
    elif folder is not None:
        max_bytes = settings.prediction_log_max_mb * 1024 * 1024
        logged.append(log_sink(PredictionLogFolder(folder, max_bytes=max_bytes)))
    every = (*logged, *sinks)
    if not every:
        return None
    return ScoreRecorder(every, interval=settings.prediction_log_flush_seconds, count=count)
