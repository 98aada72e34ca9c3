"""An installed churn adds one top-level package, ``churn``: the folders ``flows/``, ``api/`` and
``cli/`` are installed as ``churn.flows``, ``churn.api`` and ``churn.cli`` (the symlinks
``churn/flows``, ``churn/api``, ``churn/cli``), so another project's ``api`` in the same
environment neither hides churn's nor is hidden by it.

The wheel is built with uv from a copy of what the image builds from (pyproject.toml, README.md
and the four folders, symlinks kept), so the repository gets no ``build/`` folder. The slow test
installs it into a fresh venv beside a package named ``api`` and trains there with the installed
``churn`` command: its own Prefect server included (``churn.flows.server:ephemeral_app``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import import_graph
import pytest
from factories import subscriptions_spec, write_project
from required import required_program

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = ROOT / ".ci" / "constraints.txt"
SOURCES = ("pyproject.toml", "README.md", "churn", *import_graph.INSTALLED_AS)
"""What the wheel is built from (the Dockerfile copies the same)."""
FOREIGN_API = """\
[project]
name = "api"
version = "1.0"
[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"
"""
ONE_MODEL = [{"name": "logreg", "type": "logistic_regression"}]


def uv() -> str:
    return required_program("uv", "python3 -m pip install -r .ci/requirements.txt")


def run(command: list[str], **options: object) -> subprocess.CompletedProcess[str]:
    """Run ``command``; fail the test with its output when it fails."""
    done = subprocess.run(command, capture_output=True, text=True, check=False, **options)
    assert done.returncode == 0, (
        f"{command[:4]} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
            shutil.copytree(ROOT / name, source / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    run([uv(), "build", "--wheel", "--quiet", "--out-dir", str(out), str(source)])
    (built,) = out.glob("churn-*.whl")
    return built


def test_the_checkout_imports_each_folder_under_churn() -> None:
    import churn.api
    import churn.cli
    import churn.flows

    for package in (churn.api, churn.cli, churn.flows):
        folder = package.__name__.removeprefix("churn.")
        assert Path(package.__file__ or "").resolve() == ROOT / folder / "__init__.py"
        assert (ROOT / "churn" / folder).resolve() == ROOT / folder  # the link, not a copy


def test_the_wheel_holds_real_files_under_churn_and_no_other_package(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        members = archive.infolist()
        entry_points = archive.read(f"{wheel.name.split('-')[0]}-0.1.0.dist-info/entry_points.txt")
    names = {member.filename for member in members}
    tops = {name.split("/")[0] for name in names if ".dist-info/" not in name}
    symlinks = [m.filename for m in members if (m.external_attr >> 16) & 0o170000 == 0o120000]

    assert tops == {"churn"}
    for folder in import_graph.INSTALLED_AS:
        expected = {
            f"churn/{path.relative_to(ROOT).as_posix()}" for path in (ROOT / folder).rglob("*.py")
        }
        assert expected <= names, sorted(expected - names)
    assert symlinks == []
    assert "churn = churn.cli.entry:console_main" in entry_points.decode()


@pytest.mark.slow
def test_churn_runs_from_the_wheel_beside_a_package_named_api(wheel: Path, tmp_path: Path) -> None:
    foreign = tmp_path / "foreign"
    (foreign / "api").mkdir(parents=True)
    (foreign / "api" / "__init__.py").write_text('OWNER = "another project"\n')
    (foreign / "pyproject.toml").write_text(FOREIGN_API)
    venv = tmp_path / "venv"
    python = venv / "bin" / "python"
    run([uv(), "venv", "--quiet", "--python", sys.executable, str(venv)])
    install = [uv(), "pip", "install", "--quiet", "-p", str(python), "-c", str(CONSTRAINTS)]
    run([*install, str(foreign), str(wheel)])
    project = tmp_path / "project"
    project.mkdir()
    spec = write_project(project, subscriptions_spec(models=ONE_MODEL))
    home = tmp_path / "home"
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),  # churn starts its own server from the wheel
        "PREFECT_API_URL": "",
        "CHURN_PREFECT_LOCAL_URL": "http://127.0.0.1:9/api",
        "CHURN_PREFECT_START_TIMEOUT": "600",  # a new venv compiles every module it imports
        "VIRTUAL_ENV": str(venv),
    }
    env.pop("PYTHONPATH", None)

    where = run(
        [str(python), "-c", "import api, churn.api; print(api.OWNER); print(churn.api.__file__)"],
        cwd=tmp_path,
        env=env,
    ).stdout.splitlines()
    missing = run(
        [
            str(python),
            "-c",
            "import importlib.util as u; print(u.find_spec('cli'), u.find_spec('flows'))",
        ],
        cwd=tmp_path,
        env=env,
    ).stdout.split()
    trained = run(
        [str(venv / "bin" / "churn"), "run", str(spec), "--home", str(home), "--json"],
        cwd=tmp_path,
        env=env,
        timeout=900,
    )

    assert where[0] == "another project"
    assert Path(where[1]).is_relative_to(venv)  # churn from the wheel, not from the checkout
    assert missing == ["None", "None"]
    manifest = json.loads(trained.stdout)
    assert manifest["decision"]["action"] == "promote"
    assert json.loads((home / "champion.json").read_text())["run_id"] == manifest["run_id"]
