"""Reading the data file once, typed from the spec, with the sha256 of exactly the bytes read.

The file is opened once. Its sha256 is computed from that open file, the frame is parsed from
the same open file, and its size and modification time are compared before and after: a file
replaced meanwhile (a new inode) does not affect the open one, and one changed in place is
refused, so the hash always belongs to the bytes that were parsed.

CSV is parsed by pyarrow with each declared column's type from the spec (int, float, bool,
text, category as a dictionary); a file pyarrow cannot read that way (a ``84.0`` in an int
column, ``Yes`` in a bool column, a ragged row, another encoding) is read again as text by
pandas, as before, so :func:`~churn.contract.dataset.validate` coerces it and words its
failures with their lines. Parquet is read by pyarrow; the spec's ``na_values`` are applied to
its text columns in Arrow.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import IO, Any, Literal, NoReturn

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from churn.contract.header import check_names, check_parquet_types
from churn.errors import DataContractError, one_line
from churn.parquet_prefetch import (
    PARQUET_SUFFIXES,
    ParquetPrefetch,
    dictionary_columns,
    file_stamp,
    parquet_table,
)
from churn.sources.urls import DataLocation, fetched, is_url, shown, suffix_of
from churn.spec import DType, Spec
from churn.spec.bounds import MAX_NAME_CHARS, shorten
from churn.spec.sources import SqlSource

DataFormat = Literal["csv", "parquet"]

PANDAS_NA_VALUES = (
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
)  # fmt: skip
"""The strings pandas reads as missing by default (``keep_default_na``); the typed CSV read
treats the same ones, and the spec's ``na_values``, as missing."""
BOOL_TRUE = ("true", "True", "TRUE", "1")
BOOL_FALSE = ("false", "False", "FALSE", "0")
"""Bool words the typed CSV read takes; any other spelling goes through the text read."""
SUFFIXES: dict[str, DataFormat] = {".csv": "csv", **dict.fromkeys(PARQUET_SUFFIXES, "parquet")}
"""File suffix -> data format (reading data, scoring files, writing synthetic rows)."""
_DELIMITERS = {"semicolon": ";", "tab": "\t", "pipe": "|", "comma": ","}
"""Delimiters recognised in a header that read as one column."""
_MAPPED = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}
"""Arrow types read into pandas' nullable dtypes, so a null stays a null until validation."""


def read_frame_and_hash(
    spec: Spec,
    path: DataLocation,
    *,
    as_of: date | None = None,
    hashed: bool = True,
    prefetched: ParquetPrefetch | None = None,
) -> tuple[pd.DataFrame, str]:
    """The raw frame (0-based ``RangeIndex``) and the sha256 of the bytes it was parsed from;
    for the spec's SQL source, its snapshot at ``as_of`` (default ``CHURN_AS_OF``, else today)
    and the order-free sha256 of its rows (:mod:`churn.sources.sql`). ``hashed=False``, for a
    caller that records no hash, skips hashing a local file (its digest is then ``""``).

    ``path`` may be a URL (:mod:`churn.sources.urls`): the object is fetched once into a
    temporary file, hashed, and parsed from it like a local file. ``prefetched``, the same
    local Parquet file already being read on a thread (:mod:`churn.parquet_prefetch`),
    gives the table instead when nothing is hashed, with the same failures.

    Raises:
        DataContractError: The file is missing, empty, unreadable, or changed while read.
        SourceError: The database cannot be read (:mod:`churn.sources.sql`).
    """
    if path == spec.source_path and spec.sql_source is not None:
        return _read_sql(spec, spec.sql_source, as_of)
    kind = format_of(spec, path)  # an unknown suffix is reported before the file is read
    read = _read_csv if kind == "csv" else _read_parquet
    if is_url(path):
        with fetched(str(path)) as (fetched_file, fetched_digest):
            return read(spec, shown(path), fetched_file), fetched_digest
    given = path != spec.source_path  # a command's DATA or SOURCE, not data.source
    path = Path(path)  # a path given as text
    if not path.exists():
        hint = (
            "check the path (relative to the current folder)"
            if given
            else "check data.source (relative to the spec file's folder)"
        )
        fail(path, f"file not found; {hint}")
    if not path.is_file():
        what = "the path" if given else "data.source"
        fail(path, f"not a file; {what} must name a .csv or .parquet file")
    if prefetched is not None and _takes(prefetched, spec, path, kind, hashed):
        try:
            return _prefetched_frame(spec, path, prefetched), ""
        except OSError as exc:
            fail(path, f"cannot read the file: {one_line(exc)}")
    try:
        with path.open("rb") as handle:
            before = file_stamp(handle)
            digest = hashlib.file_digest(handle, "sha256").hexdigest() if hashed else ""
            handle.seek(0)
            frame = read(spec, path, handle)
            if file_stamp(handle) != before:
                fail(path, "the file changed while it was read; run again once it is written")
    except OSError as exc:
        fail(path, f"cannot read the file: {one_line(exc)}")
    return frame, digest


