"""The first run on a fresh machine starts Prefect's server however slow it is to come up."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from factories import subscriptions_spec

pytestmark = pytest.mark.flow

NO_SERVER = {"PREFECT_API_URL": "", "CHURN_PREFECT_LOCAL_URL": "http://127.0.0.1:9/api"}


@pytest.fixture
def busy_cores() -> Iterator[None]:
    """Every core kept busy by another process for as long as the test runs (at most 10 min)."""
    burners = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import time\nend = time.time() + 600\nwhile time.time() < end: pass",
            ]
        )
        for _ in range(os.cpu_count() or 1)
    ]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


def churn(command: str, project: Path, **env: str) -> subprocess.CompletedProcess[str]:
    spec = project / "spec.yaml"
    if not spec.exists():
        spec.write_text(yaml.safe_dump(subscriptions_spec()))
    home = ["--home", str(project / "home")] if command == "run" else []
    return subprocess.run(
        [sys.executable, "-m", "cli", command, str(spec), *home],
        env={**os.environ, **NO_SERVER, **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_a_first_run_on_a_fresh_prefect_home_succeeds_while_every_core_is_busy(
    project: Path, tmp_path: Path, busy_cores: None
) -> None:
    result = churn("run", project, PREFECT_HOME=str(tmp_path / "fresh-prefect-home"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "first start creates its database" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_server_that_cannot_start_in_time_says_what_to_do(project: Path, tmp_path: Path) -> None:
    result = churn(
        "run",
        project,
        PREFECT_HOME=str(tmp_path / "fresh-prefect-home"),
        CHURN_PREFECT_START_TIMEOUT="0.5",
    )
    assert result.returncode == 1
    assert "Prefect's temporary local server did not start" in result.stderr
    assert "CHURN_PREFECT_START_TIMEOUT=600" in result.stderr
    assert "PREFECT_API_URL" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("breakage", "code"),
    [
        (lambda project: (project / "spec.yaml").write_text("version: 1\nname: [\n"), 2),
        (lambda project: _break_data(project), 3),
    ],
    ids=["spec", "data"],
)
def test_churn_run_fails_on_bad_input_exactly_as_churn_check_does(
    project: Path, tmp_path: Path, breakage: Any, code: int
) -> None:
    (project / "spec.yaml").write_text(yaml.safe_dump(subscriptions_spec()))
    breakage(project)
    env = {"PREFECT_HOME": str(tmp_path / "prefect-home")}
    checked, ran = churn("check", project, **env), churn("run", project, **env)
    assert (checked.returncode, ran.returncode) == (code, code)
    assert ran.stderr == checked.stderr
    assert "Traceback" not in ran.stderr
    assert "Prefect" not in ran.stderr


def _break_data(project: Path) -> None:
    data = project / "subscriptions.csv"
    data.write_text(data.read_text().replace(",basic,", ",platinum,", 1))
