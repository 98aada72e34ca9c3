"""The bad-input matrix's world: a project and a registry with one real run, copied per case."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml
from factories import subscriptions_spec
from typer.testing import CliRunner

from churn.cli.app import app

PROJECT_FILES = ("spec.yaml", "subscriptions.csv")
XGB_MODEL = {
    "name": "xgb",
    "type": "xgboost",
    "params": {"n_estimators": 20, "learning_rate": 0.1, "max_depth": 3},
}
UNREACHABLE_PREFECT = "http://127.0.0.1:9/api"
"""A Prefect API nobody serves (port 9, discard): a refused run must never need it."""
REFUSING_COMMANDS = ("check", "run")
runner = CliRunner()


@dataclass(frozen=True)
class World:
    """One case's private copy: ``folder`` holds the project, ``home`` the registry."""

    folder: Path
    home: Path
    run_id: str

    @property
    def spec(self) -> Path:
        """The project's spec file."""
        return self.folder / "spec.yaml"

    @property
    def csv(self) -> Path:
        """The project's data file."""
        return self.folder / "subscriptions.csv"

    @property
    def run(self) -> Path:
        """The folder of the registry's one run (the champion)."""
        return self.home / "runs" / self.run_id

    def churn(self, *args: str) -> tuple[int, str]:
        """Run the ``churn`` command on this registry; exit code and output."""
        result = runner.invoke(app, list(args), env={"CHURN_HOME": str(self.home)})
        return result.exit_code, result.output

    def check(self) -> tuple[int, str]:
        """``churn check`` of the project's spec."""
        return self.churn("check", str(self.spec))

    def refused(self, command: str) -> tuple[int, str]:
        """``churn check`` or ``churn run`` of the project's spec, for an input it must refuse.

        ``run`` is pointed at a Prefect API that does not exist: a refusal must come before
        Prefect is needed (no temporary server is started), else the run fails otherwise.
        """
        env = {"CHURN_HOME": str(self.home), "PREFECT_API_URL": UNREACHABLE_PREFECT}
        result = runner.invoke(app, [command, str(self.spec)], env=env)
        return result.exit_code, result.output


def copy_world(source: World, folder: Path) -> World:
    """A private copy of ``source`` in ``folder``."""
    for name in PROJECT_FILES:
        shutil.copy(source.folder / name, folder / name)
    shutil.copytree(source.home, folder / "home", symlinks=True)
    return World(folder, folder / "home", source.run_id)


def spec_text(**overrides: object) -> str:
    """The subscriptions spec (with an XGBoost candidate) as YAML text."""
    models = [*subscriptions_spec()["models"], XGB_MODEL]
    return yaml.safe_dump(subscriptions_spec(models=models, **overrides), sort_keys=False)


def new_runs(home: Path, before: dict[str, bytes]) -> set[str]:
    """Run folders created since ``before`` (a :func:`snapshot`)."""
    runs = home / "runs"
    old = {key.split("/")[1] for key in before if key.startswith("runs/")}
    return {p.name for p in runs.iterdir()} - old if runs.is_dir() else set()


def assert_untouched(home: Path, before: dict[str, bytes], *, failed_run: bool = False) -> None:
    """The registry is byte-identical to ``before``; with ``failed_run``, but for one new run
    folder that records the refusal as a failed run (no model, champion and ledger untouched)."""
    added = new_runs(home, before)
    after = {
        key: content
        for key, content in snapshot(home).items()
        if not any(key.startswith(f"runs/{run_id}/") for run_id in added)
    }
    assert after == before
    if not failed_run:
        assert added == set()
        return
    assert len(added) <= 1
    for run_id in added:
        text = (home / "runs" / run_id / "run.json").read_text()
        assert len(text) < 20_000  # the refusal is recorded, nothing large echoed into it
        record = json.loads(text)
        assert record["status"] == "failed", record
        assert not (home / "runs" / run_id / "model.joblib").exists()


def line_of(text: str, needle: str) -> int:
    """1-based line of the one occurrence of ``needle``."""
    assert text.count(needle) == 1, needle
    return text[: text.index(needle)].count("\n") + 1


def snapshot(home: Path) -> dict[str, bytes]:
    """Every regular file of the registry (champion, ledger, runs) but the lock, by path."""
    return {
        path.relative_to(home).as_posix(): path.read_bytes()
        for path in sorted(home.rglob("*"))
        if path.is_file() and not path.is_symlink() and path.name != ".lock"
    }


def move_out(path: Path, outside: Path) -> None:
    """Move ``path`` to ``outside`` and leave a symlink to it in its place."""
    shutil.move(path, outside)
    path.symlink_to(outside, target_is_directory=outside.is_dir())


Prepare = Callable[[World], str]
"""Damages a world and returns the text the error must contain (the place it names)."""


def twin(world: World) -> str:
    """A second run: a copy of the world's run under another id, its record saying so."""
    twin_id = world.run_id[:-6] + "bbbbbb"
    shutil.copytree(world.run, world.home / "runs" / twin_id)
    path = world.home / "runs" / twin_id / "run.json"
    record = json.loads(path.read_text())
    record["run_id"] = twin_id
    record["model"]["path"] = f"runs/{twin_id}/model.joblib"
    path.write_text(json.dumps(record, indent=2))
    return twin_id
