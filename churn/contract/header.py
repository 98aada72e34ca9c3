"""What a data file's columns must be before their values are looked at.

* A column name longer than :data:`~churn.spec.bounds.MAX_NAME_CHARS` characters is refused
  at read time, and echoed shortened (a 50 MB header name never reaches a message or a record).
* A Parquet column of a type churn cannot read (list, struct, map, binary, time, duration, ...)
  is refused, naming the column and its type, before pandas converts anything.

Nothing happens at import time.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa

from churn.errors import DataContractError
from churn.spec.bounds import MAX_NAME_CHARS, shorten

READABLE = "numbers, booleans, text, dictionaries of text, dates and timestamps"
"""The Parquet types churn reads, in words."""


def check_names(path: Path | str, names: Iterable[object]) -> None:
    """Refuse column names longer than :data:`MAX_NAME_CHARS` characters, shown shortened.

    Raises:
        DataContractError: One line per over-long name.
    """
    long = [str(name) for name in names if len(str(name)) > MAX_NAME_CHARS]
    if long:
        raise DataContractError(
            str(path),
            [
                f"column {shorten(name)}: a column name may have at most {MAX_NAME_CHARS} "
                "characters"
                for name in long
            ],
        )


def check_parquet_types(path: Path | str, schema: pa.Schema) -> None:
    """Refuse Parquet columns whose type churn cannot read, naming each column and its type.

    Raises:
        DataContractError: One line per unreadable column.
    """
    check_names(path, schema.names)
    bad = [field for field in schema if not _readable(field.type)]
    if bad:
        raise DataContractError(
            str(path),
            [
                f"{shorten(field.name, quote=False)}: unsupported Parquet type "
                f"{shorten(str(field.type), quote=False)}; "
                f"churn reads {READABLE}"
                for field in bad
            ],
        )


def _readable(kind: pa.DataType) -> bool:
    if pa.types.is_dictionary(kind):
        return _readable(kind.value_type) and not pa.types.is_dictionary(kind.value_type)
    return bool(
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_decimal(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_timestamp(kind)
        or pa.types.is_date(kind)
        or pa.types.is_null(kind)
    )
