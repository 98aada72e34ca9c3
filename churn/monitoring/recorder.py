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

The thread hands each flush to a :class:`Handler`: a :class:`SinkRunner` calling the sinks in
this process (``churn score``), or, for a serving worker, the pipe to a recorder process that
runs the same sinks (:mod:`churn.monitoring.recorder_process`), so their work never holds the
worker's GIL.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

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
from churn.sources.database_url import DatabaseUrl
from churn.sources.score_table import TableName

if TYPE_CHECKING:
    from churn.spec import Spec

log = logging.getLogger(__name__)


class SinkRunner:
    """Hands each flush to every sink: a sink that raises is counted ``failed`` and logged
    once (until one of its flushes succeeds again), never raised. Used by the recorder's
    thread, or by its process (:mod:`churn.monitoring.recorder_process`)."""

    def __init__(self, sinks: Sequence[Sink], count: Count | None = None) -> None:
        self.sinks = tuple(sinks)
        self.names = tuple(sink.name for sink in self.sinks)
        self._count = count or (lambda sink, result, n: None)
        self._failing: set[str] = set()

    def start(self) -> SinkRunner:
        """Nothing to start: the sinks connect on their first flush."""
        return self

    def consume(self, batches: Sequence[ScoredBatch]) -> None:
        """Hand ``batches`` (one flush) to every sink."""
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

    def tick(self) -> None:
        """Let every sink age (a seconds window slides)."""
        for sink in self.sinks:
            if sink.tick is None:
                continue
            try:
                sink.tick()
            except Exception as exc:  # noqa: BLE001 - a broken sink never stops the thread
                if sink.name not in self._failing:
                    self._failing.add(sink.name)
                    log.error("%s: %s", sink.name, one_line(exc))

    def close(self) -> None:
        """Close every sink (after the last flush); a failure is logged, never raised."""
        for sink in self.sinks:
            if sink.close is not None:
                try:
                    sink.close()
                except Exception as exc:  # noqa: BLE001 - closing never fails the caller
                    log.error("%s: %s", sink.name, one_line(exc))


class Handler(Protocol):
    """Where the recorder's thread hands what it takes: a :class:`SinkRunner` in this process,
    or the pipe to the recorder's process."""

    names: tuple[str, ...]

    def start(self) -> object: ...
    def consume(self, batches: Sequence[ScoredBatch]) -> None: ...
    def tick(self) -> None: ...
    def close(self) -> None: ...


class ScoreRecorder:
    """Queues scored batches and flushes them to ``sinks`` (or ``handler``) from a background
    thread."""

    def __init__(
        self,
        sinks: Sequence[Sink],
        *,
        interval: float = 1.0,
        flush_records: int = 100_000,
        max_pending: int = 1_000_000,
        count: Count | None = None,
        handler: Handler | None = None,
    ) -> None:
        self.sinks = tuple(sinks)
        self.handler: Handler = handler if handler is not None else SinkRunner(sinks, count)
        self.interval = interval
        self.flush_records = flush_records
        self.max_pending = max_pending
        self._count = count or (lambda sink, result, n: None)
        self._lock = threading.Lock()
        self._pending = PendingRecords()
        self._wake = threading.Event()
        self._stopping = False
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
            for name in self.handler.names:
                self._count(name, "dropped", batch.rows)
        elif full:
            self._wake.set()

    def start(self) -> ScoreRecorder:
        """Start the handler (a recorder process waits until it runs) and the flushing thread
        (a daemon: it never keeps a process alive)."""
        if self._thread is None:
            self.handler.start()
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
        self.handler.close()

    def flush(self) -> int:
        """Hand what is queued to every sink now; the number of records taken."""
        with self._lock:
            pending, self._pending = self._pending, PendingRecords()
        if pending.empty:
            return 0
        batches = pending.batches()
        self.handler.consume(batches)
        return sum(batch.rows for batch in batches)

    def _run(self) -> None:
        next_flush = time.monotonic() + self.interval
        while not self._stopping:
            self._wake.wait(max(0.0, next_flush - time.monotonic()))
            self._wake.clear()
            next_flush = time.monotonic() + self.interval
            self.flush()
            self.handler.tick()
        self.flush()


@dataclass(frozen=True)
class LogPlan:
    """Where the prediction log goes, as plain (picklable) values: the recorder's process
    builds its sink from them. Nothing is connected or written when it is made."""

    folder: Path | None = None
    """The Parquet folder (None: no files)."""
    max_bytes: int = 0
    table: tuple[DatabaseUrl, TableName] | None = None
    """The database table (None: no table)."""
    table_error: str | None = None
    """Why the table set cannot be used (every flush then fails with it)."""

    def sinks(self, count: Count | None = None) -> list[Sink]:
        """The log's sink (none when the log is off)."""
        if self.table_error is not None:
            return [unusable_table_sink(SourceError(self.table_error))]
        if self.table is not None:
            return [PredictionTableWriter(*self.table, count=count).sink()]
        if self.folder is not None:
            return [log_sink(PredictionLogFolder(self.folder, max_bytes=self.max_bytes))]
        return []


def log_plan(settings: ChurnSettings, home: Path, spec: Spec | None = None) -> LogPlan:
    """The prediction log of a serving or scoring process: off, Parquet files, or the database
    table of ``CHURN_PREDICTION_LOG_TABLE`` (on ``spec``'s database) when set.

    A log table without a usable database URL does not stop the process: its sink fails every
    flush with the reason (logged once, counted ``failed``).
    """
    folder = settings.prediction_log_folder(home)
    if folder is not None and settings.prediction_log_table is not None:
        try:
            table = prediction_table_target(settings, spec)
        except SourceError as exc:
            return LogPlan(table_error=str(exc))
        assert table is not None
        return LogPlan(table=table)
    if folder is not None:
        return LogPlan(folder, max_bytes=settings.prediction_log_max_mb * 1024 * 1024)
    return LogPlan()


def score_recorder(
    settings: ChurnSettings,
    home: Path,
    *,
    spec: Spec | None = None,
    sinks: Sequence[Sink] = (),
    count: Count | None = None,
) -> ScoreRecorder | None:
    """The recorder of a scoring process, its sinks in its own thread: the prediction log
    (:func:`log_plan`) and ``sinks``; None when there is nothing to record to. Not started."""
    every = (*log_plan(settings, home, spec).sinks(count), *sinks)
    if not every:
        return None
    return ScoreRecorder(every, interval=settings.prediction_log_flush_seconds, count=count)
