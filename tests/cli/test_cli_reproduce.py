"""`churn reproduce RUN`: re-run a recorded run and say whether its metrics match."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from factories import train_run, write_project
from typer.testing import CliRunner

from churn.cli.app import app

runner = CliRunner()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("project")
    home = folder / "home"
    return home, train_run(write_project(folder, rows=300), home).as_dict()


def edited_copy(home: Path, run_id: str, tmp_path: Path, edit: Any) -> Path:
    """A copy of ``home`` whose run.json of ``run_id`` went through ``edit`` (in place)."""
    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    path = copy / "runs" / run_id / "run.json"
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    return copy


def reproduce(home: Path, run_id: str, *more: str) -> Any:
    return runner.invoke(app, ["reproduce", run_id, "--home", str(home), *more])


def test_a_recorded_run_reproduces_exactly(recorded) -> None:
    home, manifest = recorded
    result = reproduce(home, manifest["run_id"], "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert found["matches"] is True
    assert found["compared"] >= 2 * len(manifest["candidates"])


def test_a_changed_recorded_metric_is_a_mismatch_with_a_table(recorded, tmp_path: Path) -> None:
    home, manifest = recorded
    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    path = copy / "runs" / manifest["run_id"] / "run.json"
    data = json.loads(path.read_text())
    data["candidates"]["logreg"]["holdout"]["roc_auc"] += 0.01
    path.write_text(json.dumps(data))
    result = reproduce(copy, manifest["run_id"])
    assert result.exit_code == 1
    assert "MISMATCH" in result.output
    [row] = [line for line in result.output.splitlines() if "holdout.roc_auc" in line]
    assert row.split()[0] == "logreg"


def test_changed_data_is_reported_not_compared(recorded, tmp_path: Path) -> None:
    home, manifest = recorded
    data_path = Path(manifest["data"]["path"])
    original = data_path.read_bytes()
    try:
        data_path.write_bytes(original.replace(b"\n", b"\r\n", 1))
        result = reproduce(home, manifest["run_id"])
    finally:
        data_path.write_bytes(original)
    assert result.exit_code == 1
    assert "the data changed since the run" in result.output


def test_an_unknown_run_is_exit_code_1_with_a_message(recorded) -> None:
    home, _ = recorded
    result = reproduce(home, "no-such-run")
    assert result.exit_code == 1
    assert "not found" in result.output


def test_a_classifier_run_hashes_its_predictions_in_run_json(recorded) -> None:
    home, manifest = recorded
    record = manifest["predictions"]
    content = (home / record["path"]).read_bytes()
    assert record["path"] == f"runs/{manifest['run_id']}/predictions.csv"
    assert record["sha256"] == hashlib.sha256(content).hexdigest()
    assert record["bytes"] == len(content)
    assert content.startswith(b"id,churn_probability,")


def test_changed_classifier_predictions_are_a_mismatch(recorded, tmp_path: Path) -> None:
    home, manifest = recorded
    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    path = copy / manifest["predictions"]["path"]
    path.write_bytes(path.read_bytes().replace(b",holdout", b",train", 1))
    result = reproduce(copy, manifest["run_id"])
    assert result.exit_code == 1
    assert f"{path}: changed since the run (sha256 differs from run.json)" in result.output


def test_an_old_run_without_a_predictions_hash_still_reproduces(recorded, tmp_path: Path) -> None:
    home, manifest = recorded
    copy = edited_copy(home, manifest["run_id"], tmp_path, lambda data: data.pop("predictions"))
    result = reproduce(copy, manifest["run_id"])
    assert result.exit_code == 0, result.output
    assert "note: predictions.csv: not recorded" in result.output
