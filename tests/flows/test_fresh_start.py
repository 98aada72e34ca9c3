"""The first run on a fresh machine starts Prefect's server however slow it is to come up."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml
from factories import subscriptions_spec

pytestmark = pytest.mark.flow

NO_SERVER = {"PREFECT_API_URL": "", "CHURN_PREFECT_LOCAL_URL": "http://127.0.0.1:9/api"}


class BusyCores:
    """Every core kept busy by another process until :meth:`stop` (at most 10 min)."""

    def __init__(self) -> None:
        burn = "import time\nend = time.time() + 600\nwhile time.time() < end: pass"
        self.burners = [
            subprocess.Popen([sys.executable, "-c", burn]) for _ in range(os.cpu_count() or 1)
        ]

    def stop(self) -> None:
        for burner in self.burners:
            burner.kill()
            burner.wait()


@pytest.fixture
def busy_cores() -> Iterator[BusyCores]:
    cores = BusyCores()
    try:
        yield cores
    finally:
        cores.stop()


def churn(command: str, project: Path, **env: str) -> subprocess.CompletedProcess[str]:
    spec = project / "spec.yaml"
    if not spec.exists():
        spec.write_text(yaml.safe_dump(subscriptions_spec()))
    home = ["--home", str(project / "home")] if command == "run" else []
    return subprocess.run(
        [sys.executable, "-m", "churn.cli", command, str(spec), *home],
        env={**os.environ, **NO_SERVER, **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.slow
def test_a_first_run_on_a_fresh_prefect_home_succeeds_while_every_core_is_busy(
    project: Path, tmp_path: Path, busy_cores: BusyCores
) -> None:
    """Every core is busy while the server creates its database and starts (what timed out
    on a busy machine), then freed: the run's own training needs no test of contention."""
    spec = project / "spec.yaml"
    spec.write_text(yaml.safe_dump(subscriptions_spec()))
    env = {
        **os.environ,
        **NO_SERVER,
        "PREFECT_HOME": str(tmp_path / "fresh-prefect-home"),
        "CHURN_PREFECT_TEMPLATE_DIR": str(tmp_path / "no-template-yet"),
    }
    command = [sys.executable, "-m", "churn.cli", "run", str(spec), "--home", str(project / "home")]
    with subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True) as run:
        assert run.stderr is not None
        watchdog = threading.Timer(600, run.kill)
        watchdog.start()
        lines = []
        try:
            for line in run.stderr:
                lines.append(line)
                if line.startswith("Prefect API "):  # the server answered: start-up is over
                    busy_cores.stop()
            code = run.wait(timeout=60)
        finally:
            watchdog.cancel()
    stderr = "".join(lines)
    assert code == 0, stderr[-3000:]
    assert "first start creates its database" in stderr
    assert [p.name for p in (tmp_path / "no-template-yet").iterdir()] == [
        f"prefect-{metadata.version('prefect')}.db"
    ]  # the next fresh home starts from it
    assert any(line.startswith("Prefect API ") for line in lines)
    assert "Traceback" not in stderr


@pytest.mark.slow
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
        pytest.param(  # a fresh Prefect home's server starts before the data check: 30 s
            lambda project: _break_data(project), 3, marks=pytest.mark.slow
        ),
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
