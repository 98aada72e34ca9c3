"""Peak memory of a process tree, sampled from ``/proc`` while steps run.

A run's steps happen in this process and in the training pool's worker processes, so the
memory a step costs is that of the whole tree: :class:`TreeMemory` samples the proportional
set size (PSS, from ``/proc/PID/smaps_rollup``; pages shared after a fork are split between
the processes that share them, so forked workers are not counted twice) of a process and all
its descendants every ``interval`` seconds in one daemon thread, and :meth:`TreeMemory.watch`
gives the peak seen while a block ran. Where ``/proc`` is missing it reports nothing (0).

Nothing happens at import time; the thread runs only between :meth:`start` and :meth:`stop`.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
INTERVAL = 1.0
"""Seconds between samples. Reading ``smaps_rollup`` walks a process's page tables: about 5-10
ms of CPU for a 500 MB process, so a tree of five sampled five times a second cost ``churn
run`` about 2 CPU s on a 2-core machine; once a second costs a fifth of that. A step is
sampled at its start and end as well, so a short step still has its peak."""
FRESH = 0.05
"""A block that starts within this many seconds of a finished sample (the previous step's
closing one: steps run back to back) starts from that sample instead of measuring again."""


@dataclass(eq=False)
class Peak:
    """The largest tree size seen while one watched block ran, in bytes (compared by
    identity: two blocks with the same peak are still two blocks)."""

    bytes: int = 0

    @property
    def megabytes(self) -> float:
        """The peak in MB (10^6 bytes)."""
        return self.bytes / 1e6


def tree_pids(root: int) -> list[int]:
    """``root`` and all its living descendants (read from ``/proc/PID/task/*/children``)."""
    found, queue = [], [root]
    while queue:
        pid = queue.pop()
        found.append(pid)
        for task in _listdir(PROC / str(pid) / "task"):
            children = _read(PROC / str(pid) / "task" / task / "children")
            queue.extend(int(child) for child in children.split())
    return found


def process_bytes(pid: int) -> int:
    """PSS of one process (RSS where ``smaps_rollup`` is unreadable), 0 when it is gone."""
    for line in _read(PROC / str(pid) / "smaps_rollup").splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    statm = _read(PROC / str(pid) / "statm").split()
    return int(statm[1]) * os.sysconf("SC_PAGE_SIZE") if len(statm) > 1 else 0


def tree_bytes(root: int) -> int:
    """Memory of ``root`` and its descendants now (see :func:`process_bytes`)."""
    return sum(process_bytes(pid) for pid in tree_pids(root))


class TreeMemory:
    """Samples a process tree's memory in a background thread; watched blocks get their peak."""

    def __init__(self, root: int | None = None, *, interval: float = INTERVAL) -> None:
        self.root = os.getpid() if root is None else root
        self.interval = interval
        self.overall = Peak()
        self._watching: list[Peak] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last: tuple[float, int] | None = None
        """When the last sample finished (monotonic seconds) and its size."""

    def start(self) -> TreeMemory:
        """Start sampling (a daemon thread)."""
        self._thread = threading.Thread(target=self._loop, name="churn-memory", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Take a last sample and stop the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()

    @contextlib.contextmanager
    def watch(self) -> Iterator[Peak]:
        """The peak of the tree while the block runs (sampled at its start, unless a sample
        just finished, and at its end)."""
        peak = Peak()
        with self._lock:
            self._watching.append(peak)
            last = self._last
            if last is not None and time.monotonic() - last[0] <= FRESH:
                peak.bytes = last[1]
        if peak.bytes == 0:
            self.sample()
        try:
            yield peak
        finally:
            self.sample()
            with self._lock:
                self._watching.remove(peak)

    def sample(self) -> int:
        """Measure the tree once and raise to it every peak watched when the measure began.

        A block that starts while the background thread is measuring is not raised to that
        measure, taken (partly) before the block began: it would carry memory freed before it.
        """
        with self._lock:
            peaks = [self.overall, *self._watching]
        size = tree_bytes(self.root)
        with self._lock:
            for peak in peaks:
                peak.bytes = max(peak.bytes, size)
            self._last = (time.monotonic(), size)
        return size

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()


def _listdir(path: Path) -> list[str]:
    try:
        return [entry.name for entry in path.iterdir()]
    except OSError:
        return []


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
