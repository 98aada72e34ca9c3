"""The app's state: the one reference to the serving model, and how it is reloaded.

:class:`ModelHolder` keeps the :class:`~churn.serving.ServingModel` in one attribute. A reload
(a background task every ``reload_interval`` seconds, or a request that finds the last check
older than that, which starts the check in a thread and does not wait for it) looks at
champion.json; when its content or the model file it names changed, the new model is loaded
and verified in that thread and then swapped in with one assignment. A request reads the
attribute once and keeps that object, so in-flight requests finish on the model they started
with. A model that fails to load leaves the current one serving; the error is logged, counted
and shown by /ready until a load succeeds.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from churn.api.batching import MicroBatcher
from churn.api.info_cache import LatestRunAnswer
from churn.api.metrics import ApiMetrics
from churn.api.records import RecordSchema
from churn.api.settings import Settings
from churn.errors import RegistryError
from churn.monitoring.recorder import ScoreRecorder
from churn.monitoring.serving_drift import DriftView
from churn.registry import Registry
from churn.registry.reading import MAX_POINTER_BYTES, parse_json, read_regular
from churn.serving import ServingModel
from churn.spec import Spec

log = logging.getLogger(__name__)

Fingerprint = tuple[str, tuple[int, int, int] | None]
"""sha256 of champion.json and (inode, mtime_ns, size) of the model file it names."""


class ModelHolder:
    """The serving model, swapped atomically when the champion changes.

    Args:
        load: Loads and verifies the champion (None when there is none); may raise.
        champion_path: champion.json, watched for changes.
        interval: Seconds between checks; 0 turns reloading off after the first load.
        metrics: Where loads and failures are counted.
        clock: Monotonic seconds; injectable for tests.
    """

    def __init__(
        self,
        load: Callable[[], ServingModel | None],
        champion_path: Path,
        *,
        interval: float,
        metrics: ApiMetrics,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._path = champion_path
        self.interval = interval
        self._metrics = metrics
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: Fingerprint | None = None
        self.current: ServingModel | None = None
        """The model requests use; replaced, never mutated."""
        self.error: str | None = None
        """Why the latest load failed (None after a success)."""
        self.checked_at = float("-inf")

    def refresh(self) -> bool:
        """Check champion.json now (after any running check); True if a new model serves."""
        with self._lock:
            return self._refresh()

    def poke(self) -> None:
        """From a request: when the last check is older than the interval, start one in a thread."""
        if self.interval <= 0 or self._clock() - self.checked_at <= self.interval:
            return
        if not self._lock.acquire(blocking=False):
            return  # a check is running
        self.checked_at = self._clock()
        threading.Thread(target=self._refresh_and_release, name="churn-reload", daemon=True).start()

    async def poll(self) -> None:
        """Check every ``interval`` seconds until cancelled (run as a task by the lifespan)."""
        while True:
            await asyncio.sleep(self.interval)
            try:
                await anyio.to_thread.run_sync(self.refresh)
            except Exception:  # pragma: no cover - refresh handles its own errors
                log.exception("champion reload check failed")

    def unavailable_reason(self) -> str:
        """Why no model is serving (for 503 answers)."""
        if self.error:
            return f"no model loaded: {self.error}"
        if not self._path.exists():
            return f"no champion yet: nothing has been promoted in {self._path.parent}"
        return "the champion is not loaded yet"

    def _refresh_and_release(self) -> None:
        try:
            self._refresh()
        finally:
            self._lock.release()

    def _refresh(self) -> bool:
        self.checked_at = self._clock()
        try:
            seen = self._fingerprint()
        except OSError as exc:
            return self._failed(f"cannot read {self._path}: {exc}", None)
        except RegistryError as exc:
            return self._failed(str(exc), None)
        if seen == self._seen:
            return False
        if seen is None:
            self._seen = None
            if self.current is not None:
                self.error = f"{self._path} is missing; serving the champion loaded before"
                log.warning(self.error)
            return False
        try:
            model = self._load()
        except Exception as exc:  # noqa: BLE001 - any load failure keeps the old model serving
            return self._failed(str(exc), seen)
        self._seen = seen
        self.current, self.error = model, None
        self._metrics.loaded(model)
        if model is not None:
            log.info(
                "serving champion %s (fast path %s)",
                model.run_id,
                "on" if model.scorer.fast else f"off: {model.scorer.reason}",
            )
        return model is not None

    def _failed(self, error: str, seen: Fingerprint | None) -> bool:
        self._seen = seen  # retried once champion.json or the model file changes
        self.error = error
        self._metrics.load_failed()
        log.error(
            "champion not loaded, %s: %s",
            "keeping the previous one" if self.current else "nothing to serve",
            error,
        )
        return False

    def _fingerprint(self) -> Fingerprint | None:
        """None when there is no champion.json (read as every registry file: bounded, regular)."""
        try:
            raw = read_regular(self._path, what="champion pointer", limit=MAX_POINTER_BYTES)
        except FileNotFoundError:
            return None
        return hashlib.sha256(raw).hexdigest(), _model_stat(self._path, raw)


def _model_stat(pointer_path: Path, raw: bytes) -> tuple[int, int, int] | None:
    try:
        pointer: Any = parse_json(raw, source=str(pointer_path))
        stat = (pointer_path.parent / str(pointer["model_path"])).stat()
    except (RegistryError, TypeError, KeyError, OSError):
        return None
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


@dataclass(frozen=True)
class AppState:
    """Everything routes need, built once by ``create_app`` and kept in ``app.state.churn``."""

    settings: Settings
    spec: Spec
    registry: Registry
    records: RecordSchema
    holder: ModelHolder
    metrics: ApiMetrics
    batcher: MicroBatcher | None = None
    """Gathers concurrent small /predict requests (None: batching off)."""
    recorder: ScoreRecorder | None = None
    """Takes what /predict scored to the prediction log and the drift window, off the request
    path (None: nothing recorded)."""
    drift: DriftView | None = None
    """The served model's drift window (None: drift tracking off)."""
    info: LatestRunAnswer = field(init=False)
    """The /app-info answer, rebuilt when the champion or the latest run changes."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "info", LatestRunAnswer(self.registry))
