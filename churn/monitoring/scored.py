"""What was scored together, and a consumer of it (the prediction log, the drift window)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ScoredBatch:
    """Records scored together by one model (a request, a micro-batch, a file chunk).

    ``columns`` (the model's input values by column, as scored) feed drift tracking; None when
    the caller keeps no inputs.
    """

    ids: Sequence[str]
    run_id: str
    scored_at: float
    """Seconds since the epoch."""
    proba: np.ndarray
    decisions: np.ndarray
    columns: Mapping[str, Sequence[Any]] | None = None
    within: np.ndarray | None = None
    """A survival model's P(churn within each horizon), rows x horizons; ``proba`` is then the
    last (longest) horizon's, the score its run's reference profile holds."""
    horizons: tuple[str, ...] = ()
    """The labels of ``within``'s horizons (``churn_within_<label>`` in the prediction log)."""
    times: np.ndarray | None = None
    """Each record's own time (seconds since the epoch, float64) when the records were scored
    at different times (the recorder gathers a flush's requests into one batch); None: every
    record at ``scored_at``, which is then the latest of them."""

    @property
    def rows(self) -> int:
        """How many records."""
        return len(self.ids)


@dataclass(frozen=True)
class Sink:
    """A consumer of what was scored, called from the recorder's thread."""

    name: str
    consume: Callable[[Sequence[ScoredBatch]], int | None]
    """Takes a flush; returns the records it wrote when not exactly the flush's (a sink that
    retries earlier flushes), else None."""
    tick: Callable[[], None] | None = None
    """Called at every wake of the recorder's thread, records or not (a window ages)."""
    close: Callable[[], None] | None = None
    """Called once after the last flush (a connection closes)."""


Count = Callable[[str, str, int], None]
"""Called with (sink name, result, records): result ``written``, ``failed`` or ``dropped``."""
