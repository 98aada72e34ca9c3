"""``churn run`` pointed at a Dask scheduler it cannot use: one clear line and exit 1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from factories import subscriptions_spec, write_project


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def churn_run(tmp_path: Path, scheduler: str) -> subprocess.CompletedProcess[str]:
    spec = write_project(tmp_path, subscriptions_spec(compute={"connect_timeout": 1}))
    env = {
        **os.environ,
        "CHURN_DASK_SCHEDULER": scheduler,
        # A Prefect API that is never called: the run must end before it would be.
        "PREFECT_API_URL": f"http://127.0.0.1:{closed_port()}/api",
        "PREFECT_HOME": str(tmp_path / "prefect"),
    }
    return subprocess.run(
        [sys.executable, "-m", "churn.cli", "run", str(spec), "--home", str(tmp_path / "home")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.mark.slow  # a whole `churn run` waiting out Dask's connect timeout: 10 s
def test_an_unreachable_scheduler_ends_the_run_with_exit_1_and_no_traceback(tmp_path) -> None:
    address = f"tcp://127.0.0.1:{closed_port()}"
    result = churn_run(tmp_path, address)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"cannot reach the Dask scheduler at {address} (from CHURN_DASK_SCHEDULER)" in (
        result.stderr
    )
    assert not list((tmp_path / "home").glob("runs/*")), "no run was started"


@pytest.mark.slow  # a whole `churn run` process: 8 s
def test_a_malformed_scheduler_address_ends_the_run_before_anything_starts(tmp_path) -> None:
    result = churn_run(tmp_path, "http://dask:8786")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "CHURN_DASK_SCHEDULER: expected SCHEME://HOST:PORT" in result.stderr
    assert "training on the Dask cluster" not in result.stderr
