"""A run records its profile and the training data's drift; `churn drift` judges a batch."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from factories import edited_spec, subscriptions_frame, subscriptions_spec, train_run, write_project
from typer.testing import CliRunner

from churn.cli.app import app
from churn.errors import RegistryError
from churn.monitoring.profile import read_profile
from churn.monitoring.retrain import retrain_reasons
from churn.registry import Registry
from churn.registry.record import TrainingDriftRecord
from churn.spec.loader import load_spec

pytestmark = pytest.mark.slow  # two whole runs (training) in the fixture
runner = CliRunner()
LOGREG = [{"name": "logreg", "type": "logistic_regression"}]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two runs of the subscriptions project; the second (an edited spec) is the champion."""
    folder = tmp_path_factory.mktemp("drift")
    spec = write_project(folder, subscriptions_spec(models=LOGREG), rows=400)
    home = folder / "home"
    first = train_run(spec, home)
    second = train_run(edited_spec(spec), home)
    return {"folder": folder, "spec": spec, "home": home, "first": first, "second": second}


def invoke(project: dict[str, Any], *args: str) -> tuple[int, str, str]:
    base = ["drift", *args, "--home", str(project["home"]), "--spec", str(project["spec"])]
    result = runner.invoke(app, base)
    return result.exit_code, result.stdout, result.stderr


def batch(project: dict[str, Any], name: str, **changes: Any) -> Path:
    frame = subscriptions_frame(500, seed=11).drop(columns=["churned"])
    for column, change in changes.items():
        frame[column] = change(frame[column])
    path = project["folder"] / name
    frame.to_csv(path, index=False)
    return path


def test_a_run_writes_its_profile_under_its_hash(project: dict[str, Any]) -> None:
    first = project["first"]
    registry = Registry(project["home"])
    path = project["home"] / first.profile.path

    assert path == registry.run_dir(first.run_id) / "profile.json"
    assert first.profile.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert first.profile.bytes == path.stat().st_size
    profile = read_profile(path.parent, sha256=first.profile.sha256)
    assert [c.column for c in profile.columns][:2] == ["plan", "region"]
    assert profile.scores.rows == 100  # the default 25 % hold-out of 400 rows
    assert first.training_drift is None  # no champion to compare with


def test_the_next_run_records_its_data_against_the_champion(project: dict[str, Any]) -> None:
    drift = project["second"].training_drift

    assert drift is not None
    assert (drift.champion, drift.status, drift.alerts) == (project["first"].run_id, "ok", [])
    assert set(drift.psi) == {"plan", "region", "monthly_fee", "support_calls", "months_active"}
    assert all(value is not None and value < 1e-9 for value in drift.psi.values())  # same data


def test_churn_drift_on_a_batch_like_the_training_data_exits_0(project: dict[str, Any]) -> None:
    page = project["folder"] / "quiet.html"

    code, out, err = invoke(project, str(batch(project, "quiet.csv")), "--html", str(page))

    assert code == 0, err
    assert "monthly_fee" in out and "(scores)" in out
    assert f"against run {project['second'].run_id}: ok" in out
    assert "No column warns or alerts." in page.read_text()


def test_a_shifted_batch_alerts_with_exit_code_6_and_names_the_columns(
    project: dict[str, Any],
) -> None:
    shifted = batch(project, "shifted.csv", monthly_fee=lambda fee: fee * 1.5)
    page = project["folder"] / "shifted.html"

    code, out, err = invoke(project, str(shifted), "--json", "--html", str(page))

    assert code == 6
    result = json.loads(out)
    assert "monthly_fee" in result["alerts"] and result["status"] == "alert"
    assert err.strip().startswith("drift alert: monthly_fee")
    html = page.read_text()
    assert "<svg" in html and "monthly_fee" in html and "<script" not in html


def test_a_batch_that_breaks_the_contract_exits_3_and_writes_nothing(
    project: dict[str, Any],
) -> None:
    broken = batch(project, "broken.csv", plan=lambda plan: plan.replace("basic", "platinum"))
    page = project["folder"] / "broken.html"

    code, _, err = invoke(project, str(broken), "--html", str(page))

    assert code == 3
    assert "broken.csv" in err and "plan" in err
    assert not page.exists()


