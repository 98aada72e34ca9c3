"""A local Parquet file decoded into Arrow on a thread while the command imports the rest.

``churn drift`` spends its first half second importing pandas and the modules that check and
count a batch, then reads the batch; pyarrow decodes a Parquet file with the GIL released, so
the two can overlap (issue 23, sixth pass). :func:`prefetched_parquet` starts the read as soon
as the spec is known, and :func:`~churn.contract.reading.read_frame_and_hash` takes the table
from it, reporting a failure exactly as reading the file there would (the same messages:
cannot read the file, not a readable Parquet file, the file changed while it was read).

Only a local ``.parquet`` file is prefetched; a CSV file, a URL and a SQL source are read
where they always were. pyarrow is imported when a read starts, not with this module:
``churn drift`` imports it before forking its model process, and pyarrow starts threads on
import. Nothing happens at import time.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

from churn.sources.urls import DataLocation, data_location, is_url, suffix_of
from churn.spec import Spec

if TYPE_CHECKING:
    import pyarrow as pa

PARQUET_SUFFIXES = (".parquet", ".pq")
"""The suffixes of a Parquet file when the spec does not say ``data.format``."""


def dictionary_columns(spec: Spec) -> list[str]:
    """The columns a Parquet read decodes as dictionaries (pandas Categoricals): those the
    spec declares ``category``."""
    return [name for name, column in spec.columns.items() if column.dtype == "category"]


def parquet_table(source: IO[bytes] | pa.Buffer, dictionaries: Sequence[str]) -> pa.Table:
    """The Parquet file ``source`` as an Arrow table, those of the ``dictionaries`` columns
    that hold plain values (not lists or structs) decoded as dictionaries.

    ``ParquetFile`` rather than ``read_table``, which gives the same table through
    ``pyarrow.dataset``, whose import imports pandas (and so cannot run on a thread beside
    one importing pandas); unlike ``read_table`` it refuses a dictionary column it cannot
    decode so, hence the filter (the column's type is then reported by the caller).

    Raises:
        OSError, ValueError: pyarrow cannot read it (its ``ArrowInvalid`` is a ValueError).
    """
    import pyarrow.parquet as pq

    metadata = pq.ParquetFile(source).metadata
    leaves = {metadata.schema.column(i).path for i in range(metadata.num_columns)}
    wanted = [name for name in dictionaries if name in leaves]
    return pq.ParquetFile(source, metadata=metadata, read_dictionary=wanted).read()


def file_stamp(handle: IO[bytes]) -> tuple[int, int]:
    """The open file's size and modification time, compared before and after a read."""
    status = os.fstat(handle.fileno())
    return status.st_size, status.st_mtime_ns


@contextmanager
def system_allocator() -> Iterator[None]:
    """Arrow allocates from the C library's allocator meanwhile, then as before.

    pyarrow's default pool (mimalloc) costs about 0.5 s of CPU, most of it page faults in the
    kernel, the first time a process reads a million rows, which a one-shot command pays
    every time; the system allocator reads the same file in about a third of that. Buffers
    remember the pool they came from, so restoring the default afterwards is safe.
    """
    import pyarrow as pa

    before = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(before)


@dataclass
class ParquetPrefetch:
    """One Parquet file being read on a thread; :meth:`outcome` waits for it."""

    path: Path
    dictionaries: tuple[str, ...]
    _thread: threading.Thread | None = field(default=None, repr=False)
    _table: pa.Table | None = field(default=None, repr=False)
    _unreadable: Exception | None = field(default=None, repr=False)
    _failure: BaseException | None = field(default=None, repr=False)
    _changed: bool = field(default=False, repr=False)

    def start(self) -> None:
        """Read the file on a thread (pyarrow's Parquet module is imported here first: two
        threads importing at once can deadlock on the module locks)."""
        import pyarrow.parquet  # noqa: F401

        self._thread = threading.Thread(target=self._read, name="churn-parquet-read", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        """The file's bytes in one read, then decoded from memory: Arrow then never needs
        the GIL, which the importing thread holds most of the time."""
        import pyarrow as pa

        try:
            with self.path.open("rb") as handle:
                before = file_stamp(handle)
                content = pa.py_buffer(handle.read())
                self._changed = file_stamp(handle) != before
            try:
                self._table = parquet_table(content, self.dictionaries)
            except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
                self._unreadable = exc
        except BaseException as exc:  # noqa: BLE001 - raised again by outcome(), in the reader
            self._failure = exc

    def join(self) -> None:
        """Wait for the read to end."""
        if self._thread is not None:
            self._thread.join()

    def outcome(self) -> tuple[pa.Table | Exception, bool]:
        """The table, or what made it unreadable (pyarrow's error), and whether the file
        changed while it was read.

        Raises:
            OSError: The file could not be opened or looked at (and anything else the
                reading thread raised).
        """
        self.join()
        if self._failure is not None:
            raise self._failure
        if self._unreadable is not None:
            return self._unreadable, False
        if self._table is None:
            raise RuntimeError(f"{self.path}: the read ended without a table")
        return self._table, self._changed


def local_parquet(spec: Spec, location: DataLocation | None) -> Path | None:
    """The local Parquet file ``location`` (None: the spec's data) names, else None (a CSV
    file, a URL, a SQL source, no file there: read as always)."""
    location = data_location(spec) if location is None else location
    if is_url(location) or (location == spec.source_path and spec.sql_source is not None):
        return None
    path = Path(location)
    kind = spec.data.format
    parquet = kind == "parquet" if kind is not None else suffix_of(path).lower() in PARQUET_SUFFIXES
    return path if parquet and path.is_file() else None


@contextmanager
def prefetched_parquet(
    spec: Spec, location: DataLocation | None
) -> Iterator[ParquetPrefetch | None]:
    """The read of ``location`` started on a thread when it is a local Parquet file (else
    None), under the system allocator (:func:`system_allocator`) until the block ends, which
    waits for the read: no thread outlives the block."""
    path = local_parquet(spec, location)
    if path is None:
        yield None
        return
    with system_allocator():
        prefetch = ParquetPrefetch(path, tuple(dictionary_columns(spec)))
        prefetch.start()
        try:
            yield prefetch
        finally:
            prefetch.join()
