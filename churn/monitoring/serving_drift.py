"""The served model's drift window, fed by the recorder and read by ``/metrics``.

A :class:`ServingDrift` is a sink of the process's
:class:`~churn.monitoring.recorder.ScoreRecorder`: every flush (about a second of requests) is
counted at once on the reference profile of the run that scored them (a few milliseconds of
numpy for a thousand records, :class:`~churn.monitoring.window.CategoryCounter`; the flush's
records are then let go, so no request's objects outlive the second it was answered in to
weigh on the garbage collector) (read once from the run folder, in the
recorder's thread) into a :class:`~churn.monitoring.window.DriftWindow`; a new champion starts a
new window. A run without a profile (trained before profiles existed) is not tracked, and
that is logged once.

Under ``churn serve --workers N`` each process also writes its window's counts to
``drift-<pid>.json`` in the shared metrics folder after every flush (atomically, a few KB),
and :func:`merged_window` adds up the files of the living processes at scrape time, so PSI is
computed from the counts of every worker together (a PSI per worker cannot be merged).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Final, Protocol

import numpy as np

from churn.errors import RegistryError, one_line
from churn.monitoring.profile import ReferenceProfile, read_profile
from churn.monitoring.scored import ScoredBatch, Sink
from churn.monitoring.window import DriftWindow, WindowCounts, concatenated, merge_windows
from churn.orphans import process_running
from churn.registry import Registry
from churn.registry.atomic_io import atomic_write, to_json
from churn.registry.reading import parse_json, read_regular
from churn.spec.monitoring import WindowSpec

log = logging.getLogger(__name__)

WINDOW_FILE_PREFIX: Final = "drift-"
MAX_WINDOW_FILE_BYTES: Final = 4 * 1024 * 1024


class ServingDrift:
    """The drift window of whatever model this process serves.

    Args:
        registry: Where the runs' profiles are read.
        window: ``monitoring.window``.
        shared: The folder every worker writes its counts to (None: one process).
    """

    def __init__(
        self,
        registry: Registry,
        window: WindowSpec,
        shared: Path | None = None,
    ) -> None:
        self.registry = registry
        self.window_spec = window
        self.shared = shared
        self._window: DriftWindow | None = None
        self._untracked: set[str] = set()
        self._lock = threading.Lock()

    def sink(self) -> Sink:
        """The recorder's sink feeding this window."""
        return Sink("drift", self.consume, self.tick)

    @property
    def profile(self) -> ReferenceProfile | None:
        """The profile the window counts on (None: nothing tracked yet)."""
        window = self._window
        return window.profile if window is not None else None

    def consume(self, batches: Sequence[ScoredBatch]) -> None:
        """Count one flush, model by model, on each model's profile."""
        for run_id in dict.fromkeys(batch.run_id for batch in batches):
            mine = [b for b in batches if b.run_id == run_id and b.columns is not None]
            window = self._window_for(run_id)
            if window is None or not mine:
                continue
            columns = {}
            for reference in window.profile.columns:
                values = concatenated([b.columns or {} for b in mine], reference.column)
                if values is not None:
                    columns[reference.column] = values
            scores = np.concatenate([b.proba for b in mine])
            with self._lock:
                window.add(columns, scores, max(b.scored_at for b in mine))
        self._export()

    def tick(self) -> None:
        """Slide a seconds window with time (no records needed)."""
        if self._window is not None and self.window_spec.seconds is not None:
            with self._lock:
                self._window.slide()
            self._export()

    def counts(self) -> WindowCounts | None:
        """This process's window now (None: nothing tracked)."""
        if self._window is None:
            return None
        with self._lock:
            return self._window.counts()

    def forget(self) -> None:
        """Remove this process's shared file (the worker is stopping)."""
        if self.shared is not None:
            (self.shared / f"{WINDOW_FILE_PREFIX}{os.getpid()}.json").unlink(missing_ok=True)

    def _window_for(self, run_id: str) -> DriftWindow | None:
        if self._window is not None and self._window.profile.run_id == run_id:
            return self._window
        if run_id in self._untracked:
            return None
        try:
            profile = read_profile(self.registry.run_dir(run_id))
        except RegistryError as exc:
            self._untracked.add(run_id)
            log.warning("drift of run %s is not tracked: %s", run_id, one_line(exc))
            return None
        self._window = DriftWindow(profile, self.window_spec)
        return self._window

    def _export(self) -> None:
        counts = self.counts()
        if self.shared is None or counts is None:
            return
        text = to_json(counts.to_json())
        path = self.shared / f"{WINDOW_FILE_PREFIX}{os.getpid()}.json"
        atomic_write(path, lambda handle: handle.write(text.encode()))


