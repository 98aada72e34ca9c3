"""Derived features read across a row: sums, counts, comparisons, clips, powers and log1p.

The base :class:`DerivedBase` is shared with the older derived types in
:mod:`churn.spec.features`; a type's :meth:`~DerivedBase.problems` adds the checks that need the
declared columns (for example that a counted value is one a column may hold).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from churn.spec.base import Kind, StrictModel

if TYPE_CHECKING:
    from churn.spec.checks import Problem  # a location relative to the entry, and what is wrong
    from churn.spec.model import ColumnSpec


class DerivedBase(StrictModel):
    """What every derived feature has: a name, the kind it reads and the kind it produces."""

    name: str = Field(min_length=1, description="Name of the new column.")
    produces: ClassVar[Kind] = "numeric"
    reads: ClassVar[Kind] = "numeric"
    """The kind of column the feature reads."""

    def inputs(self) -> list[str]:
        """Columns this feature reads."""
        raise NotImplementedError

    def problems(self, columns: Mapping[str, ColumnSpec]) -> Iterator[Problem]:
        """Mistakes only the declared columns reveal (none by default)."""
        return iter(())


def _no_repeats(columns: list[str]) -> list[str]:
    repeated = sorted(name for name, count in Counter(columns).items() if count > 1)
    if repeated:
        raise ValueError(f"each column may be listed once, got {', '.join(repeated)} twice")
    return columns


class _RowAggregate(DerivedBase):
    columns: list[str] = Field(min_length=2, description="Numeric columns, read across each row.")
    nulls: Literal["propagate", "skip"] = Field(
        default="propagate",
        description=(
            "propagate: a missing value in any column makes the result missing; skip: missing "
            "values are left out (the result is missing only when every column is)."
        ),
    )

    def inputs(self) -> list[str]:
        """Columns this feature reads."""
        return list(self.columns)

    _columns_once = field_validator("columns")(_no_repeats)


class SumFeature(_RowAggregate):
    """The sum of two or more numeric columns (e.g. total minutes over the day's periods)."""

    type: Literal["sum"] = Field(description="Discriminator.")


class MeanFeature(_RowAggregate):
    """The mean of two or more numeric columns (with nulls: skip, of those present)."""

    type: Literal["mean"] = Field(description="Discriminator.")


class MinFeature(_RowAggregate):
    """The smallest of two or more numeric columns."""

    type: Literal["min"] = Field(description="Discriminator.")


class MaxFeature(_RowAggregate):
    """The largest of two or more numeric columns."""

    type: Literal["max"] = Field(description="Discriminator.")


class CountFeature(DerivedBase):
    """How many of the columns hold one of ``values`` (a missing value never counts)."""

    type: Literal["count"] = Field(description="Discriminator.")
    columns: list[str] = Field(min_length=1, description="Categorical columns to look at.")
    values: list[str] = Field(min_length=1, description='The values that count, e.g. ["Yes"].')
    reads: ClassVar[Kind] = "categorical"

    def inputs(self) -> list[str]:
        """Columns this feature reads."""
        return list(self.columns)

    _columns_once = field_validator("columns")(_no_repeats)

    def problems(self, columns: Mapping[str, ColumnSpec]) -> Iterator[Problem]:
        """A value no listed column may hold (a typo would count nothing, silently)."""
        allowed: set[object] = set()
        for name in self.columns:
            declared = columns.get(name)
            if declared is None or declared.values is None:
                return  # a free-text column may hold anything
            allowed.update(declared.values)
        for index, value in enumerate(self.values):
            if value not in allowed:
                yield (
                    ("values", index),
                    f"no column of {self.columns} may hold {value!r}; "
                    f"their declared values: {', '.join(map(str, sorted(map(str, allowed))))}",
                )


class CompareFeature(DerivedBase):
    """1 where ``left op right`` holds, else 0; missing when either side is missing."""

    type: Literal["compare"] = Field(description="Discriminator.")
    left: str = Field(description="Numeric column on the left.")
    op: Literal[">", ">=", "<", "<=", "==", "!="] = Field(description="The comparison.")
    right: str | float = Field(description="A numeric column (a name) or a constant (a number).")

    def inputs(self) -> list[str]:
        """Columns this feature reads."""
        return [self.left, self.right] if isinstance(self.right, str) else [self.left]


class ClipFeature(DerivedBase):
    """A numeric column limited to ``[lower, upper]`` (either bound may be left out)."""

    type: Literal["clip"] = Field(description="Discriminator.")
    column: str = Field(description="Numeric column to clip.")
    lower: float | None = Field(default=None, description="Values below become this.")
    upper: float | None = Field(default=None, description="Values above become this.")

    def inputs(self) -> list[str]:
        """Columns this feature reads."""
        return [self.column]

    @model_validator(mode="after")
    def _bounds(self) -> ClipFeature:
        if self.lower is None and self.upper is None:
            raise ValueError("give lower, upper or both")
        if self.lower is not None and self.upper is not None and self.lower >= self.upper:
            raise ValueError(f"lower must be below upper, got {self.lower} >= {self.upper}")
        return self


class PowerFeature(DerivedBase):
    """A numeric column raised to ``exponent``; a result that is not finite is missing."""

    type: Literal["power"] = Field(description="Discriminator.")
    column: str = Field(description="Numeric column, the base.")
    exponent: float = Field(description="The exponent (e.g. 2, 0.5, -1); not 0 or 1.")

    def inputs(self) -> list[str]:
        """Columns this feature reads."""
        return [self.column]

    @model_validator(mode="after")
    def _exponent_changes_something(self) -> PowerFeature:
        if self.exponent in (0, 1):
            raise ValueError(
                f"exponent {self.exponent:g} gives a constant or the column itself; "
                "use another exponent or the column"
            )
        return self


class Log1pFeature(DerivedBase):
    """log(1 + x) as a new column (the ``log`` step replaces its columns); x <= -1 is missing."""

    type: Literal["log1p"] = Field(description="Discriminator.")
    column: str = Field(description="Numeric column.")

    def inputs(self) -> list[str]:
        """Columns this feature reads."""
        return [self.column]
