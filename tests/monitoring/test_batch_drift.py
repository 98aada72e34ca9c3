"""``churn drift``'s reading: Arrow allocates from the system allocator, then as before."""

from __future__ import annotations

import pyarrow as pa
import pytest

from churn.batch_drift import system_allocator


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
