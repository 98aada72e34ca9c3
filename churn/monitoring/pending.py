"""What waits for the recorder's next flush, kept column by column so the garbage collector
does not see it.

A served request's :class:`~churn.monitoring.scored.ScoredBatch` holds a dict of one list per
input column, its ids and the batch itself: some twenty container objects the collector
tracks. Kept until the flush (a second), a thousand requests a second put twenty thousand
such objects through the collector's younger generations into the oldest, whose passes then
walk them. :class:`PendingRecords` instead appends each small batch's values to one list per
column (and its ids, times and scores to flat lists and arrays) of the segment it belongs to,
so the request's own objects are freed when it is answered; what waits is a few long lists of
strings and numbers, which the collector does not track. A flush hands the sinks one batch per
segment, with each record's own time (:attr:`ScoredBatch.times`): the same records, values,
times and order as the batches recorded, so the log's rows and the drift counts are the same.
"""

from __future__ import annotations

import array
import itertools
from collections.abc import Hashable
from typing import Any, Final

import numpy as np

from churn.monitoring.scored import ScoredBatch

GATHER_MAX_ROWS: Final = 1000
"""Batches of at most this many records are gathered (the API's requests); larger ones (a
``churn score`` chunk) are kept as they are: few objects per record already."""


class _Segment:
    """Consecutive small batches of one run, with the same columns and horizons."""

    def __init__(self, key: Hashable, batch: ScoredBatch) -> None:
        self.key = key
        self.run_id = batch.run_id
        self.horizons = batch.horizons
        self.latest = batch.scored_at
        self.ids: list[str] = []
        self.times = array.array("d")
        self.proba: list[np.ndarray] = []
        self.decisions: list[np.ndarray] = []
        self.within: list[np.ndarray] = []
        self.columns: dict[str, list[Any]] | None = (
            None if batch.columns is None else {name: [] for name in batch.columns}
        )

    def fits(self, batch: ScoredBatch) -> bool:
        """True when ``batch`` has this segment's columns (a key view compares as a set)."""
        return self.columns is None or self.columns.keys() == (batch.columns or {}).keys()

    def add(self, batch: ScoredBatch) -> None:
        self.latest = max(self.latest, batch.scored_at)
        self.ids.extend(batch.ids)
        self.times.extend(itertools.repeat(batch.scored_at, batch.rows))
        self.proba.append(batch.proba)
        self.decisions.append(batch.decisions)
        if batch.within is not None:
            self.within.append(batch.within)
        if self.columns is not None and batch.columns is not None:
            for name, values in self.columns.items():
                values.extend(batch.columns[name])

    def batch(self) -> ScoredBatch:
        return ScoredBatch(
            self.ids,
            self.run_id,
            self.latest,
            np.concatenate(self.proba),
            np.concatenate(self.decisions),
            self.columns,
            np.concatenate(self.within) if self.within else None,
            self.horizons,
            np.frombuffer(self.times, dtype=np.float64).copy(),
        )


class PendingRecords:
    """The batches recorded since the last flush, in order (not thread-safe: the recorder
    holds its lock)."""

    def __init__(self) -> None:
        self._parts: list[_Segment | ScoredBatch] = []
        self.rows = 0

    def add(self, batch: ScoredBatch) -> None:
        """Keep ``batch``: a small one is copied into its segment, a large one kept whole."""
        self.rows += batch.rows
        if batch.rows > GATHER_MAX_ROWS or batch.times is not None:
            self._parts.append(batch)
            return
        key = _gather_key(batch)
        last = self._parts[-1] if self._parts else None
        if not (isinstance(last, _Segment) and last.key == key and last.fits(batch)):
            last = _Segment(key, batch)
            self._parts.append(last)
        last.add(batch)

    @property
    def empty(self) -> bool:
        """True when nothing was recorded."""
        return not self._parts

    def batches(self) -> list[ScoredBatch]:
        """Everything kept, as batches in the order recorded."""
        return [part.batch() if isinstance(part, _Segment) else part for part in self._parts]


def _gather_key(batch: ScoredBatch) -> Hashable:
    """What batches of one segment share, besides their column names (:meth:`_Segment.fits`)."""
    width = None if batch.within is None else batch.within.shape[1:]
    return batch.run_id, batch.columns is None, batch.horizons, width
