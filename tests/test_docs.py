"""The README's two commands stay true: CI runs the test command verbatim."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    assert block, "README.md must open with a bash block"
    return [line.split("  #")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_exactly_two_commands() -> None:
    run, tests = readme_commands()
    assert run.endswith("churn run")
    assert "nox -s lint typecheck tests" in tests


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    _, tests = readme_commands()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert tests in [line.strip() for line in ci if not line.lstrip().startswith("#")]


def test_python_m_cli_is_the_churn_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "churn.cli", "run", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Train every candidate, apply the gates" in result.stdout
    assert "--home" in result.stdout
