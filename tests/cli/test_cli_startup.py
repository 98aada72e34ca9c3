"""The commands that only read or move pointers answer at once: no ML stack, no Prefect."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from command_probe import HEAVY, observe_command

from churn.cli.app import DEFAULT_SPEC as CLI_DEFAULT_SPEC
from churn.spec.loader import DEFAULT_SPEC

FAST_COMMANDS = [
    ["--help"],
    ["run", "--help"],
    ["synth", "--help"],
    ["runs"],
    ["show", "20260101T000000.000000Z-abcdef"],
    ["champion"],
    ["report"],
    ["promote", "20260101T000000.000000Z-abcdef", "--reason", "test"],
    ["rollback", "--reason", "test"],
]

PROBE = """
import json, sys
from churn.cli.app import app
commands = json.loads(sys.argv[1])
loaded = {}
for command in commands:
    try:
        app(command, prog_name="churn")
    except SystemExit:
        pass
    loaded[" ".join(command)] = sorted(m for m in HEAVY if m in sys.modules)
print(json.dumps(loaded), file=sys.stderr)
"""


@pytest.fixture(scope="module")
def heavy_modules_after(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """Every fast command, one after another in one fresh interpreter (one Python start, not
    one per command): the heavy modules loaded after each. A command that loads one is the
    first whose list holds it, since the ones before it left it out."""
    home = tmp_path_factory.mktemp("home")
    commands = [[*command, *_home(command, home)] for command in FAST_COMMANDS]
    result = subprocess.run(
        [sys.executable, "-c", PROBE.replace("HEAVY", repr(HEAVY)), json.dumps(commands)],
        capture_output=True,
        text=True,
        timeout=300,  # a hang only: nine light commands, slower on a busy machine
        check=False,
    )
    found: dict[str, list[str]] = json.loads(result.stderr.strip().splitlines()[-1])
    return {name.replace(f" --home {home}", ""): modules for name, modules in found.items()}


@pytest.mark.parametrize("command", FAST_COMMANDS, ids=lambda c: " ".join(c))
def test_fast_commands_import_neither_the_ml_stack_nor_prefect(
    command: list[str], heavy_modules_after: dict[str, list[str]]
) -> None:
    loaded = heavy_modules_after[" ".join(command)]
    assert loaded == [], f"churn {' '.join(command)} imported {loaded}"


def _home(command: list[str], home: Path) -> list[str]:
    return [] if "--help" in command else ["--home", str(home)]


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
    """The lock is held throughout: a command that waited for it would sleep (seen) or block
    until the probe's timeout; the CPU time is the command's own (0.55 s here), not Python's
    start, which a busy machine stretches."""
    from churn.registry import Registry

    with Registry(tmp_path).lock("20261126T000000Z-aaaaaa"):
        seen = observe_command([*command, "--home", str(tmp_path)])
    assert seen.code == 1
    assert "another run holds the lock" in seen.message
    assert "Traceback" not in seen.message
    assert (seen.sleeps, seen.started, seen.heavy) == ([], [], [])
    assert seen.cpu_seconds < 2.0, f"refused after {seen.cpu_seconds:.1f} s of CPU"


@pytest.mark.parametrize("command", ["check", "run"])
def test_a_spec_error_is_reported_before_the_ml_stack_or_prefect_loads(
    command: str, tmp_path: Path
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("version: 1\nname: [\n")
    args = [command, str(spec), *(["--home", str(tmp_path / "home")] if command == "run" else [])]
    seen = observe_command(args)
    assert f"{spec}:3: not valid YAML" in seen.message
    assert seen.heavy == []


def test_churn_drift_reports_a_missing_spec_before_the_ml_stack_loads(tmp_path: Path) -> None:
    """Nor joblib (no model is unpickled in this process) or pydantic-settings (``--home``
    given, no environment variable is read): drift's start-up imports neither."""
    missing = tmp_path / "missing.yaml"
    args = ["drift", str(tmp_path / "batch.parquet"), "--spec", str(missing)]
    seen = observe_command(
        [*args, "--home", str(tmp_path / "home")], heavy=(*HEAVY, "joblib", "pydantic_settings")
    )
    assert f"{missing}: cannot read the spec" in seen.message
    assert "Traceback" not in seen.message
    assert seen.heavy == []
