"""Whole training flows under one temporary Prefect server: promotion, gates, crashes, locks."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from factories import subscriptions_spec
from flowtools import preserved_logging
from typer.testing import CliRunner

from churn.cli.app import app
from churn.registry import Registry
from churn.settings import load_settings

pytestmark = [pytest.mark.flow, pytest.mark.usefixtures("prefect_server")]
runner = CliRunner()


def write_spec(folder: Path, name: str = "spec.yaml", **changes: Any) -> Path:
    spec = subscriptions_spec(**changes)
    path = folder / name
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def churn_run(spec: Path, home: Path) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(app, ["run", str(spec), "--home", str(home), "--json"])
    # PREFECT_API_URL names the session's server (a cluster's shape): no server is started.
    assert "starting Prefect's local server" not in result.stderr
    assert f"Prefect API {os.environ['PREFECT_API_URL']}" in result.stderr
    try:
        payload = json.loads(result.stdout)
    except ValueError:
        pytest.fail(f"churn run printed no JSON (exit {result.exit_code}):\n{result.output}")
    return result.exit_code, payload


FIRST_GATES = {
    "value": [{"metric": "roc_auc", "lower": 0.6}],
    "change": [{"metric": "roc_auc", "min_absolute_change": 0.0}],
}
"""The default spec's value gate, and a change gate that "at least as good" meets."""


@pytest.fixture(scope="module")
def promoted(prefect_server: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose home holds a champion trained from ``spec.yaml`` (the default spec with
    :data:`FIRST_GATES`), and what that first run printed in ``first-run.json``: one flow run,
    shared by the tests below; each works on its own copy."""
    from factories import subscriptions_frame

    project = tmp_path_factory.mktemp("promoted")
    subscriptions_frame(600).to_csv(project / "subscriptions.csv", index=False)
    with preserved_logging():
        code, manifest = churn_run(write_spec(project, gates=FIRST_GATES), project / "home")
    assert code == 0, manifest
    (project / "first-run.json").write_text(json.dumps(manifest))
    return project


@pytest.fixture
def champion_project(promoted: Path, tmp_path: Path) -> Path:
    """A copy of :func:`promoted`'s project: the data, the spec and a home with its champion."""
    copy = tmp_path / "project"
    shutil.copytree(promoted, copy)
    assert Registry(copy / "home").verify_champion() is not None
    return copy


def numbers(manifest: dict[str, Any]) -> dict[str, Any]:
    return {
        name: (c["cv_folds"], c["holdout"], c["threshold"])
        for name, c in manifest["candidates"].items()
    }


def test_first_run_promotes_and_an_unchanged_rerun_leaves_the_champion(
    champion_project: Path,
) -> None:
    spec, home = champion_project / "spec.yaml", champion_project / "home"
    first = json.loads((champion_project / "first-run.json").read_text())  # the fixture's run

    assert first["status"] == "succeeded"
    assert first["decision"]["action"] == "promote"
    assert first["champion_before"] is None and first["champion_after"] == first["run_id"]
    workers = min(len(subscriptions_spec()["models"]), load_settings().training_workers())
    executor = "processes" if workers > 1 else "inline"
    assert first["compute"] == {"executor": executor, "workers": workers}
    assert {r["verdict"] for r in first["gates"]["results"]} == {"pass", "skipped"}
    run_dir = home / "runs" / first["run_id"]
    for name in (
        "run.json",
        "metrics.json",
        "metrics.csv",
        "spec.yaml",
        "model.joblib",
        "predictions.csv",
        "report.html",
    ):
        assert (run_dir / name).is_file(), name
    assert (run_dir / "spec.yaml").read_text() == spec.read_text()
    for key in ("spec_sha256", "data_sha256", "seed", "versions", "started_at", "ended_at"):
        assert first[key], key

    code, second = churn_run(spec, home)
    assert code == 0
    # Same spec, data and seed: identical numbers, so d = 0 passes "at least as good".
    assert numbers(second) == numbers(first)
    change = next(r for r in second["gates"]["results"] if r["kind"] == "change")
    assert (change["delta"], change["verdict"]) == (0.0, "pass")
    # ... but the same inputs as the champion are not a new model: the pointer stays.
    assert second["decision"]["action"] == "unchanged", second["decision"]
    assert second["champion_after"] == first["run_id"]
    ledger = Registry(home).ledger()
    assert [(e.action, e.run_id) for e in ledger] == [
        ("promote", first["run_id"]),
        ("unchanged", second["run_id"]),
    ]
    assert json.loads((home / "champion.json").read_text())["run_id"] == first["run_id"]


def test_a_regression_keeps_the_champion_or_fails_as_the_policy_says(
    champion_project: Path,
) -> None:
    project = champion_project
    home = project / "home"
    champion = (home / "champion.json").read_bytes()
    stricter = {
        "value": [{"metric": "roc_auc", "lower": 0.6}],
        "change": [{"metric": "roc_auc", "min_absolute_change": 0.05}],
    }

    code, kept = churn_run(write_spec(project, "keep.yaml", gates=stricter), home)
    assert (code, kept["decision"]["action"], kept["status"]) == (0, "keep_champion", "succeeded")

    code, failed = churn_run(
        write_spec(project, "fail.yaml", gates=stricter, promotion={"on_regression": "fail"}),
        home,
    )
    assert (code, failed["decision"]["action"], failed["status"]) == (4, "reject", "failed")
    assert (home / "champion.json").read_bytes() == champion
    assert [e.action for e in Registry(home).ledger()] == ["promote", "keep_champion", "reject"]


def test_unmeetable_gate_fails_the_flow_run_and_leaves_the_champion_byte_identical(
    champion_project: Path,
) -> None:
    from prefect import get_client
    from prefect.client.schemas.sorting import FlowRunSort

    project = champion_project
    home = project / "home"
    champion = (home / "champion.json").read_bytes()
    impossible = write_spec(
        project, "impossible.yaml", gates={"value": [{"metric": "roc_auc", "lower": 0.999}]}
    )

    result = runner.invoke(app, ["run", str(impossible), "--home", str(home), "--json"])
    assert result.exit_code == 4, result.output
    payload = json.loads(result.stdout)
    assert payload["gates"]["results"][0]["verdict"] == "fail"
    assert f"run {payload['run_id']}: quality gates not met" in result.stderr
    assert "Traceback" not in result.output
    assert (home / "champion.json").read_bytes() == champion
    # The flow run itself ended Failed with the reason; the checked run (its DataFrame) and the
    # pool were arguments, never stored on Prefect's server.
    with get_client(sync_client=True) as client:
        (flow_run,) = client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=1)
    assert flow_run.state is not None and flow_run.state.is_failed()
    assert "quality gates not met" in (flow_run.state.message or "")
    assert flow_run.parameters["run"] == "<PreparedRun>"
    assert flow_run.parameters["pool"].startswith("<")


