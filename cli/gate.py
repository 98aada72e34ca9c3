"""``churn gate RUN [--tests PATH]``: a recorded run's gate tests, run again without training."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from churn.cli.options import HomeOpt, JsonOpt


def gate_command(
    run_id: Annotated[str, typer.Argument(help="The run whose model to test (see `churn runs`).")],
    tests: Annotated[
        list[Path] | None,
        typer.Option(
            "--tests",
            help="Test files or folders to run instead of the spec's gates.tests (repeatable).",
        ),
    ] = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run gate tests against a recorded run's model, hold-out and champion, training nothing.

    The tests run with the same trust as the spec (they are its author's code). Exit codes:
    0 every test passed, 4 a test failed or erred, 3 the data changed since the run, 2 a test
    path is missing, 1 anything else.
    """
    from churn.cli.summary import gate_tests_lines
    from churn.registry import Registry, resolve_home
    from churn.run.compose import GATES_NOT_MET
    from churn.run.gate_tests import gate_recorded_run

    found = gate_recorded_run(Registry(resolve_home(home)), run_id, tests)
    if as_json:
        payload = {
            "run_id": found.run_id,
            "candidate": found.candidate,
            "passed": not found.failed,
            "tests": [o.model_dump() for o in found.outcomes],
        }
        typer.echo(json.dumps(payload, indent=2))
    else:
        lines = [
            f"run {found.run_id}  candidate {found.candidate}",
            *gate_tests_lines(found.outcomes),
        ]
        typer.echo("\n".join(lines))
    if found.failed:
        typer.echo(f"run {found.run_id}: gate tests not met", err=True)
        raise typer.Exit(GATES_NOT_MET)
