"""``churn drift DATA``: a batch of customers against a run's reference profile.

The batch is read through the spec's contract as ``churn score`` reads it (a file, a URL, or
the spec's SQL source at ``--as-of``; the target column may be absent), scored by the run's
verified model (the champion unless ``--run``) through the serving fast path, and judged by
:func:`churn.monitoring.drift.compare_frame` with the spec's ``monitoring`` thresholds.

Scores of at most :data:`SCORED_ROWS` rows (a seeded sample of a larger batch) are compared:
with ten score buckets the PSI of a 20,000-row sample differs from the whole batch's by about
(buckets - 1) / rows = 5e-4, far below the 0.1 a warning needs, while scoring every row of a
million through a 600-tree model costs more than reading and checking them.

The model process scores the sample while this one checks the whole batch (issue 23, sixth
pass): the sample's rows are checked alone first, which gives exactly the rows the whole
batch's check would (see :func:`~churn.contract.dataset.validate_unlabelled`); a batch that
fails its check still exits 3 with every failure worded, and its scores are never read.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Final

import numpy as np
import numpy.typing as npt

from churn.contract.dataset import UnlabelledRead, read_unlabelled, validate_unlabelled
from churn.errors import ChurnError
from churn.model_child import ModelChild
from churn.monitoring.champion import run_profile
from churn.monitoring.drift import DriftResult, compare_counts, frame_counts
from churn.monitoring.profile import current_counts
from churn.monitoring.tree_scorer import read_columns
from churn.parquet_prefetch import ParquetPrefetch, system_allocator
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
    prefetched: ParquetPrefetch | None = None,
) -> BatchDrift:
    """Read, check, score and judge a batch (see the module docstring).

    This process reads the batch while ``model`` (started with the registry and the run to
    compare with, before the spec was read) loads and verifies the model; then, when the model
    is compiled, it sends the sample (its rows checked alone) and checks and counts the whole
    batch while ``model`` scores the sample. A pickled model gets the sample after the check.

    Args:
        spec: The spec whose contract the batch meets and whose thresholds judge it.
        registry: Where the run and its profile are.
        source: A file or URL; None for the spec's ``data.source``.
        model: The process holding the run's model (the champion unless a run was named).
        as_of: The date a SQL source is read at (default ``CHURN_AS_OF``, else today).
        prefetched: The batch's Parquet file already being read on a thread, if it is one.

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
            read = read_unlabelled(spec, location, as_of=as_of, prefetched=prefetched)
        reads = model.reads()  # the spec's and the model's verdicts come before the batch's
    except ChurnError:
        earlier = model.first_failure()
        if earlier is not None:
            raise earlier from None
        raise
    except RuntimeError:  # it ended without answering: said after the batch's check, as before
        reads = None
    rows = sample_rows(len(read.frame))
    sent = reads is not None and _send_checked_sample(spec, read, rows, reads, model)
    frame = validate_unlabelled(spec, read)
    profile = run_profile(registry, model.run_id(), with_scorer=False)  # the model scores
    if not sent:
        sample = frame.iloc[rows]
        model.send_sample(sample if reads is None else read_columns(sample, reads, strict=False))
    counts = frame_counts(profile, frame)
    scores = current_counts(profile.scores, model.scores())
    result = compare_counts(profile, counts, spec.monitoring, scores=scores)
    return BatchDrift(
        result=result,
        source=shown(location),
        scored_rows=len(rows),
        seconds=time.perf_counter() - started,
    )


def _send_checked_sample(
    spec: Spec,
    read: UnlabelledRead,
    rows: npt.NDArray[np.intp],
    reads: Mapping[str, bool],
    model: ModelChild,
) -> bool:
    """Send the compiled model the sample's columns before the whole batch is checked, so it
    scores them while this process checks and counts: the sample's rows are checked alone
    first (every check but the id's uniqueness is one row's, and a subset of unique ids is
    unique), so they pass and are coerced as the whole batch's same rows. False, nothing
    sent, when they fail: the whole batch's check then fails too and words every failure; the
    scores of a batch that fails its check are never received.
    """
    try:
        sample = validate_unlabelled(spec, read, rows)
    except ChurnError:
        return False
    model.send_sample(read_columns(sample, reads, strict=False))
    return True


def sample_rows(rows: int) -> npt.NDArray[np.intp]:
    """Positions (ascending) of the rows whose scores are compared: all of a batch of at most
    :data:`SCORED_ROWS` rows, else a seeded sample of that many."""
    if rows <= SCORED_ROWS:
        return np.arange(rows, dtype=np.intp)
    chosen = np.random.default_rng(SAMPLE_SEED).choice(rows, size=SCORED_ROWS, replace=False)
    return np.sort(chosen).astype(np.intp)