def _takes(
    prefetched: ParquetPrefetch, spec: Spec, path: Path, kind: DataFormat, hashed: bool
) -> bool:
    """Whether ``prefetched`` is this read: the same Parquet file, decoded alike, unhashed."""
    same = prefetched.path == path and prefetched.dictionaries == tuple(dictionary_columns(spec))
    return same and kind == "parquet" and not hashed


def _prefetched_frame(spec: Spec, path: Path, prefetched: ParquetPrefetch) -> pd.DataFrame:
    """The raw frame of the table read on a thread, failing as :func:`_read_parquet` and the
    reading above fail (the thread's OSError of opening the file is raised again here)."""
    table, changed = prefetched.outcome()
    if isinstance(table, Exception):
        fail(path, f"not a readable Parquet file: {one_line(table)}")
    frame = _frame_from_arrow(spec, path, table)
    if changed:
        fail(path, "the file changed while it was read; run again once it is written")
    return frame


def format_of(spec: Spec, path: DataLocation) -> DataFormat:
    """``csv`` or ``parquet``: the spec's ``data.format``, else the file's (or URL's) suffix."""
    if spec.data.format is not None:
        return spec.data.format
    suffix = suffix_of(path)
    found = SUFFIXES.get(suffix.lower())
    if found is None:
        fail(path, f"cannot tell the format from the suffix {suffix!r}; set data.format")
    return found


def fail(path: DataLocation, message: str) -> NoReturn:
    """Raise the :class:`DataContractError` for a file that cannot be read."""
    raise DataContractError(shown(path), [message])


# --------------------------------------------------------------------------- CSV


def _read_csv(spec: Spec, path: DataLocation, handle: IO[bytes]) -> pd.DataFrame:
    frame = _typed_csv(spec, handle)
    if frame is None:
        handle.seek(0)
        frame = _text_csv(spec, path, handle)
    if frame.shape[1] == 1 and len(spec.columns) > 1:
        _fail_on_other_delimiter(path, str(frame.columns[0]), spec.data.read.delimiter)
    check_names(path, frame.columns)
    return frame


