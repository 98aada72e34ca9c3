"""`churn runs / show / champion / promote / rollback / report` over a real registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from factories import edited_spec, train_run, write_project
from typer.testing import CliRunner

from churn.cli.app import app

runner = CliRunner()


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("project")
    spec = write_project(folder)
    home = folder / "home"
    return home, [train_run(spec, home).as_dict(), train_run(edited_spec(spec), home).as_dict()]


@pytest.fixture
def own_home(two_runs, tmp_path: Path) -> Path:
    """A copy of the shared registry that a test may change."""
    import shutil

    home = tmp_path / "home"
    shutil.copytree(two_runs[0], home)
    return home


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_runs_lists_newest_first_as_text_and_json(two_runs) -> None:
    home, (first, second) = two_runs
    code, text = invoke("runs", "--home", str(home))
    assert code == 0
    assert text.index(second["run_id"]) < text.index(first["run_id"])
    code, output = invoke("runs", "--home", str(home), "--json")
    assert [run["run_id"] for run in json.loads(output)] == [second["run_id"], first["run_id"]]


def test_show_prints_candidates_gates_and_decision(two_runs) -> None:
    home, (first, _) = two_runs
    code, text = invoke("show", first["run_id"], "--home", str(home))
    assert code == 0
    assert "logreg" in text and "trees" in text
    assert "decision: promote: first run, no champion" in text


def test_show_unknown_run_exits_1_with_a_clear_message(two_runs) -> None:
    home, _ = two_runs
    code, text = invoke("show", "20990101T000000Z-ffffff", "--home", str(home))
    assert code == 1
    assert "run 20990101T000000Z-ffffff not found" in text


def test_champion_is_the_latest_promoted_run(two_runs) -> None:
    home, (_, second) = two_runs
    code, output = invoke("champion", "--home", str(home), "--json")
    assert code == 0
    assert json.loads(output)["run_id"] == second["run_id"]


def test_rollback_then_forced_promote_are_recorded_with_their_reasons(two_runs, own_home) -> None:
    _, (first, second) = two_runs
    home = own_home

    code, output = invoke("rollback", "--reason", "bad scores in prod", "--home", str(home))
    assert code == 0, output
    assert "champion   " + first["run_id"] in output

    code, output = invoke(
        "promote",
        second["run_id"],
        "--reason",
        "fixed upstream data",
        "--home",
        str(home),
        "--json",
    )
    assert code == 0, output
    assert json.loads(output)["action"] == "force_promote"

    ledger = [json.loads(line) for line in (home / "ledger.jsonl").read_text().splitlines()]
    assert [(e["action"], e["reason"]) for e in ledger[-2:]] == [
        ("rollback", "bad scores in prod"),
        ("force_promote", "fixed upstream data"),
    ]


def test_a_forced_promotion_needs_a_reason(two_runs) -> None:
    home, (first, _) = two_runs
    code, text = invoke("promote", first["run_id"], "--reason", " ", "--home", str(home))
    assert code == 1
    assert "a forced promotion needs a reason" in text


def test_report_prints_the_latest_report_path_or_says_there_is_none(two_runs, own_home) -> None:
    _, (_, second) = two_runs
    home = own_home
    code, text = invoke("report", "--home", str(home))
    # train_run does not draw the report (the flow's report task does): say so clearly.
    assert code == 1
    assert f"run {second['run_id']} has no report" in text
    (home / "runs" / second["run_id"] / "report.html").write_text("<html></html>")
    code, text = invoke("report", "--home", str(home))
    assert code == 0
    assert text.strip() == str(home / "runs" / second["run_id"] / "report.html")


def test_report_refuses_a_report_that_is_a_symlink(own_home: Path, tmp_path: Path) -> None:
    latest = sorted((own_home / "runs").iterdir())[-1]
    outside = tmp_path / "elsewhere.html"
    outside.write_text("<html>not ours</html>")
    (latest / "report.html").unlink(missing_ok=True)
    (latest / "report.html").symlink_to(outside)
    code, output = invoke("report", latest.name, "--home", str(own_home))
    assert code == 1
    assert "symlink" in output
    assert str(outside) not in output.splitlines()[-1]


def test_check_verifies_the_champion_of_the_home_it_is_given(two_runs, own_home: Path) -> None:
    spec = two_runs[0].parent / "spec.yaml"
    assert invoke("check", str(spec), "--home", str(own_home))[0] == 0
    champion = json.loads((own_home / "champion.json").read_text())
    (own_home / champion["model_path"]).write_bytes(b"tampered")
    code, output = invoke("check", str(spec), "--home", str(own_home))
    assert code == 1
    assert "churn rollback" in output
