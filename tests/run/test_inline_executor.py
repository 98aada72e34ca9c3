"""Training in this process (CHURN_TRAIN_WORKERS=1, one CPU): candidates train one after another."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from churn.run.pool import PRELOAD, InlineExecutor, preload


def test_calls_from_several_threads_run_one_at_a_time() -> None:
    pool = InlineExecutor()
    running, most = [0], [0]
    lock = threading.Lock()

    def fit() -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1

    with ThreadPoolExecutor(4) as steps:
        futures = [steps.submit(lambda: pool.submit(fit).result()) for _ in range(4)]
        for future in futures:
            future.result()
    assert most[0] == 1


def test_a_failing_call_hands_its_exception_to_the_future_and_frees_the_next() -> None:
    pool = InlineExecutor()
    failed = pool.submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        failed.result()
    assert pool.submit(lambda: 7).result() == 7


def test_the_fork_server_imports_the_plotting_stack_only_for_a_run_that_draws() -> None:
    assert preload(draws=False) == PRELOAD
    drawn = preload(draws=True)
    assert drawn[: len(PRELOAD)] == PRELOAD  # the guard first, then the training stack
    assert "churn.report.eda" in drawn and "churn.report.evaluation_plots" in drawn
    assert not any(name.startswith("churn.report") for name in PRELOAD)
