"""The image's entrypoint sizes native thread pools to the container's CPU limit, counted by
churn itself (``python3 -m churn.cpus``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from kube import ROOT

ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
WORKER_VARIABLES = ("CHURN_WORKERS", "CHURN_TRAIN_WORKERS", "CHURN_API_WORKERS")


def cores() -> int:
    """The cores, as nproc counts them without OMP_NUM_THREADS (which GNU nproc reports)."""
    command = ["env", "-u", "OMP_NUM_THREADS", "-u", "OMP_THREAD_LIMIT", "nproc"]
    return int(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def entrypoint_env(cgroup: Path, **preset: str) -> dict[str, str]:
    """The environment the entrypoint hands to its command, under a fake cgroup tree."""
    unset = (*THREAD_VARIABLES, *WORKER_VARIABLES)
    clean = {k: v for k, v in os.environ.items() if k not in unset}
    result = subprocess.run(
        ["sh", str(ENTRYPOINT), "env"],
        env={**clean, "CHURN_CGROUP_ROOT": str(cgroup), **preset},
        capture_output=True,
        text=True,
        timeout=60,
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
def test_a_cpu_limit_sets_the_thread_pools(make, expected, tmp_path) -> None:
    env = entrypoint_env(make(tmp_path))
    assert {v: env[v] for v in THREAD_VARIABLES} == dict.fromkeys(THREAD_VARIABLES, expected)
    # churn sizes its workers from the same count itself; the entrypoint sets no worker count
    assert [v for v in WORKER_VARIABLES if v in env] == []


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
    assert env["OMP_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == str(cores())


def test_a_limit_between_cores_rounds_up(tmp_path) -> None:
    if cores() < 2:
        pytest.skip("needs at least 2 cores to tell 1.5 CPUs from the core count")
    env = entrypoint_env(cgroup_v2(tmp_path, "150000 100000"))
    assert env["OMP_NUM_THREADS"] == "2"


def test_a_users_omp_setting_does_not_change_the_cpu_count(tmp_path) -> None:
    env = entrypoint_env(tmp_path, OMP_NUM_THREADS="7")
    assert env["OMP_NUM_THREADS"] == "7"
    assert env["OPENBLAS_NUM_THREADS"] == str(cores())


def test_variables_set_by_the_user_win(tmp_path) -> None:
    env = entrypoint_env(cgroup_v2(tmp_path, "100000 100000"), OMP_NUM_THREADS="3")
    assert env["OMP_NUM_THREADS"] == "3"
    assert env["OPENBLAS_NUM_THREADS"] == "1"


def run_entrypoint(*command: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The entrypoint run with ``command`` and extra environment, whatever its exit code."""
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *command],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_no_command_is_an_error_with_a_message(tmp_path) -> None:
    result = run_entrypoint(CHURN_CGROUP_ROOT=str(tmp_path))
    assert result.returncode == 2
    assert "no command given" in result.stderr


def test_the_entrypoint_counts_cpus_with_churns_own_function(tmp_path) -> None:
    text = ENTRYPOINT.read_text()
    assert "python3 -m churn.cpus" in text
    assert "cpu.max" not in text.split("set -eu", 1)[1]  # no second count in shell


def test_the_cpu_count_loads_no_third_party_library() -> None:
    probe = (
        "import sys, churn.cpus; "
        "print([m for m in sys.modules if m.split('.')[0] in ('pydantic', 'pydantic_settings', "
        "'numpy', 'yaml', 'typer')])"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


def test_a_bad_call_of_the_cpu_count_is_an_error_with_a_message() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "churn.cpus", "a", "b"], capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert "usage: python3 -m churn.cpus [CGROUP_ROOT]" in result.stderr