def test_a_changed_profile_is_refused(project: dict[str, Any], tmp_path: Path) -> None:
    second = project["second"]
    path = project["home"] / second.profile.path
    original = path.read_bytes()
    try:
        path.write_bytes(original.replace(b'"bins": 10', b'"bins": 11'))
        with pytest.raises(RegistryError, match="does not hash to the sha256"):
            read_profile(path.parent, sha256=second.profile.sha256)
        code, _, err = invoke(project, str(batch(project, "any.csv")), "--run", second.run_id)
        assert code == 1 and "does not hash to the sha256" in err
    finally:
        path.write_bytes(original)


def test_run_if_needed_skips_a_fresh_champion_on_undrifted_data(project: dict[str, Any]) -> None:
    home = project["home"]
    runs_before = sorted(path.name for path in (home / "runs").iterdir())
    ledger_before = (home / "ledger.jsonl").read_bytes()

    result = runner.invoke(app, ["run", str(project["spec"]), "--home", str(home), "--if-needed"])

    champion = project["second"].run_id
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"skipped: champion {champion}, 0.")
    assert "data drift ok; nothing to retrain" in result.stdout
    assert sorted(path.name for path in (home / "runs").iterdir()) == runs_before
    assert (home / "ledger.jsonl").read_bytes() == ledger_before
    skip = json.loads((home / "skips.jsonl").read_text().splitlines()[-1])
    assert (skip["champion"], skip["drift"]["status"]) == (champion, "ok")
    assert skip["reason"] == result.stdout.strip()


def test_run_if_needed_json_prints_the_skip_as_json(project: dict[str, Any]) -> None:
    """--json is for machines: a skip printed the people's line instead."""
    home = project["home"]
    args = ["run", str(project["spec"]), "--home", str(home), "--if-needed", "--json"]

    result = runner.invoke(app, args)

    assert result.exit_code == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed == json.loads((home / "skips.jsonl").read_text().splitlines()[-1])
    assert printed["champion"] == project["second"].run_id
    assert printed["reason"].endswith("data drift ok; nothing to retrain")


def test_retrain_reasons_name_age_drift_and_a_missing_profile(project: dict[str, Any]) -> None:
    registry = Registry(project["home"])
    spec = load_spec(project["spec"])
    champion = project["second"].run_id
    now = project["second"].ended_at
    drifted = TrainingDriftRecord(champion=champion, status="alert", alerts=["monthly_fee"])
    unknown = TrainingDriftRecord(champion=champion, status=None, note="no profile")

    assert retrain_reasons(registry, spec, project["second"].training_drift, now=now) == []
    old = retrain_reasons(registry, spec, None, now=now + timedelta(days=7.5))
    assert old == [f"champion {champion} is 7.5 days old (limit 7)"]
    assert retrain_reasons(registry, spec, drifted, now=now) == [
        "the training data drifted past the alert level: monthly_fee"
    ]
    assert retrain_reasons(registry, spec, unknown, now=now) == [
        f"champion {champion} has no reference profile to measure drift"
    ]
    assert retrain_reasons(Registry(project["folder"] / "empty"), spec, None, now=now) == [
        "there is no champion yet"
    ]


def test_the_full_spec_check_answers_before_the_batch_and_the_model(
    project: dict[str, Any], tmp_path: Path
) -> None:
    """The parent checks the spec without the estimators; the model process's full check
    (a search space naming no parameter of the estimator) is still reported, and first."""
    document = yaml.safe_load(project["spec"].read_text())
    space = {"no_such_param": {"type": "int", "low": 1, "high": 2}}
    document["models"][0]["search"] = {"space": space}
    document["data"]["source"] = str(project["spec"].parent / document["data"]["source"])
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(document, sort_keys=False))

    result = runner.invoke(
        app, ["drift", str(tmp_path / "missing.csv"), "--spec", str(bad), "--home", str(tmp_path)]
    )

    assert result.exit_code == 2, result.stderr
    assert "no_such_param: unknown parameter for logistic_regression" in result.stderr


def test_a_model_failure_is_reported_before_the_batchs(
    project: dict[str, Any], tmp_path: Path
) -> None:
    broken = batch(project, "broken-too.csv", plan=lambda plan: plan.replace("basic", "gold"))

    code, _, err = invoke(project, str(broken), "--run", "20990101T000000.000000Z-aaaaaa")

    assert code == 1, err
    assert "20990101T000000.000000Z-aaaaaa" in err and "gold" not in err
