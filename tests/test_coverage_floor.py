"""CI enforces branch coverage: a floor in pyproject.toml, and .ci/run runs the session."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_branch_coverage_has_a_floor() -> None:
    coverage = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["coverage"]
    assert coverage["run"]["branch"] is True
    assert coverage["report"].get("fail_under", 0) > 0, "no coverage floor (fail_under)"


def test_ci_runs_the_coverage_session() -> None:
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    commands = [line.strip() for line in lines if not line.lstrip().startswith("#")]
    assert "nox -s coverage" in commands
