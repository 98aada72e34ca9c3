"""Training workers and API processes have their own variables, both defaulting to the CPU limit."""

from __future__ import annotations

import os
from contextlib import nullcontext
from pathlib import Path
from types import SimpleNamespace

import pytest

from churn.cpus import cpu_limit
from churn.settings import SettingsError, load_settings

CORES = len(os.sched_getaffinity(0))


@pytest.fixture(autouse=True)
def unset(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("CHURN_TRAIN_WORKERS", "CHURN_WORKERS", "CHURN_API_WORKERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CHURN_CGROUP_ROOT", str(tmp_path / "no-cgroup"))


def test_churn_train_workers_sizes_the_pool_and_not_the_api(monkeypatch) -> None:
    monkeypatch.setenv("CHURN_TRAIN_WORKERS", "3")
    settings = load_settings()
    assert (settings.training_workers(), settings.serving_workers()) == (3, CORES)


def test_churn_api_workers_sizes_the_api_and_not_the_pool(monkeypatch) -> None:
    monkeypatch.setenv("CHURN_API_WORKERS", "5")
    settings = load_settings()
    assert (settings.training_workers(), settings.serving_workers()) == (CORES, 5)


def test_the_older_churn_workers_still_sizes_the_pool_unless_the_new_name_is_set(
    monkeypatch,
) -> None:
    monkeypatch.setenv("CHURN_WORKERS", "2")
    assert load_settings().training_workers() == 2
    monkeypatch.setenv("CHURN_TRAIN_WORKERS", "4")
    assert load_settings().training_workers() == 4


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
@pytest.mark.parametrize("name", ["CHURN_TRAIN_WORKERS", "CHURN_WORKERS", "CHURN_API_WORKERS"])
def test_a_bad_worker_count_is_an_error_naming_the_variable(monkeypatch, name, value) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=f"^invalid environment: {name}='{value}': ") as info:
        load_settings()
    assert info.value.exit_code == 1


def cgroup_v2(root: Path, cpu_max: str) -> Path:
    root.mkdir(exist_ok=True)
    (root / "cpu.max").write_text(cpu_max + "\n")
    return root


def cgroup_v1(root: Path, quota: str, period: str = "100000") -> Path:
    (root / "cpu").mkdir(parents=True)
    (root / "cpu" / "cpu.cfs_quota_us").write_text(quota + "\n")
    (root / "cpu" / "cpu.cfs_period_us").write_text(period + "\n")
    return root


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: cgroup_v2(p, "100000 100000"), 1),
        (lambda p: cgroup_v2(p, "50000 100000"), 1),  # half a CPU rounds up, never 0
        (lambda p: cgroup_v1(p, "25000"), 1),
        (lambda p: cgroup_v2(p, "max 100000"), CORES),
        (lambda p: cgroup_v1(p, "-1"), CORES),
        (lambda p: cgroup_v2(p, f"{CORES * 100000 + 1} 100000"), CORES),  # never above the cores
        (lambda p: p, CORES),  # no cgroup files at all
    ],
    ids=["v2 one", "v2 half", "v1 quarter", "v2 max", "v1 unlimited", "above cores", "none"],
)
def test_the_cpu_limit_is_the_cgroup_quota_capped_by_the_cores(make, expected, tmp_path) -> None:
    assert cpu_limit(make(tmp_path / "cgroup")) == expected


def test_both_worker_counts_default_to_the_cpu_limit(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("CHURN_CGROUP_ROOT", str(cgroup_v2(tmp_path / "cg", "100000 100000")))
    settings = load_settings()
    assert (settings.training_workers(), settings.serving_workers()) == (1, 1)


def test_churn_score_explains_on_the_cpus_the_settings_count(monkeypatch, tmp_path) -> None:
    """``churn score --explain``'s threads follow ``CHURN_CGROUP_ROOT`` like the worker counts."""
    import numpy as np
    import pandas as pd

    from churn.serving import score_file

    if cpu_limit() == 1:
        pytest.skip("one CPU here: a one-CPU cgroup would change nothing")
    monkeypatch.setenv("CHURN_CGROUP_ROOT", str(cgroup_v2(tmp_path / "cg", "100000 100000")))
    threads: list[int] = []
    monkeypatch.setattr(score_file, "explain_threads", lambda n: threads.append(n) or nullcontext())
    explanation = SimpleNamespace(columns=["a"], contributions=np.ones((3, 1)), base=np.zeros(3))
    explainer = SimpleNamespace(explain_encoded=lambda encoded: explanation)
    derived = pd.DataFrame({"a": [1.0, 2.0, 3.0]})

    reasons = score_file._reason_columns(explainer, np.zeros((3, 1)), derived, 1)

    assert threads == [1]
    assert list(reasons["reason_1"]) == ["a", "a", "a"]
