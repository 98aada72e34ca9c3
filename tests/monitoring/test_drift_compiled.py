"""`churn drift` scores its sample with the compiled model its run's profile records."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from factories import subscriptions_frame, subscriptions_spec, train_run, write_project
from typer.testing import CliRunner

from churn.batch_drift import SCORED_ROWS, sample_rows
from churn.cli.app import app
from churn.contract.dataset import load_unlabelled
from churn.errors import DataContractError
from churn.monitoring.champion import run_profile
from churn.monitoring.profile import current_counts
from churn.registry import Registry
from churn.spec.loader import load_spec

pytestmark = pytest.mark.slow  # a whole run (training) in the fixture
runner = CliRunner()
XGB = [{"name": "xgb", "type": "xgboost", "params": {"n_estimators": 40, "max_depth": 3}}]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("compiled")
    spec = write_project(folder, subscriptions_spec(models=XGB), rows=400)
    home = folder / "home"
    run_id = train_run(spec, home).run_id
    batch = folder / "batch.csv"
    subscriptions_frame(500, seed=5).drop(columns=["churned"]).to_csv(batch, index=False)
    return {"folder": folder, "spec": spec, "home": home, "run": run_id, "batch": batch}


def drift(project: dict[str, Any], spec: Path | None = None) -> tuple[int, str, str]:
    args = ["drift", str(project["batch"]), "--run", project["run"], "--json"]
    args += ["--home", str(project["home"]), "--spec", str(spec or project["spec"])]
    result = runner.invoke(app, args)
    return result.exit_code, result.stdout, result.stderr


def test_the_sample_is_scored_as_the_pickled_model_scores_it(project: dict[str, Any]) -> None:
    registry = Registry(project["home"])
    profile = run_profile(registry, project["run"])
    assert profile.scorer is not None
    record = registry.record(project["run"]).model
    assert record is not None
    pipeline = registry.load_model(project["run"], record.sha256, name=record.name)
    batch = load_unlabelled(load_spec(project["spec"]), project["batch"])  # < 20,000 rows
    expected = current_counts(profile.scores, pipeline.predict_proba(batch)[:, 1])

    code, out, err = drift(project)

    assert code in (0, 6), err
    scores = next(c for c in json.loads(out)["columns"] if c["column"] == "(scores)")
    assert scores["current"] == pytest.approx(list(expected.counts / expected.rows), abs=0)


def test_a_changed_model_file_is_refused_though_it_is_not_unpickled(
    project: dict[str, Any], tmp_path: Path
) -> None:
    record = Registry(project["home"]).record(project["run"]).model
    assert record is not None
    model = project["home"] / record.path
    original = model.read_bytes()
    try:
        model.write_bytes(original + b"\0")
        code, _, err = drift(project)
    finally:
        model.write_bytes(original)

    assert code == 1
    assert "does not match its recorded hash" in err


PROBE = """
import json, sys
from pathlib import Path
from churn.model_child import checked_spec
from churn.registry import Registry
spec, home, run = sys.argv[1:]
checked_spec(Path(spec), Registry(Path(home)), run)
print(json.dumps(sorted({"sklearn", "xgboost"} & set(sys.modules))))
"""


def imported_checking(project: dict[str, Any], spec: Path) -> list[str]:
    """The estimator libraries a fresh process imports to check ``spec`` for the run."""
    args = [str(spec), str(project["home"]), project["run"]]
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True
    )
    loaded: list[str] = json.loads(done.stdout)
    return loaded


def test_the_parameter_checks_are_left_out_only_for_the_runs_own_models(
    project: dict[str, Any], tmp_path: Path
) -> None:
    same = tmp_path / "same.yaml"
    document = yaml.safe_load(project["spec"].read_text())
    document["data"]["source"] = str(project["folder"] / document["data"]["source"])
    document["monitoring"] = {"unseen_alert": 0.02}  # other sections may differ
    same.write_text(yaml.safe_dump(document, sort_keys=False))
    assert imported_checking(project, same) == []

    document["models"][0]["params"]["max_depth"] = 4
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump(document, sort_keys=False))
    assert imported_checking(project, other) == ["sklearn", "xgboost"]

    document["models"][0]["params"]["no_such_param"] = 1
    other.write_text(yaml.safe_dump(document, sort_keys=False))
    code, _, err = drift(project, other)
    assert code == 2
    assert "no_such_param" in err


@pytest.mark.parametrize("in_sample", [False, True], ids=["outside-sample", "in-sample"])
def test_a_batch_that_breaks_the_contract_exits_3_with_the_checks_words_and_no_scores(
    project: dict[str, Any], tmp_path: Path, in_sample: bool
) -> None:
    """The sample's columns go to the model process before the whole batch is checked when
    its rows pass alone; a failure in another row still ends the command with every failure
    worded as the check words it, and nothing on stdout."""
    frame = subscriptions_frame(SCORED_ROWS + 500, seed=9).drop(columns=["churned"])
    sampled = set(sample_rows(len(frame)).tolist())
    bad = next(row for row in range(len(frame)) if (row in sampled) == in_sample)
    frame.loc[bad, "plan"] = "platinum"
    batch = tmp_path / "broken.csv"
    frame.to_csv(batch, index=False)
    with pytest.raises(DataContractError) as expected:
        load_unlabelled(load_spec(project["spec"]), batch)

    code, out, err = drift({**project, "batch": batch})

    assert code == 3
    assert out == ""
    assert str(expected.value) in err
    assert f"line {bad + 2}" in err