def test_a_crash_mid_run_leaves_champion_and_ledger_untouched(
    champion_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import churn.run.steps

    project = champion_project
    home = project / "home"
    champion, ledger = (home / "champion.json").read_bytes(), (home / "ledger.jsonl").read_bytes()
    real_record = churn.run.steps.record

    def record_then_die(ctx: Any, *args: Any) -> Any:
        real_record(ctx, *args)  # the model is on disk; the pointer has not moved yet
        raise MemoryError("killed while recording")

    monkeypatch.setattr(churn.run.steps, "record", record_then_die)
    result = runner.invoke(app, ["run", str(write_spec(project)), "--home", str(home)])
    assert result.exit_code == 1
    assert "killed while recording" in result.output
    assert (home / "champion.json").read_bytes() == champion
    assert (home / "ledger.jsonl").read_bytes() == ledger
    latest = Registry(home).latest_record()
    assert latest is not None
    assert (latest.status, latest.incomplete) == ("failed", True)
    assert "MemoryError: killed while recording" in (latest.error or "")


def test_a_second_concurrent_run_exits_at_once_with_a_clear_message(project: Path) -> None:
    home = project / "home"
    with Registry(home).lock("20261126T000000Z-aaaaaa"):
        result = runner.invoke(app, ["run", str(write_spec(project)), "--home", str(home)])
    assert result.exit_code == 1
    assert "another run holds the lock" in result.output
    assert "20261126T000000Z-aaaaaa" in result.output
    assert not (home / "champion.json").exists()


def test_churn_run_exits_2_on_a_spec_error_and_3_on_a_data_contract_error(project: Path) -> None:
    home = project / "home"
    bad_spec = write_spec(project, "bad.yaml", evaluation={"cv_folds": 1})
    result = runner.invoke(app, ["run", str(bad_spec), "--home", str(home)])
    assert result.exit_code == 2, result.output
    assert "evaluation.cv_folds: expected greater than or equal to 2, got 1" in result.output

    (project / "subscriptions.csv").write_text(
        (project / "subscriptions.csv").read_text().replace(",basic,", ",platinum,", 1)
    )
    result = runner.invoke(app, ["run", str(write_spec(project)), "--home", str(home)])
    assert result.exit_code == 3, result.output
    assert "plan: values not in allowed set" in result.output
    assert not (home / "champion.json").exists()


def test_a_failed_eda_task_is_reported_and_does_not_lose_the_run(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import churn.run.report_steps

    def broken_eda(*_: Any) -> Any:
        raise RuntimeError("the plotting backend is gone")

    monkeypatch.setattr(churn.run.report_steps, "eda_step", broken_eda)
    home = project / "home"
    code, manifest = churn_run(write_spec(project), home)
    assert (code, manifest["decision"]["action"]) == (0, "promote")
    report = (home / "runs" / manifest["run_id"] / "report.html").read_text()
    assert "EDA failed: RuntimeError: the plotting backend is gone" in report
