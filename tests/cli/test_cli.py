"""The `churn` command: summaries, --json, and one exit code per kind of failure."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from factories import subscriptions_frame, write_project
from typer.testing import CliRunner

from churn.cli.app import app

runner = CliRunner()


def test_check_passes_on_the_embedded_data(telco_spec_path: Path) -> None:
    result = runner.invoke(app, ["check", str(telco_spec_path)])
    assert result.exit_code == 0, result.output
    assert "rows       7,043" in result.output
    assert "1,869 positive / 5,174 negative (26.5% positive)" in result.output
    assert "xgb          derive -> features -> XGBClassifier" in result.output


def test_check_json_is_machine_readable(tmp_path: Path) -> None:
    spec = write_project(tmp_path)
    result = runner.invoke(app, ["check", str(spec), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["rows"] == 600
    assert list(payload["candidates"]) == ["logreg", "trees"]
    assert payload["class_balance"]["positive"] == int(subscriptions_frame(600)["churned"].sum())


def test_check_exits_2_on_a_spec_error(tmp_path: Path) -> None:
    spec = write_project(tmp_path)
    spec.write_text(spec.read_text().replace("cv_folds: 3", "cv_folds: 0"))
    result = runner.invoke(app, ["check", str(spec)])
    assert result.exit_code == 2
    assert "evaluation.cv_folds: expected greater than or equal to 2, got 0" in result.output


def test_check_exits_3_on_a_data_contract_error(tmp_path: Path) -> None:
    spec = write_project(tmp_path)
    frame = subscriptions_frame(600)
    frame.loc[3, "plan"] = "platinum"
    frame.to_csv(tmp_path / "subscriptions.csv", index=False)
    result = runner.invoke(app, ["check", str(spec)])
    assert result.exit_code == 3
    assert "plan" in result.output
    assert "'platinum'" in result.output
    assert "line 5" in result.output or "lines 5" in result.output


def test_check_exits_1_on_the_unexpected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = write_project(tmp_path)

    def boom(*args: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("churn.training.compile.compile_spec", boom)
    result = runner.invoke(app, ["check", str(spec)])
    assert result.exit_code == 1
    assert "unexpected error: RuntimeError: disk on fire" in result.output


def test_check_passes_on_the_kaggle_shaped_file(tmp_path: Path, telco_spec_path: Path) -> None:
    text = (telco_spec_path.parent.parent / "data" / "telco_churn.csv").read_text()
    lines = text.splitlines()
    header, rows = lines[0], lines[1:]
    kaggle = [header]
    for index, row in enumerate(rows):
        fields = row.split(",")
        fields[0] = f"{7590 + index:04d}-VHVEG"[-10:]
        monthly = fields[-3]
        if monthly.endswith(".0"):
            fields[-3] = monthly[:-2]
        kaggle.append(",".join(fields))
    data = tmp_path / "WA_Fn-UseC_-Telco-Customer-Churn.csv"
    data.write_bytes(("\r\n".join(kaggle) + "\r\n").encode())
    spec = tmp_path / "telco.yaml"
    spec.write_text(telco_spec_path.read_text().replace("../data/telco_churn.csv", data.name))
    shutil.copytree(telco_spec_path.parent / "gates", tmp_path / "gates")  # its gate tests
    result = runner.invoke(app, ["check", str(spec), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["rows"] == 7043
