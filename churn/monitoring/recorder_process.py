"""The recorder's sinks in a process of their own, so their work never holds a serving
worker's GIL.

A serving worker runs its event loop and its recorder's thread in one interpreter: each
second the thread's Parquet write and drift counts held the GIL for milliseconds, and the
requests that arrived meanwhile waited. With :class:`SinkProcess` as the recorder's handler,
what stays in the worker is the recorder's queue (appends to a few per-column lists) and one
``send`` per flush of the flush's batches through a pipe; the recorder process (started from
a fork server that has imported this module once, so starting one costs a ``fork``) builds
the sinks from a :class:`SinkPlan` (the prediction log's files or table, the drift window)
and hands each flush to them, exactly as the thread did (:class:`SinkRunner`): the same log
rows, the same counts. After each message it sends back what the sinks counted (``written``,
``failed``, ``dropped``, for ``/metrics``) and its drift window's counts, which the worker's
:class:`~churn.monitoring.serving_drift.DriftMirror` keeps for ``/metrics``.

The process never outlives its worker: it ends when the pipe reaches end of file, which the
kernel makes happen when the worker exits, however it exits (a ``kill -9`` included), after
handing what it received to the sinks (so a crash still loses at most the last flush). It
ignores SIGINT and SIGTERM (a Ctrl-C, or a service manager's stop, reaches the whole process
group; the worker's last flush must still be written) and ends with the pipe only. A
recorder process that died is started again at the next flush; the flush that found it
dead is counted ``failed``.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from churn.errors import one_line
from churn.monitoring.recorder import LogPlan, ScoreRecorder, SinkRunner, log_plan, score_recorder
from churn.monitoring.scored import Count, ScoredBatch, Sink
from churn.monitoring.serving_drift import DriftMirror, DriftView, ServingDrift
from churn.registry import Registry
from churn.settings import ChurnSettings
from churn.spec.monitoring import WindowSpec

if TYPE_CHECKING:
    from churn.spec import Spec

log = logging.getLogger(__name__)

CLOSE_SECONDS: Final = 15.0
"""How long closing waits for the process's last flush (a database write times out in 10 s)."""


@dataclass(frozen=True)
class SinkPlan:
    """What the recorder's process builds its sinks from (plain, picklable values)."""

    log: LogPlan
    drift_home: Path | None = None
    """The registry whose runs' profiles the drift window counts on (None: no drift)."""
    drift_window: WindowSpec | None = None
    drift_shared: Path | None = None
    """The workers' shared metrics folder (``--workers``), where the window's counts go."""

    @property
    def names(self) -> tuple[str, ...]:
        """The sinks' names, in order (as ``churn_recorded_records_total{sink}`` counts them)."""
        return tuple(sink.name for sink in self.sinks()[0])

    def sinks(self, count: Count | None = None) -> tuple[list[Sink], ServingDrift | None]:
        """The sinks (nothing connected yet), and the drift window among them."""
        sinks = self.log.sinks(count)
        drift = None
        if self.drift_home is not None and self.drift_window is not None:
            drift = ServingDrift(Registry(self.drift_home), self.drift_window, self.drift_shared)
            sinks.append(drift.sink())
        return sinks, drift


