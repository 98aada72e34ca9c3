"""The data contract: the columns block as a pandera schema, reading CSV/Parquet, failures in
words.

The schema's names (:func:`build_schema`, :data:`NO_ROWS`) are imported on first use, so that
reading and checking a clean frame (:mod:`churn.contract.quick_check`) never imports pandera.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from churn.contract.dataset import (
    CSV_FIRST_LINE,
    load_dataset,
    load_dataset_and_hash,
    read_data,
    target_vector,
    validate,
)
from churn.contract.failure_text import (
    MAX_SHOWN,
)
from churn.contract.reading import DataFormat
from churn.errors import (
    DataContractError,
)

if TYPE_CHECKING:
    from churn.contract.schema import (
        NO_ROWS,
        build_schema,
    )

__all__ = [
    "CSV_FIRST_LINE",
    "MAX_SHOWN",
    "NO_ROWS",
    "DataContractError",
    "DataFormat",
    "build_schema",
    "load_dataset",
    "load_dataset_and_hash",
    "read_data",
    "target_vector",
    "validate",
]


def __getattr__(name: str) -> Any:
    """``build_schema`` and ``NO_ROWS`` from :mod:`churn.contract.schema`, imported on first use."""
    if name in ("NO_ROWS", "build_schema"):
        from churn.contract import schema

        return getattr(schema, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
