"""Writing a stream of DataFrame chunks as one CSV or Parquet file, atomically.

Each chunk becomes an Arrow table cast to the first chunk's schema and is written at once, so
only one chunk is ever held; the file appears under its name only when every chunk is written
(:func:`churn.registry.atomic_io.atomic_write`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import IO

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from churn.contract.reading import SUFFIXES, DataFormat
from churn.outputs import OutputError
from churn.registry.atomic_io import atomic_write

__all__ = ["OutputError", "output_format", "write_chunks"]


def output_format(path: Path) -> DataFormat:
    """``csv`` or ``parquet`` from the file's suffix.

    Raises:
        OutputError: Another suffix.
    """
    found = SUFFIXES.get(path.suffix.lower())
    if found is None:
        raise OutputError(
            f"{path}: cannot tell the format from {path.suffix!r}; use .csv or .parquet"
        )
    if not path.parent.is_dir():
        raise OutputError(f"{path}: the folder {path.parent} does not exist")
    return found


def write_chunks(path: Path, chunks: Iterable[pd.DataFrame], *, delimiter: str = ",") -> int:
    """Write every chunk into ``path`` (format from the suffix); return the rows written.

    A CSV file is UTF-8 with ``delimiter`` between fields (the spec's, so that the spec reads
    it back).
    """
    kind = output_format(path)
    written = 0

    def write(handle: IO[bytes]) -> None:
        nonlocal written
        schema: pa.Schema | None = None
        sink: pq.ParquetWriter | pacsv.CSVWriter | None = None
        for chunk in chunks:
            table = pa.Table.from_pandas(chunk, preserve_index=False)
            if schema is None:
                plain = table.schema.remove_metadata()
                schema = _plain(plain) if kind == "csv" else plain
                sink = (
                    pq.ParquetWriter(handle, schema)
                    if kind == "parquet"
                    else pacsv.CSVWriter(
                        handle, schema, write_options=pacsv.WriteOptions(delimiter=delimiter)
                    )
                )
            assert sink is not None
            sink.write_table(table.cast(schema))
            written += table.num_rows
        if sink is not None:
            sink.close()

    atomic_write(path, write)
    return written


def _plain(schema: pa.Schema) -> pa.Schema:
    """Dictionary (categorical) columns as plain strings: CSV has no dictionaries."""
    fields = [
        field.with_type(field.type.value_type) if pa.types.is_dictionary(field.type) else field
        for field in schema
    ]
    return pa.schema(fields)
