"""``churn drift``'s reading: Arrow allocates from the system allocator, then as before; the
sample's rows checked alone are the whole batch's same rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from factories import subscriptions_frame, write_project

from churn.batch_drift import SCORED_ROWS, sample_rows, system_allocator
from churn.contract.dataset import read_unlabelled, validate_unlabelled
from churn.spec.loader import load_spec


def test_the_system_allocator_is_used_while_reading_and_the_default_restored() -> None:
    before = pa.default_memory_pool().backend_name
    with system_allocator():
        assert pa.default_memory_pool().backend_name == "system"
        table = pa.table({"x": list(range(1000))})
    assert pa.default_memory_pool().backend_name == before
    assert table.column("x").to_pylist()[-1] == 999  # still readable after the switch back


def test_the_default_is_restored_when_reading_fails() -> None:
    before = pa.default_memory_pool().backend_name
    with pytest.raises(RuntimeError), system_allocator():
        raise RuntimeError("unreadable")
    assert pa.default_memory_pool().backend_name == before


@pytest.mark.parametrize("text", [False, True], ids=["typed", "text-read"])
def test_the_samples_rows_checked_alone_equal_the_whole_batchs_same_rows(
    tmp_path: Path, text: bool
) -> None:
    frame = subscriptions_frame(300, seed=3).drop(columns=["churned"])
    if text:  # "7.0" in an int column: the CSV is read as text and coerced by the check
        frame["support_calls"] = frame["support_calls"].map(lambda calls: f"{calls}.0")
    data = tmp_path / "batch.csv"
    frame.to_csv(data, index=False)
    spec = load_spec(write_project(tmp_path))
    read = read_unlabelled(spec, data)
    rows = np.array([0, 5, 17, 299], dtype=np.intp)

    alone = validate_unlabelled(spec, read, rows)
    whole = validate_unlabelled(spec, read)

    pd.testing.assert_frame_equal(alone, whole.iloc[rows])


def test_sample_rows_are_every_row_of_a_small_batch_and_a_seeded_sample_of_a_large_one() -> None:
    assert sample_rows(5).tolist() == [0, 1, 2, 3, 4]
    rows = sample_rows(SCORED_ROWS + 1000)
    assert len(rows) == SCORED_ROWS == len(set(rows.tolist()))
    assert rows.tolist() == sorted(rows.tolist()) == sample_rows(SCORED_ROWS + 1000).tolist()
