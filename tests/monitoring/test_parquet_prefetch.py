"""``churn drift``'s Parquet batch read on a thread: the same frame and the same failures as
reading it in place."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from factories import subscriptions_frame, write_project

from churn.contract.dataset import read_unlabelled
from churn.errors import DataContractError
from churn.parquet_prefetch import local_parquet, prefetched_parquet
from churn.spec import Spec
from churn.spec.loader import load_spec


@pytest.fixture
def spec(tmp_path: Path) -> Spec:
    return load_spec(write_project(tmp_path))


def test_the_prefetched_frame_is_the_frame_read_in_place(spec: Spec, tmp_path: Path) -> None:
    frame = subscriptions_frame(200, seed=4)
    frame.loc[3, "plan"] = None
    data = tmp_path / "batch.parquet"
    frame.to_parquet(data)
    in_place = read_unlabelled(spec, data).frame

    with prefetched_parquet(spec, data) as prefetch:
        assert prefetch is not None
        got = read_unlabelled(spec, data, prefetched=prefetch).frame

    pd.testing.assert_frame_equal(got, in_place)
    assert isinstance(got["plan"].dtype, pd.CategoricalDtype)


def test_an_unreadable_file_fails_with_the_same_message(spec: Spec, tmp_path: Path) -> None:
    data = tmp_path / "batch.parquet"
    data.write_bytes(b"PAR1 not really PAR1")
    with pytest.raises(DataContractError) as in_place:
        read_unlabelled(spec, data)

    with prefetched_parquet(spec, data) as prefetch, pytest.raises(DataContractError) as got:
        read_unlabelled(spec, data, prefetched=prefetch)

    assert str(got.value) == str(in_place.value)
    assert "not a readable Parquet file: " in str(got.value)


def test_only_a_local_parquet_file_is_prefetched(spec: Spec, tmp_path: Path) -> None:
    data = tmp_path / "batch.parquet"
    subscriptions_frame(10).to_parquet(data)
    assert local_parquet(spec, data) == data
    assert local_parquet(spec, str(data)) == data
    assert local_parquet(spec, None) is None  # the spec's data is a CSV file
    assert local_parquet(spec, tmp_path / "missing.parquet") is None  # reported where read
    assert local_parquet(spec, "https://example.com/batch.parquet") is None


def test_importing_it_imports_no_pyarrow() -> None:
    """``churn drift`` imports it before forking its model process; pyarrow starts threads
    on import, which a fork must not copy."""
    probe = "import sys, churn.parquet_prefetch; print('pyarrow' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr
