"""CPU seconds of a whole process tree, sampled from ``/proc`` (the benchmark's CPU column).

``resource.getrusage(RUSAGE_CHILDREN)`` counts only descendants their parents waited for: a
pool's workers are children of multiprocessing's fork server, which nobody waits for, so their
CPU never reaches it. This samples each process's own user + system time while the tree runs
and keeps the last value seen per process (a process's last interval before it exits is lost).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from churn.run.memory import tree_pids

TICKS = os.sysconf("SC_CLK_TCK")


def own_cpu(pid: int) -> tuple[str, float] | None:
    """``pid``'s start time (so a reused pid is another process) and its own user + system
    seconds (not its children's); None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": fields[0] is field 3, state
    return fields[19], (int(fields[11]) + int(fields[12])) / TICKS  # starttime; utime, stime


class TreeCpu:
    """Samples the CPU of ``root`` and its descendants until :meth:`stop`."""

    def __init__(self, root: int, *, interval: float = 0.25) -> None:
        self.root = root
        self.interval = interval
        self._seen: dict[tuple[int, str], float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tree-cpu", daemon=True)

    def start(self) -> TreeCpu:
        """Start sampling (a daemon thread)."""
        self._thread.start()
        return self

    def stop(self) -> float:
        """Stop sampling; the tree's CPU seconds."""
        self._stop.set()
        self._thread.join()
        return sum(self._seen.values())

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            for pid in tree_pids(self.root):
                found = own_cpu(pid)
                if found is not None:
                    started, seconds = found
                    self._seen[(pid, started)] = seconds
