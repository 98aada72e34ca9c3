"""Each step's log line gives its wall time and the peak memory of the process tree."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from churn.run.memory import TreeMemory, tree_bytes, tree_pids
from churn.run.step_log import measuring, timed

HOLD = "import numpy, time; a = numpy.ones(50_000_000); time.sleep(30)"  # 400 MB


def test_the_tree_includes_a_child_and_its_memory() -> None:
    alone = tree_bytes(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", HOLD])
    try:
        deadline = time.monotonic() + 20
        while tree_bytes(os.getpid()) < alone + 300e6:
            assert time.monotonic() < deadline, "the child's 400 MB never showed"
            time.sleep(0.1)
        assert child.pid in tree_pids(os.getpid())
    finally:
        child.kill()
        child.wait()


def test_a_watched_block_gets_the_peak_even_after_the_memory_is_freed() -> None:
    memory = TreeMemory(interval=0.02).start()
    try:
        with memory.watch() as peak:
            held = np.ones(40_000_000)  # 320 MB, touched
            time.sleep(0.2)
            before_free = memory.sample()
            del held
        with memory.watch() as later:
            pass
    finally:
        memory.stop()
    assert peak.bytes >= before_free > later.bytes + 200e6


def test_timed_steps_log_seconds_and_peak_only_while_measuring(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="churn.run")
    timed("plain", lambda: None)()
    with measuring():
        assert timed("measured", lambda: 7)() == 7
    lines = [record.getMessage() for record in caplog.records]
    assert any(line.startswith("step plain: ") and line.endswith(" s") for line in lines)
    assert any(line.startswith("step measured: ") and " s, peak " in line for line in lines)
    assert any(line.startswith("peak memory of the run: ") for line in lines)


def test_overlapping_watches_with_equal_peaks_each_end_cleanly() -> None:
    """An ended block's peak is no longer raised, even when another block's peak equals it."""
    memory = TreeMemory(interval=10)  # no thread: samples only at the watches' edges
    with memory.watch() as first:
        with memory.watch() as second:
            first.bytes = second.bytes = 1  # equal values, different blocks
        assert first.bytes == second.bytes > 1  # both got the inner block's closing sample
        second.bytes = 0
        memory.sample()
        assert second.bytes == 0, "the inner block ended but its peak is still being raised"
        assert first.bytes > 1
        first.bytes = 0
    assert first.bytes > 0  # the outer block's closing sample
    first.bytes = 0
    memory.sample()
    assert (first.bytes, second.bytes) == (0, 0), "an ended block's peak is still being raised"


def test_a_block_right_after_a_sample_starts_from_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Steps run back to back: the next step's start reuses the last step's closing sample."""
    sizes = iter([100, 300, 200, 50, 60])
    calls: list[int] = []

    def measure(root: int) -> int:
        calls.append(root)
        return next(sizes)

    monkeypatch.setattr("churn.run.memory.tree_bytes", measure)
    memory = TreeMemory(interval=10)  # no thread: samples only at the watches' edges
    with memory.watch() as first:
        pass
    with memory.watch() as second:
        pass
    assert len(calls) == 3  # start and end of the first block, end of the second
    assert (first.bytes, second.bytes) == (300, 300)
    time.sleep(0.1)  # the last sample is stale now: the third block measures its start
    with memory.watch() as third:
        pass
    assert len(calls) == 5
    assert third.bytes == 60