def _forkserver() -> Any:
    """The fork server context, preloading this module (started on first use)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


class SinkProcess:
    """The recorder's handler feeding a recorder process (see the module's docstring)."""

    def __init__(self, plan: SinkPlan, count: Count | None, mirror: DriftMirror | None) -> None:
        self.plan = plan
        self.names = plan.names
        self.mirror = mirror
        self._count = count or (lambda sink, result, n: None)
        self._process: Any = None
        self._connection: Connection | None = None
        self._broken = False
        self._ticked = False
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        """The recorder process's id (None: not started)."""
        return self._process.pid if self._process is not None else None

    def start(self) -> SinkProcess:
        """Start the recorder process (from the fork server; the first start waits for it to
        import the sinks' modules, about 1.5 s of CPU, once per worker). A process that cannot
        be started is logged, and tried again at the next flush."""
        try:
            context = _forkserver()
            ours, theirs = context.Pipe()
            process = context.Process(
                target=serve_sinks, args=(theirs, self.plan), name="churn-recorder", daemon=True
            )
            process.start()
            theirs.close()
        except Exception as exc:  # noqa: BLE001 - no recorder never stops serving
            self._fail(f"the recorder process cannot be started: {one_line(exc)}")
        else:
            self._process, self._connection = process, ours
            # at exit, before multiprocessing joins its children: a worker that never closed
            # the recorder (a failed start-up) must not wait for ever on a process that waits
            # for the end of its pipe (atexit runs the functions registered last first)
            atexit.register(self._abandon)
        return self

    def consume(self, batches: Sequence[ScoredBatch]) -> None:
        """Send one flush to the process (counted ``failed`` when it cannot be sent); the
        process lets its sinks age after it too."""
        self._send(("flush", list(batches)), sum(batch.rows for batch in batches))
        self._ticked = True

    def tick(self) -> None:
        """Let the process's sinks age (a seconds window slides): a message of its own only
        when no flush was sent since the last wake, so a busy second sends one message."""
        if not self._ticked:
            self._send(("tick", None), 0)
        self._ticked = False

    def close(self) -> None:
        """Send the end, wait for the last counts, and let the process end."""
        with self._lock:
            if self._connection is None:
                return
            with contextlib.suppress(OSError, ValueError):
                self._connection.send(None)
            deadline = time.monotonic() + CLOSE_SECONDS
            self._drain(until=deadline)
            self._connection.close()
            self._connection = None
            atexit.unregister(self._abandon)
            self._process.join(max(0.0, deadline - time.monotonic()))
            if self._process.is_alive():
                log.error("the recorder process (pid %d) did not end; stopped", self._process.pid)
                self._process.terminate()
                self._process.join(1.0)

    def _abandon(self) -> None:
        """At exit: close our end of the pipe and wait for the process to write what it
        received and end (before multiprocessing's own exit handler would terminate it)."""
        if self._connection is not None:
            self._connection.close()
            self._process.join(CLOSE_SECONDS)

    def _send(self, message: tuple[str, object], rows: int) -> None:
        with self._lock:
            self._drain()
            if self._connection is None or not self._process.is_alive():
                self._restart()
            if self._connection is None:
                self._failed(rows)
                return
            try:
                self._connection.send(message)
            except (OSError, ValueError) as exc:
                self._fail(f"the recorder process cannot be reached: {one_line(exc)}")
                self._failed(rows)
            else:
                self._broken = False

    def _failed(self, rows: int) -> None:
        for name in self.names:
            self._count(name, "failed", rows)

    def _fail(self, message: str) -> None:
        """Log ``message`` unless a failure was logged since the last message sent."""
        if not self._broken:
            self._broken = True
            log.error("%s", message)

    def _restart(self) -> None:
        if self._connection is not None:
            log.error("the recorder process (pid %d) has ended; starting another", self.pid)
            self._connection.close()
            self._connection = None
            atexit.unregister(self._abandon)
        self.start()

    def _drain(self, until: float | None = None) -> None:
        """Take the process's replies: now (``until`` None), or until it closes the pipe."""
        connection = self._connection
        while connection is not None:
            wait = 0.0 if until is None else max(0.0, until - time.monotonic())
            try:
                if not connection.poll(wait):
                    return
                counted, profile, counts = connection.recv()
            except (EOFError, OSError):
                return
            for sink, result, n in counted:
                self._count(sink, result, n)
            if self.mirror is not None:
                self.mirror.update(profile, counts)


def serve_sinks(connection: Connection, plan: SinkPlan) -> None:
    """The recorder process: hand every flush received to the sinks until the end (None or
    end of file), replying with what was counted after each message."""
    logging.basicConfig(format="churn recorder %(process)d: %(levelname)s %(message)s")
    for sig in (signal.SIGINT, signal.SIGTERM):  # the worker's last flush is still to come
        signal.signal(sig, signal.SIG_IGN)
    counted: list[tuple[str, str, int]] = []
    sinks, drift = plan.sinks(lambda sink, result, n: counted.append((sink, result, n)))
    runner = SinkRunner(sinks, lambda sink, result, n: counted.append((sink, result, n)))
    shown: str | None = None
    try:
        while True:
            try:
                message = connection.recv()
            except (EOFError, OSError):
                break
            if message is None:
                break
            kind, batches = message
            if kind == "flush":
                runner.consume(batches)
            runner.tick()  # as the recorder's thread does after each flush
            shown = _reply(connection, counted, drift, shown)
    finally:
        runner.close()
        if drift is not None:
            drift.forget()
        _reply(connection, counted, drift, shown)
        connection.close()


def _reply(
    connection: Connection,
    counted: list[tuple[str, str, int]],
    drift: ServingDrift | None,
    shown: str | None,
) -> str | None:
    """Send what was counted and the window (its profile when new); the run id shown."""
    counts = drift.counts() if drift is not None else None
    profile = drift.profile if drift is not None else None
    run_id = profile.run_id if profile is not None else None
    with contextlib.suppress(OSError, ValueError):
        connection.send((list(counted), profile if run_id != shown else None, counts))
        counted.clear()
        return run_id
    return shown


def serving_recorder(
    settings: ChurnSettings,
    home: Path,
    spec: Spec,
    *,
    drift: bool,
    shared: Path | None,
    count: Count | None,
    process: bool,
) -> tuple[ScoreRecorder | None, DriftView | None]:
    """A serving worker's recorder (not started) and its drift window (None when off): the
    prediction log (:func:`~churn.monitoring.recorder.log_plan`) and, when ``drift``, the
    window of ``spec.monitoring.window``. With ``process``, the sinks run in a recorder
    process (:class:`SinkProcess`, started with the recorder), else in the recorder's thread.
    ``shared``: the ``--workers`` metrics folder each window writes its counts to."""
    interval = settings.prediction_log_flush_seconds
    window = spec.monitoring.window
    if not process:
        local = ServingDrift(Registry(home), window, shared) if drift else None
        sinks = [local.sink()] if local is not None else []
        return score_recorder(settings, home, spec=spec, sinks=sinks, count=count), local
    plan = SinkPlan(
        log_plan(settings, home, spec),
        drift_home=home if drift else None,
        drift_window=window if drift else None,
        drift_shared=shared,
    )
    if not plan.names:
        return None, None
    mirror = DriftMirror() if drift else None
    handler = SinkProcess(plan, count, mirror)
    return ScoreRecorder((), interval=interval, count=count, handler=handler), mirror
