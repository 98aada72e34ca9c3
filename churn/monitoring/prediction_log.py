"""The prediction log: what the API and ``churn score`` scored, as Parquet files.

Layout: ``<folder>/date=YYYY-MM-DD/HHMMSS.ffffff-<host>-<pid>-<seq>.parquet`` (UTC; a Hive
partition, so ``pyarrow.dataset`` reads ``date`` as a column), one file per flush (a name never
written before, so the write does not search the day's folder, tens of thousands of files by
evening, for a dead writer's temporary file of it), columns
:data:`LOG_SCHEMA` (those of ``churn score --to-table``'s score table but ``as_of``; a survival
model's rows add ``churn_within_<h>``). Each file
is written by :func:`~churn.registry.atomic_io.atomic_write` (an unnamed temporary file renamed
into place), so a reader or a ``kill -9`` sees whole files only. The folder is bounded:
after a write that takes the total past ``max_bytes``, the oldest files (by name: date, then
time) are removed until it fits again; every process writing the folder enforces the bound.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import socket
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from churn.errors import RegistryError, one_line
from churn.monitoring.scored import ScoredBatch, Sink
from churn.registry.atomic_io import atomic_write
from churn.registry.reading import open_regular

LOG_SCHEMA: Final = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("scored_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("churn_probability", pa.float64(), nullable=False),
        pa.field("will_churn", pa.bool_(), nullable=False),
    ]
)
"""The log's columns: id, the run whose model scored, when, P(churn) and the decision.

