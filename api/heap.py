"""The garbage collector under load: what start-up loaded is frozen out of its sight, and the
young generation is large enough that a request's objects die before a pass sees them.

A worker holds about a million long-lived objects once FastAPI, pandas, scikit-learn, XGBoost
and the champion are loaded. Each request allocates a few hundred short-lived ones, so the
collector's full (generation 2) pass came every few seconds under load and walked all of them:
a pause of tens of milliseconds during which no request is answered. That pause was the whole
of the /predict p99 at 50 connections (144 ms with it, 43 ms without, 2 workers, xgb champion).
``gc.freeze()`` moves what is alive after start-up into a permanent generation the collector
never walks; cycles created later are collected as before.

The young generation's threshold (CPython's default: a pass once 700 more container objects
are alive than at the last one) is then :data:`YOUNG_THRESHOLD`. At 50 connections the objects
of the requests in flight alone crossed 700 about 80 times a second; each pass moved the ones
still in flight to the older generations, whose passes (5 a second, and a full one every two
seconds) walked them again: about 60 ms of passes a second and single pauses of 25-38 ms,
monitoring on or off (2026-12-06, one process, load average 9). With the larger threshold a
pass came once in 10 s. Most request objects are freed by their reference count, not by the
collector, so what waits for a pass is only the few reference cycles: a bounded amount.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator
from typing import Final

YOUNG_THRESHOLD: Final = 20_000
"""Container objects allocated (net of those freed) between two young-generation passes."""


def freeze_startup_heap() -> int:
    """Collect once, then freeze every object still alive; returns how many were frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


_serving: list[tuple[int, int, int]] = []
"""The thresholds before each app still serving in this process raised them (tests start
several apps and stop them in any order): the first one's are restored when the last stops."""
_serving_lock = threading.Lock()


@contextlib.contextmanager
def serving_heap() -> Iterator[int]:
    """Freeze the start-up heap (the frozen count is yielded) and raise the young generation's
    threshold to :data:`YOUNG_THRESHOLD` while serving; restored once no app of this process
    serves any more."""
    frozen = freeze_startup_heap()
    with _serving_lock:
        before = gc.get_threshold()
        _serving.append(before)
        gc.set_threshold(max(before[0], YOUNG_THRESHOLD), *before[1:])
    try:
        yield frozen
    finally:
        with _serving_lock:
            first = _serving[0]
            _serving.pop()
            if not _serving:
                gc.set_threshold(*first)
