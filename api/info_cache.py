"""One cached answer per state of the champion and the registry's latest run (for /app-info).

Building /app-info reads the newest run.json and validates a response model: about a
millisecond, several times what answering takes. The answer only changes when the serving
model, its load error or the latest run changes, so it is kept with a fingerprint of those
(two ``stat`` calls: the runs folder, which changes when a run folder is added or removed, and
the newest run's run.json, which every registry write replaces) and rebuilt when it differs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from churn.registry import Registry
from churn.serving import ServingModel

Stat = tuple[int, int, int] | None


def _stat(path: Path) -> Stat:
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_ino, found.st_mtime_ns, found.st_size


class LatestRunAnswer:
    """The bytes of an answer that depends on the serving model and the latest run."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._lock = threading.Lock()
        self._newest: str | None = None
        self._key: tuple[object, ...] | None = None
        self._answer = b""

    def get(
        self, model: ServingModel | None, error: str | None, build: Callable[[], bytes]
    ) -> bytes:
        """The cached answer, or ``build()`` when the model, the error or the latest run changed."""
        key = self._fingerprint(model, error)
        if key == self._key:
            return self._answer
        with self._lock:
            runs = _stat(self._registry.runs_dir)
            ids = self._registry.run_ids()
            self._newest = ids[0] if ids else None
            key = self._fingerprint(model, error, runs)
            answer = build()
            self._key, self._answer = key, answer
            return answer

    def _fingerprint(
        self, model: ServingModel | None, error: str | None, runs: Stat | None = None
    ) -> tuple[object, ...]:
        newest = self._newest
        manifest = _stat(self._registry.run_dir(newest) / "run.json") if newest else None
        return (model, error, runs or _stat(self._registry.runs_dir), newest, manifest)
