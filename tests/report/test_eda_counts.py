"""The churn-rate plot's per-level counts: numpy's, equal to a pandas group-by of the labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churn.report.eda import level_counts


def grouped(column: pd.Series, churned: np.ndarray) -> pd.DataFrame:
    """The counts as a pandas group-by of each value's text (missing: "(missing)")."""
    labels = column.astype(object).where(column.notna(), "(missing)").map(str)
    frame = pd.DataFrame({"level": labels.to_numpy(), "churned": churned})
    return frame.groupby("level", sort=False)["churned"].agg(["size", "mean"])


@pytest.mark.parametrize(
    "column",
    [
        pd.Series(["b", "a", None, "b", "c", "a", "b", None], dtype="category"),
        pd.Series(["b", "a", None, "b", "c", "a", "b", None], dtype="str"),
        pd.Series([1, "1", 2.0, None, 2, "x", 1, 3], dtype=object),  # 1 and "1" are one level
        pd.Series([True, False, True, True, None, False, None, True], dtype="boolean"),
        pd.Series([], dtype="category"),
    ],
    ids=["category", "str", "mixed", "boolean", "empty"],
)
def test_level_counts_are_those_of_a_group_by(column: pd.Series) -> None:
    churned = np.resize(np.array([True, False, False, True, True]), len(column))
    expected = grouped(column, churned)
    found = level_counts(column, churned)
    pd.testing.assert_frame_equal(found, expected, check_names=False, check_index_type=False)
    assert list(found.index) == list(expected.index)  # first appearance, missing in its place
