"""The training pool's size follows CHURN_WORKERS (set by the entrypoint from the CPU limit)."""

from __future__ import annotations

import os

import pytest

from churn.errors import ChurnError
from churn.run.pool import available_cpus as worker_count


def test_churn_workers_sets_the_pool_size(monkeypatch) -> None:
    monkeypatch.setenv("CHURN_WORKERS", "3")
    assert worker_count() == 3


def test_without_churn_workers_one_worker_per_core(monkeypatch) -> None:
    monkeypatch.delenv("CHURN_WORKERS", raising=False)
    assert worker_count() == len(os.sched_getaffinity(0))


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_a_bad_churn_workers_is_a_clear_error(monkeypatch, value) -> None:
    monkeypatch.setenv("CHURN_WORKERS", value)
    with pytest.raises(ChurnError, match="CHURN_WORKERS must be a whole number >= 1"):
        worker_count()
