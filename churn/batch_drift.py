"""``churn drift DATA``: a batch of customers against a run's reference profile.

The batch is read through the spec's contract as ``churn score`` reads it (a file, a URL, or
the spec's SQL source at ``--as-of``; the target column may be absent), scored by the run's
verified model (the champion unless ``--run``) through the serving fast path, and judged by
:func:`churn.monitoring.drift.compare_frame` with the spec's ``monitoring`` thresholds.

Scores of at most :data:`SCORED_ROWS` rows (a seeded sample of a larger batch) are compared:
with ten score buckets the PSI of a 20,000-row sample differs from the whole batch's by about
(buckets - 1) / rows = 5e-4, far below the 0.1 a warning needs, while scoring every row of a
million through a 600-tree model costs more than reading and checking them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa

from churn.contract.dataset import load_unlabelled
from churn.errors import ChurnError
from churn.model_child import ModelChild
from churn.monitoring.champion import run_profile
from churn.monitoring.drift import DriftResult, compare_counts, frame_counts
from churn.monitoring.profile import current_counts
from churn.monitoring.tree_scorer import sample_columns
from churn.registry import Registry
from churn.sources.urls import DataLocation, data_location, shown
from churn.spec import Spec

SCORED_ROWS: Final = 20_000
"""At most this many rows of a batch are scored for the score PSI."""
SAMPLE_SEED: Final = 23


@dataclass(frozen=True)
class BatchDrift:
    """What ``churn drift`` found, where it read, and how long it took."""

    result: DriftResult
    source: str
    scored_rows: int
    seconds: float


def drift_of_batch(
    spec: Spec,
    registry: Registry,
    source: DataLocation | None,
    model: ModelChild,
    *,
    as_of: date | None = None,
) -> BatchDrift:
    """Read, check, score and judge a batch (see the module docstring).

    This process reads and checks the batch while ``model`` (started with the registry and the
    run to compare with, before the spec was read) loads and verifies the model; then it
    counts the batch on the run's profile while ``model`` scores the sample.

    Args:
        spec: The spec whose contract the batch meets and whose thresholds judge it.
        registry: Where the run and its profile are.
        source: A file or URL; None for the spec's ``data.source``.
        model: The process holding the run's model (the champion unless a run was named).
        as_of: The date a SQL source is read at (default ``CHURN_AS_OF``, else today).

    Raises:
        RegistryError: No champion (and no run named), an unknown run, a run without a
            profile, or a model or profile that does not match its recorded hash; reported
            before a problem with the batch, as when the model was loaded first.
        DataContractError: The batch cannot be read or breaks the contract.
        SourceError: The database cannot be read.
    """
    started = time.perf_counter()
    location = source if source is not None else data_location(spec)
    try:
        with system_allocator():
            frame = load_unlabelled(spec, location, as_of=as_of)
    except ChurnError:
        earlier = model.first_failure()  # the spec's and the model's verdicts come first
        if earlier is not None:
            raise earlier from None
        raise
    profile = run_profile(registry, model.run_id())
    sample = _sample(frame)
    if model.compiled() and profile.scorer is not None:  # numpy arrays: no pandas to unpickle
        model.send_sample(sample_columns(sample, profile.scorer, strict=False))
    else:
        model.send_sample(sample)
    counts = frame_counts(profile, frame)
    scores = current_counts(profile.scores, model.scores())
    result = compare_counts(profile, counts, spec.monitoring, scores=scores)
    return BatchDrift(
        result=result,
        source=shown(location),
        scored_rows=len(sample),
        seconds=time.perf_counter() - started,
    )


@contextmanager
def system_allocator() -> Iterator[None]:
    """Arrow allocates from the C library's allocator meanwhile, then as before.

    pyarrow's default pool (mimalloc) costs about 0.5 s of CPU, most of it page faults in the
    kernel, the first time a process reads a million rows, which a one-shot command pays
    every time; the system allocator reads the same file in about a third of that. Buffers
    remember the pool they came from, so restoring the default afterwards is safe.
    """
    before = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(before)


def _sample(frame: pd.DataFrame) -> pd.DataFrame:
    if len(frame) <= SCORED_ROWS:
        return frame
    rows = np.random.default_rng(SAMPLE_SEED).choice(len(frame), size=SCORED_ROWS, replace=False)
    return frame.iloc[np.sort(rows)]
