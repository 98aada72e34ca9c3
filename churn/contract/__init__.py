"""The data contract: the columns block as a pandera schema, reading CSV/Parquet, failures in
words."""

from __future__ import annotations

from churn.contract.dataset import (
    CSV_FIRST_LINE,
    DataFormat,
    load_dataset,
    load_dataset_and_hash,
    read_data,
    target_vector,
    validate,
)
from churn.contract.failure_text import (
    MAX_SHOWN,
)
from churn.contract.schema import (
    NO_ROWS,
    build_schema,
)
from churn.errors import (
    DataContractError,
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
