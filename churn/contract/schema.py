"""The spec's ``columns`` block as a strict, coercing pandera schema.

Guarantees:

* Undeclared columns are rejected, and every declared column is required.
* While checking, every column is coerced to a nullable dtype (:data:`CHECK_DTYPES`), so that
  nulls are reported as nulls rather than as failed conversions.
* The frame as a whole is checked too: at least one row, both target classes present, and
  unique ids (a nullable unique column may hold several nulls).

Nothing happens at import time.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.engines import pandas_engine

from churn.contract.quick_check import has_classes
from churn.spec import ColumnSpec, DType, Spec

CHECK_DTYPES: dict[DType, str] = {
    "int": "Int64",
    "float": "float64",
    "bool": "boolean",
    "str": "str",
    "category": "category",
    "datetime": "datetime64[ns]",
}
"""dtype each column is coerced to while checking; nullable so that nulls are reported as such."""
NO_ROWS = "no data rows: at least one row is required"
BOTH_CLASSES = "target needs both classes"
"""How the frame check for the target classes words its failure (the classes follow)."""


def build_schema(spec: Spec) -> pa.DataFrameSchema:
    """Compile the spec's ``columns`` block into a strict, coercing pandera schema.

    Args:
        spec: The validated spec.

    Returns:
        A schema that rejects undeclared columns, coerces every column to its checking dtype
        (see :data:`CHECK_DTYPES`), checks values, ranges, nulls and uniqueness, and checks the
        frame as a whole: at least one row, both target classes present, unique ids.
    """
    columns = {
        name: _column(name, column, is_id=name == spec.data.id)
        for name, column in spec.columns.items()
    }
    return pa.DataFrameSchema(
        columns,
        checks=_frame_checks(spec),
        strict=True,
        ordered=False,
        name=spec.name,
    )


def _column(name: str, column: ColumnSpec, *, is_id: bool) -> pa.Column:
    """One column; a nullable unique column may hold several nulls (pandera's would not)."""
    unique = column.unique or is_id
    checks = _value_checks(column)
    if unique and column.nullable:
        words = "duplicate ids" if is_id else "duplicate values"
        checks.append(pa.Check(_not_duplicated, ignore_na=True, error=words))
    return pa.Column(
        _check_dtype(column),
        checks=checks,
        nullable=column.nullable,
        unique=unique and not column.nullable,
        coerce=True,
        required=True,
        name=name,
        description=column.description,
    )


def _check_dtype(column: ColumnSpec) -> Any:
    """The checking dtype; a datetime column with a format parses with that format."""
    if column.dtype == "datetime" and column.format is not None:
        return pandas_engine.DateTime(to_datetime_kwargs={"format": column.format})  # type: ignore[call-arg]
    return CHECK_DTYPES[column.dtype]


NOT_FINITE = "infinite values not allowed (allow_inf: true on the column allows them)"
"""How the check for inf and -inf words its failure."""


def _value_checks(column: ColumnSpec) -> list[pa.Check]:
    checks = []
    if column.dtype == "float" and not column.allow_inf:
        checks.append(pa.Check(_finite, ignore_na=True, error=NOT_FINITE))
    if column.values is not None:
        allowed = list(column.values)
        checks.append(pa.Check.isin(allowed, error=f"values not in allowed set {allowed}"))
    if column.min is not None:
        checks.append(pa.Check.ge(column.min, error=f"below min {_number(column.min)}"))
    if column.max is not None:
        checks.append(pa.Check.le(column.max, error=f"above max {_number(column.max)}"))
    return checks


def _finite(series: pd.Series) -> pd.Series:
    return pd.Series(np.isfinite(series.to_numpy(dtype=float)), index=series.index)


def _not_duplicated(series: pd.Series) -> pd.Series:
    return ~series.duplicated(keep=False)


def _frame_checks(spec: Spec) -> list[pa.Check]:
    target = spec.data.target.column
    classes = list(spec.columns[target].values or [])
    return [
        pa.Check(_has_rows, name="has_rows", error=NO_ROWS),
        pa.Check(
            partial(has_classes, column=target, classes=classes),
            name="both_target_classes",
            error=f"{BOTH_CLASSES} {classes}",
        ),
    ]


def _has_rows(frame: pd.DataFrame) -> bool:
    return len(frame) > 0


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value