A survival model's rows log P(churn within its longest horizon) as ``churn_probability``
(``will_churn``: at least one half), and a file holding such rows has one more nullable column
per horizon, ``churn_within_<h>`` (null on a classifier's rows of the same flush); a file of
classifier rows only has exactly these columns. Readers of this schema ignore the extra ones.
"""
WITHIN: Final = "churn_within_"
PARTITION: Final = "date="
SUFFIX: Final = ".parquet"


def log_table(batches: Sequence[ScoredBatch]) -> pa.Table:
    """One table of :data:`LOG_SCHEMA` from ``batches`` (vectorised; no per-record Python)."""
    sizes = [batch.rows for batch in batches]
    micros = np.concatenate([_micros(batch) for batch in batches]) if batches else np.empty(0)
    run_ids = pa.DictionaryArray.from_arrays(
        pa.array(np.repeat(np.arange(len(batches), dtype=np.int32), sizes)),
        pa.array([batch.run_id for batch in batches], pa.string()),
    )
    table = pa.Table.from_arrays(
        [
            pa.array(list(itertools.chain.from_iterable(b.ids for b in batches)), pa.string()),
            run_ids.cast(pa.string()),
            pa.array(micros.astype(np.int64), pa.timestamp("us", tz="UTC")),
            pa.array(np.concatenate([b.proba for b in batches]).astype(np.float64)),
            pa.array(np.concatenate([b.decisions for b in batches]).astype(bool)),
        ],
        schema=LOG_SCHEMA,
    )
    for label in dict.fromkeys(label for b in batches for label in b.horizons):
        table = table.append_column(
            pa.field(f"{WITHIN}{label}", pa.float64(), nullable=True), _within(batches, label)
        )
    return table


def _micros(batch: ScoredBatch) -> np.ndarray:
    """Each record's time in whole microseconds (rounded half to even, as ``round``)."""
    if batch.times is None:
        return np.full(batch.rows, round(batch.scored_at * 1e6), dtype=np.int64)
    return np.rint(np.asarray(batch.times, dtype=np.float64) * 1e6).astype(np.int64)


def _within(batches: Sequence[ScoredBatch], label: str) -> pa.Array:
    """P(churn within horizon ``label``) of every row; null for rows scored without it."""
    parts = []
    for batch in batches:
        if batch.within is not None and label in batch.horizons:
            parts.append(np.asarray(batch.within[:, batch.horizons.index(label)], np.float64))
        else:
            parts.append(np.full(batch.rows, np.nan))
    values = np.concatenate(parts)
    return pa.array(values, pa.float64(), mask=np.isnan(values))


def _safe(host: str) -> str:
    """``host`` as a file-name part: letters, digits, dots and dashes only, at most 63."""
    return re.sub(r"[^A-Za-z0-9.-]", "_", host)[:63] or "host"


class PredictionLogFolder:
    """The log's folder: writes one file per flush and keeps the total under ``max_bytes``."""

    def __init__(self, folder: Path, *, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self._sequence = itertools.count()
        # host and pid: replicas on a shared volume (each a pid 1 in its own container) never
        # pick the same name
        self._writer = f"{_safe(socket.gethostname())}-{os.getpid()}"
        self._written_since_check = max_bytes  # check the folder's size after the first write

    def write(self, table: pa.Table, when: datetime) -> Path:
        """Write ``table`` as a new file named by ``when`` (UTC); then rotate when over the bound.

        Raises:
            OSError: The folder cannot be written (full disk, read-only, not a folder).
        """
        when = when.astimezone(UTC)
        name = f"{when:%H%M%S.%f}-{self._writer}-{next(self._sequence)}{SUFFIX}"
        path = self.folder / f"{PARTITION}{when:%Y-%m-%d}" / name
        atomic_write(  # host, pid and sequence: a name never written before
            path, lambda handle: pq.write_table(table, handle, compression="zstd"), unique_name=True
        )
        self._written_since_check += path.stat().st_size
        if self._written_since_check >= self.max_bytes // 10:
            self.rotate()
        return path

    def rotate(self) -> list[Path]:
        """Remove the oldest files until the folder holds at most ``max_bytes``; the removed."""
        self._written_since_check = 0
        files = [(path, _size(path)) for path in log_files(self.folder)]
        total = sum(size for _, size in files)
        removed = []
        for path, size in files:
            if total <= self.max_bytes:
                break
            path.unlink(missing_ok=True)  # another worker may have removed it first
            removed.append(path)
            total -= size
        for day in {path.parent for path in removed}:
            with contextlib.suppress(OSError):
                day.rmdir()  # only when empty
        return removed


def log_files(folder: Path) -> list[Path]:
    """The log's files, oldest first (partition date, then file name: time, host, pid, sequence)."""
    return sorted(_files(folder), key=lambda path: (path.parent.name, path.name))


def _files(folder: Path) -> Iterator[Path]:
    if not folder.is_dir():
        return
    for day in folder.iterdir():
        if day.name.startswith(PARTITION) and day.is_dir() and not day.is_symlink():
            for path in day.iterdir():
                if path.name.endswith(SUFFIX) and not path.name.startswith("."):
                    yield path


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


MAX_LOG_FILE_BYTES: Final = 512 * 1024 * 1024
"""A log file may be at most 512 MiB (one flush of a second is a few hundred KB)."""


def read_prediction_log(folder: Path) -> tuple[pa.Table, list[str]]:
    """Every record of the log, and one line per file that could not be read (skipped).

    Files are read as every registry file (regular, no symlink, bounded), a file removed by a
    rotation meanwhile is skipped silently, and a damaged one is named in the second value.
    """
    tables, skipped = [], []
    for path in log_files(folder):
        try:
            with open_regular(path, what="prediction log file", limit=MAX_LOG_FILE_BYTES) as handle:
                table = pq.read_table(handle, schema=LOG_SCHEMA)
        except FileNotFoundError:
            continue
        except (RegistryError, OSError, pa.ArrowException) as exc:
            skipped.append(f"{path}: {one_line(exc)}")
            continue
        tables.append(table)
    if not tables:
        return LOG_SCHEMA.empty_table(), skipped
    return pa.concat_tables(tables), skipped


def log_sink(folder: PredictionLogFolder) -> Sink:
    """The recorder's sink writing each flush as one file of ``folder``."""

    def consume(batches: Sequence[ScoredBatch]) -> None:
        folder.write(log_table(batches), datetime.now(UTC))

    return Sink("prediction_log", consume)
