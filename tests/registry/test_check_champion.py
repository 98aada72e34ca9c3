"""``churn check`` verifies the champion's model file, so damage is found before a run starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import saved_champion as with_champion
from factories import write_project
from typer.testing import CliRunner

from churn.check import check_spec
from churn.cli.app import app
from churn.errors import RegistryError

runner = CliRunner()


def test_check_reports_the_verified_champion(tmp_path: Path) -> None:
    spec = write_project(tmp_path)
    with_champion(tmp_path / "home")
    summary = check_spec(spec, home=tmp_path / "home")
    assert summary.champion == "20260101T000000.000000Z-aaaaaa"
    assert "champion   run 20260101T000000.000000Z-aaaaaa (model hash verified)" in (
        summary.to_text()
    )


def test_check_without_a_champion_says_so(tmp_path: Path) -> None:
    summary = check_spec(write_project(tmp_path), home=tmp_path / "empty")
    assert summary.champion is None
    assert summary.to_dict()["champion"] is None


def test_altered_champion_model_fails_check_naming_the_file_and_the_repair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = write_project(tmp_path)
    model = with_champion(tmp_path / "home")
    model.write_bytes(model.read_bytes() + b"tampered")
    before = (tmp_path / "home" / "champion.json").read_bytes()
    monkeypatch.setenv("CHURN_HOME", str(tmp_path / "home"))
    result = runner.invoke(app, ["check", str(spec)])
    assert result.exit_code == 1
    assert f"model file {model} does not match its recorded hash" in result.output
    assert "churn rollback" in result.output and "churn promote" in result.output
    assert (tmp_path / "home" / "champion.json").read_bytes() == before


def test_missing_champion_model_fails_check(tmp_path: Path) -> None:
    spec = write_project(tmp_path)
    with_champion(tmp_path / "home").unlink()
    with pytest.raises(RegistryError, match=r"model file missing: .*model\.joblib"):
        check_spec(spec, home=tmp_path / "home")


def test_unreadable_champion_pointer_fails_check(tmp_path: Path) -> None:
    spec = write_project(tmp_path)
    with_champion(tmp_path / "home")
    (tmp_path / "home" / "champion.json").write_text("{not json")
    with pytest.raises(RegistryError, match=r"unreadable .*champion\.json"):
        check_spec(spec, home=tmp_path / "home")