class DriftView(Protocol):
    """What ``/metrics`` reads of a process's drift window."""

    @property
    def profile(self) -> ReferenceProfile | None: ...
    def counts(self) -> WindowCounts | None: ...
    def forget(self) -> None: ...


class DriftMirror:
    """A serving worker's copy of the drift window its recorder process counts
    (:mod:`churn.monitoring.recorder_process`): the latest counts it sent, and the profile
    they are counted on. The process writes the ``--workers`` shared file itself."""

    def __init__(self) -> None:
        self._state: tuple[ReferenceProfile | None, WindowCounts | None] = (None, None)

    @property
    def profile(self) -> ReferenceProfile | None:
        """The profile the window counts on (None: nothing tracked yet)."""
        return self._state[0]

    def counts(self) -> WindowCounts | None:
        """The window as last sent (None: nothing tracked)."""
        return self._state[1]

    def update(self, profile: ReferenceProfile | None, counts: WindowCounts | None) -> None:
        """Keep the process's latest ``counts`` (``profile``: a new one, else None)."""
        self._state = (profile if profile is not None else self._state[0], counts)

    def forget(self) -> None:
        """Nothing to remove: the recorder process removes its own file."""


def merged_window(
    shared: Path, run_id: str, profile: ReferenceProfile | None = None
) -> WindowCounts | None:
    """The windows of every living worker counted on ``run_id``'s profile, added up.

    A file that cannot be used is skipped with a warning naming it, never raised: a truncated
    or damaged one, or one whose counts do not fit ``profile`` (when given; a stale file of a
    process whose pid was reused, a window counted on other buckets).
    """
    windows = []
    for path in shared.glob(f"{WINDOW_FILE_PREFIX}*.json"):
        pid = path.stem.removeprefix(WINDOW_FILE_PREFIX)
        if not pid.isdigit() or not process_running(int(pid)):
            continue
        try:
            raw = read_regular(path, what="drift window", limit=MAX_WINDOW_FILE_BYTES)
            window = WindowCounts.from_json(parse_json(raw, source=str(path)))
            if profile is not None and window.run_id == run_id:
                check_fits(window, profile)
            windows.append(window)
        except FileNotFoundError:
            continue
        except (RegistryError, KeyError, TypeError, ValueError) as exc:
            log.warning("skipping %s: %s", path, one_line(exc))
    return merge_windows(windows, run_id)


def check_fits(window: WindowCounts, profile: ReferenceProfile) -> None:
    """Raise ValueError naming the first column whose counts ``profile``'s buckets cannot hold.

    Raises:
        ValueError: A column the profile lacks, a count of another length, a negative count.
    """
    wanted = {reference.column: len(reference.counts) for reference in profile.columns}
    for name, counts in [*window.columns.items(), ("(scores)", window.scores)]:
        length = len(profile.scores.counts) if name == "(scores)" else wanted.get(name)
        if length is None:
            raise ValueError(f"column {name!r} is not in run {profile.run_id}'s profile")
        if counts.counts.shape != (length,):
            raise ValueError(f"{name}: {counts.counts.size} counts for {length} buckets")
        if min(counts.unseen, counts.nulls, counts.rows, *counts.counts.tolist(), 0) < 0:
            raise ValueError(f"{name}: a negative count")