def _typed_csv(spec: Spec, handle: IO[bytes]) -> pd.DataFrame | None:
    """The file parsed by pyarrow with the spec's column types; None when it does not parse."""
    options = spec.data.read
    if options.encoding.lower().replace("-", "").replace("_", "") not in ("utf8", "utf8sig"):
        return None
    convert = pacsv.ConvertOptions(
        column_types={name: _arrow_type(column.dtype) for name, column in spec.columns.items()},
        null_values=[*PANDAS_NA_VALUES, *options.na_values],
        true_values=list(BOOL_TRUE),
        false_values=list(BOOL_FALSE),
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    try:
        table = pacsv.read_csv(
            handle,
            parse_options=pacsv.ParseOptions(delimiter=options.delimiter),
            convert_options=convert,
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError):
        return None
    if len(set(table.column_names)) != table.num_columns:
        return None  # duplicate names: pandas' text read renames them, as before
    if any(len(name) > MAX_NAME_CHARS for name in table.column_names):
        return None  # refused by check_names; a header over pyarrow's block (1 MiB) may come
        # back cut by a block, nondeterministically, and the refusal counts the name's length
    frame: pd.DataFrame = table.to_pandas(types_mapper=_MAPPED.get)
    return frame


def _arrow_type(dtype: DType) -> pa.DataType:
    types: dict[DType, pa.DataType] = {
        "int": pa.int64(),
        "float": pa.float64(),
        "bool": pa.bool_(),
        "category": pa.dictionary(pa.int32(), pa.string()),
    }
    return types.get(dtype, pa.string())


def text_csv_options(spec: Spec) -> dict[str, Any]:
    """``pandas.read_csv`` options that read every column as text with the spec's options."""
    options = spec.data.read
    return {
        "dtype": str,
        "na_values": list(options.na_values),
        "keep_default_na": True,
        "sep": options.delimiter,
        "encoding": options.encoding,
    }


def _text_csv(spec: Spec, path: DataLocation, handle: IO[bytes]) -> pd.DataFrame:
    """Every column as text, by pandas: pandas never guesses a dtype, and its errors name lines."""
    options = spec.data.read
    try:
        frame: pd.DataFrame = pd.read_csv(handle, **text_csv_options(spec))
    except pd.errors.EmptyDataError:
        size = file_stamp(handle)[0]
        fail(path, f"empty file ({size} bytes): expected a header line, then one line per row")
    except UnicodeDecodeError as exc:
        handle.seek(0)
        fail(path, _undecodable(handle.read(), options.encoding, exc))
    except LookupError:
        fail(path, f"unknown encoding {options.encoding!r} in data.read.encoding")
    except (pd.errors.ParserError, OSError) as exc:
        fail(path, f"not a readable CSV file: {one_line(exc)}")
    return frame


def _undecodable(content: bytes, encoding: str, exc: UnicodeDecodeError) -> str:
    """Where the first undecodable byte is in the whole file (pandas decodes in chunks)."""
    try:
        content.decode(encoding)
    except UnicodeDecodeError as whole:
        exc = whole
    start = exc.start
    line = content.count(b"\n", 0, start) + 1
    column = start - (content.rfind(b"\n", 0, start) + 1) + 1
    return (
        f"line {line}: byte 0x{content[start : start + 1].hex()} at offset {start} (column "
        f"{column}) cannot be decoded as {encoding}; fix the file or set data.read.encoding"
    )


def _fail_on_other_delimiter(path: DataLocation, header: str, delimiter: str) -> None:
    """A one-column read of a file whose header holds another delimiter: say which to set."""
    for name, other in _DELIMITERS.items():
        if other != delimiter and other in header:
            fail(
                path,
                f"line 1 reads as a single column {shorten(header)}: the file looks "
                f"{name}-delimited; set data.read.delimiter: {other!r} in the spec",
            )


# --------------------------------------------------------------------------- Parquet


def _read_parquet(spec: Spec, path: DataLocation, handle: IO[bytes]) -> pd.DataFrame:
    """Text columns declared ``category`` are read as dictionaries (pandas Categoricals)."""
    try:
        table = parquet_table(handle, dictionary_columns(spec))
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        fail(path, f"not a readable Parquet file: {one_line(exc)}")
    return _frame_from_arrow(spec, path, table)


def _read_sql(spec: Spec, source: SqlSource, as_of: date | None) -> tuple[pd.DataFrame, str]:
    """A SQL source's snapshot as a file would be read: categories as dictionaries."""
    from churn.sources.as_of import as_of_date
    from churn.sources.sql import read_snapshot

    snapshot = read_snapshot(spec, source, as_of if as_of is not None else as_of_date())
    table = snapshot.table
    for name in dictionary_columns(spec):
        index = table.schema.get_field_index(name)
        if index >= 0 and pa.types.is_string(table.schema.field(index).type):
            table = table.set_column(index, name, pc.dictionary_encode(table.column(index)))
    return _frame_from_arrow(spec, Path(source.label), table), snapshot.sha256


def _frame_from_arrow(spec: Spec, path: DataLocation, table: pa.Table) -> pd.DataFrame:
    """An Arrow table (Parquet or SQL) as the raw frame: types churn reads, ``na_values``."""
    check_parquet_types(path, table.schema)
    na_values = list(spec.data.read.na_values)
    if na_values:
        table = _strings_missing(table, pa.array(na_values, type=pa.string()))
    frame: pd.DataFrame = table.to_pandas(types_mapper=_MAPPED.get).reset_index(drop=True)
    for name in frame.columns:
        if na_values and isinstance(frame[name].dtype, pd.CategoricalDtype):
            present = frame[name].cat.categories.intersection(pd.Index(na_values))
            frame[name] = frame[name].cat.remove_categories(present)
    return frame


def _strings_missing(table: pa.Table, na_values: pa.Array) -> pa.Table:
    """``table`` with the ``na_values`` of its text columns made null."""
    for index, field in enumerate(table.schema):
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            column = table.column(index)
            missing = pc.is_in(column, value_set=na_values.cast(field.type))
            table = table.set_column(index, field, pc.if_else(missing, None, column))
    return table
