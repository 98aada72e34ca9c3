"""The commands that only read or move pointers answer at once: no ML stack, no Prefect."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from timing import python_start_cost

from churn.spec.loader import DEFAULT_SPEC
from cli.app import DEFAULT_SPEC as CLI_DEFAULT_SPEC

HEAVY = ("sklearn", "pandas", "prefect", "xgboost", "matplotlib", "pandera")

PROBE = """
import json, sys
from cli.app import app
try:
    app(sys.argv[1:], prog_name="churn")
except SystemExit:
    pass
print(json.dumps(sorted(m for m in {heavy} if m in sys.modules)), file=sys.stderr)
"""


@pytest.mark.parametrize(
    "command",
    [
        ["--help"],
        ["run", "--help"],
        ["synth", "--help"],
        ["runs"],
        ["show", "20260101T000000.000000Z-abcdef"],
        ["champion"],
        ["report"],
        ["promote", "20260101T000000.000000Z-abcdef", "--reason", "test"],
        ["rollback", "--reason", "test"],
    ],
    ids=lambda c: " ".join(c),
)
def test_fast_commands_import_neither_the_ml_stack_nor_prefect(
    command: list[str], tmp_path: Path
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            PROBE.format(heavy=repr(HEAVY)),
            *command,
            *_home(command, tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    loaded = json.loads(result.stderr.strip().splitlines()[-1])
    assert loaded == [], f"churn {' '.join(command)} imported {loaded}"


def _home(command: list[str], tmp_path: Path) -> list[str]:
    return [] if "--help" in command else ["--home", str(tmp_path)]


def test_the_cli_default_spec_is_the_loaders() -> None:
    assert CLI_DEFAULT_SPEC == DEFAULT_SPEC


@pytest.mark.parametrize(
    "command",
    [
        ["promote", "20260101T000000.000000Z-abcdef", "--reason", "test"],
        ["rollback", "--reason", "test"],
    ],
    ids=["promote", "rollback"],
)
def test_pointer_commands_during_a_run_are_refused_at_once(
    command: list[str], tmp_path: Path
) -> None:
    import time

    from churn.registry import Registry

    with Registry(tmp_path).lock("20261126T000000Z-aaaaaa"):
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "cli", *command, "--home", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert "another run holds the lock" in result.stderr
    assert "Traceback" not in result.stderr
    # the lock is held throughout: a command that waited for it would take the whole timeout
    assert elapsed < 2.0 + python_start_cost("import cli.app"), f"refused after {elapsed:.1f} s"
