"""CI sessions: `nox -s lint typecheck tests` is what CI runs; `nox -s gate` trains and gates."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"
LINTED = ["churn", "flows", "api", "tests", "benchmarks", "noxfile.py"]


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Ruff: lint rules and formatting of every Python file."""
    session.install("ruff>=0.17,<0.18")
    session.run("ruff", "check", *LINTED, *session.posargs)
    session.run("ruff", "format", "--check", *LINTED)


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """Mypy (strict) on the packages."""
    session.install("-e", ".[dev]")
    session.run("mypy", *session.posargs)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Pytest: unit, property, flow and API tests."""
    session.install("-e", ".[dev]")
    session.run("pytest", *session.posargs, env={"DO_NOT_TRACK": "1"})


@nox.session(python=PYTHON)
def gate(session: nox.Session) -> None:
    """Train the default spec into a scratch registry; fail when its quality gates fail."""
    session.install("-e", ".")
    home = session.create_tmp()
    session.run("churn", "run", "spec/telco.yaml", "--home", home, *session.posargs)
