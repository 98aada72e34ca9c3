"""The image's entrypoint sizes thread pools and workers to the container's CPU limit."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from kube import ROOT

ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
THREAD_VARIABLES = ("CHURN_WORKERS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def cores() -> int:
    """The cores, as nproc counts them without OMP_NUM_THREADS (which GNU nproc reports)."""
    command = ["env", "-u", "OMP_NUM_THREADS", "-u", "OMP_THREAD_LIMIT", "nproc"]
    return int(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def entrypoint_env(cgroup: Path, **preset: str) -> dict[str, str]:
    """The environment the entrypoint hands to its command, under a fake cgroup tree."""
    clean = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}
    result = subprocess.run(
        ["sh", str(ENTRYPOINT), "env"],
        env={**clean, "CHURN_CGROUP_ROOT": str(cgroup), **preset},
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)


def cgroup_v2(tmp_path: Path, cpu_max: str) -> Path:
    (tmp_path / "cpu.max").write_text(cpu_max + "\n")
    return tmp_path


def cgroup_v1(tmp_path: Path, quota: str, period: str = "100000") -> Path:
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text(quota + "\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text(period + "\n")
    return tmp_path


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: cgroup_v2(p, "100000 100000"), "1"),
        (lambda p: cgroup_v2(p, "50000 100000"), "1"),  # half a CPU rounds up, never 0
        (lambda p: cgroup_v1(p, "100000"), "1"),
        (lambda p: cgroup_v1(p, "25000", "100000"), "1"),
    ],
    ids=["v2 one cpu", "v2 half cpu", "v1 one cpu", "v1 quarter cpu"],
)
def test_a_cpu_limit_sets_threads_and_workers(make, expected, tmp_path) -> None:
    env = entrypoint_env(make(tmp_path))
    assert {v: env[v] for v in THREAD_VARIABLES} == dict.fromkeys(THREAD_VARIABLES, expected)


@pytest.mark.parametrize(
    "make",
    [
        lambda p: cgroup_v2(p, "max 100000"),
        lambda p: cgroup_v1(p, "-1"),
        lambda p: cgroup_v2(p, "6400000 100000"),  # 64 CPUs allowed: capped at the cores there are
        lambda p: p,  # no cgroup files at all
    ],
    ids=["v2 unlimited", "v1 unlimited", "limit above cores", "no cgroup"],
)
def test_no_effective_limit_falls_back_to_the_cores(make, tmp_path) -> None:
    env = entrypoint_env(make(tmp_path))
    assert env["OMP_NUM_THREADS"] == env["CHURN_WORKERS"] == str(cores())


def test_a_limit_between_cores_rounds_up(tmp_path) -> None:
    if cores() < 2:
        pytest.skip("needs at least 2 cores to tell 1.5 CPUs from the core count")
    env = entrypoint_env(cgroup_v2(tmp_path, "150000 100000"))
    assert env["CHURN_WORKERS"] == "2"


def test_a_users_omp_setting_does_not_change_the_worker_count(tmp_path) -> None:
    env = entrypoint_env(tmp_path, OMP_NUM_THREADS="7")
    assert env["OMP_NUM_THREADS"] == "7"
    assert env["CHURN_WORKERS"] == str(cores())


def test_variables_set_by_the_user_win(tmp_path) -> None:
    env = entrypoint_env(cgroup_v2(tmp_path, "100000 100000"), OMP_NUM_THREADS="3")
    assert env["OMP_NUM_THREADS"] == "3"
    assert env["CHURN_WORKERS"] == "1"


def test_no_command_is_an_error_with_a_message(tmp_path) -> None:
    result = subprocess.run(
        ["sh", str(ENTRYPOINT)],
        env={**os.environ, "CHURN_CGROUP_ROOT": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    assert result.returncode == 2
    assert "no command given" in result.stderr
