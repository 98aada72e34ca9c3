"""Gate tests inside a run (in process, no orchestrator) and against a recorded run:
``churn gate RUN``, ``pytest --churn-run RUN``, ``churn check``, the record, the CLI and the API."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest
from factories import subscriptions_spec, write_project
from typer.testing import CliRunner

from churn.api.views import gate_verdict
from churn.check import check_spec
from churn.cli.app import app
from churn.cli.summary import run_text
from churn.errors import SpecError
from churn.registry import Registry
from churn.run.compose import GATES_NOT_MET, compose_run
from churn.run.gate_tests import gate_recorded_run
from churn.run.pool import InlineExecutor

MODELS = [
    {"name": "logreg", "type": "logistic_regression"},
    {"name": "dummy", "type": "dummy"},
]
PASSING = """
def test_holdout_is_never_training_rows(holdout, train_sample):
    assert set(holdout.X.index).isdisjoint(train_sample.X.index)
    assert len(holdout) == 75 and len(train_sample) == 225

def test_served_threshold_and_metrics(model, metrics, champion):
    assert 0 < model.threshold < 1 and metrics["roc_auc"] > 0.6

def test_probabilities(model, holdout):
    assert model.probability(holdout.X).shape == (len(holdout),)
"""
RAISES = """
def test_raises(model):
    raise RuntimeError("a bug in the test")
"""


def _project(folder: Path, text: str, **tests: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "gates").mkdir(exist_ok=True)
    (folder / "gates" / "test_gates.py").write_text(dedent(text))
    gates = {"value": [{"metric": "roc_auc", "lower": 0.6}], "tests": {"paths": ["gates"], **tests}}
    return write_project(folder, subscriptions_spec(models=MODELS, gates=gates), rows=300)


@pytest.fixture(scope="module")
def passed_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("gated")
    spec = _project(folder, PASSING, every_candidate=True)
    outcome = compose_run(spec, folder / "home", pool=InlineExecutor(), report=False)
    return spec, folder / "home", outcome.manifest.as_dict()


def test_a_run_records_every_candidates_gate_tests_and_promotes(passed_run) -> None:
    _, home, manifest = passed_run
    tests = manifest["gates"]["tests"]

    assert manifest["decision"]["action"] == "promote"
    assert {(t["candidate"], t["outcome"]) for t in tests} == {
        ("logreg", "passed"),
        ("dummy", "passed"),
        ("dummy", "failed"),  # roc_auc 0.5: recorded, never judged (not the winner)
    }
    assert manifest["gates"]["passed"] is True
    assert "gate tests: 3 passed" in manifest["gates"]["reason"]
    record = Registry(home).record(manifest["run_id"])
    assert record.gates is not None and len(record.gates.tests) == 6
    text = run_text(record)
    assert "gate tests (5 passed, 1 failed)" in text
    assert "gates/test_gates.py::test_probabilities" in text
    verdict = gate_verdict(record)
    assert verdict is not None and verdict.tests is not None
    assert (verdict.tests.passed, verdict.tests.failed) == (5, 1)
    assert verdict.tests.not_passed == [
        "dummy: gates/test_gates.py::test_served_threshold_and_metrics"
    ]


def test_a_test_that_raises_is_an_error_and_fails_the_run(tmp_path: Path) -> None:
    spec = _project(tmp_path, PASSING + RAISES)

    outcome = compose_run(spec, tmp_path / "home", pool=InlineExecutor(), report=False)

    assert (outcome.failed, outcome.exit_code) == (True, GATES_NOT_MET)
    manifest = outcome.manifest.as_dict()
    tests = {t["nodeid"].split("::")[1]: t for t in manifest["gates"]["tests"]}
    assert tests["test_raises"]["outcome"] == "error"
    assert tests["test_raises"]["message"] == "RuntimeError: a bug in the test"
    assert (tests["test_raises"]["file"], tests["test_raises"]["line"]) == (
        "gates/test_gates.py",
        13,
    )
    assert manifest["decision"]["action"] == "reject"
    assert manifest["gates"]["passed"] is False
    assert "1 error (gates/test_gates.py::test_raises: RuntimeError" in outcome.reason
    assert not (tmp_path / "home" / "champion.json").exists()
    assert Registry(tmp_path / "home").record(manifest["run_id"]).status == "failed"


def test_a_broken_test_stops_check_and_run_with_exit_2_before_anything_is_written(
    tmp_path: Path,
) -> None:
    spec = _project(tmp_path, "def test_x(model, nope):\n    pass\n")

    with pytest.raises(SpecError, match=r"gates/test_gates.py:1: .*fixture 'nope' not found"):
        check_spec(spec, home=tmp_path / "home")
    with pytest.raises(SpecError) as raised:
        compose_run(spec, tmp_path / "home", pool=InlineExecutor(), report=False)

    assert raised.value.exit_code == 2
    assert not (tmp_path / "home" / "runs").exists() or not any(
        (tmp_path / "home" / "runs").iterdir()
    )


def test_churn_check_counts_the_gate_tests(passed_run) -> None:
    spec, home, _ = passed_run
    assert check_spec(spec, home=home).gate_tests == 3


def test_churn_gate_runs_a_recorded_runs_tests_without_training(passed_run, tmp_path) -> None:
    _, home, manifest = passed_run
    run_id = manifest["run_id"]

    again = gate_recorded_run(Registry(home), run_id)
    assert not again.failed and again.candidate == "logreg"
    recorded = [t for t in manifest["gates"]["tests"] if t["candidate"] == "logreg"]
    assert [o.nodeid for o in again.outcomes] == [t["nodeid"] for t in recorded]

    failing = tmp_path / "test_new.py"
    failing.write_text("def test_strict(metrics):\n    assert metrics['roc_auc'] > 0.99\n")
    result = CliRunner().invoke(app, ["gate", run_id, "--home", str(home), "--tests", str(failing)])
    assert result.exit_code == GATES_NOT_MET, result.output
    assert "test_new.py::test_strict  logreg     failed" in result.output
    assert "test_new.py:2" in result.output and "assert 0.7691" in result.output
    missing = CliRunner().invoke(app, ["gate", run_id, "--home", str(home), "--tests", "nope"])
    assert missing.exit_code == 2 and "--tests nope: no such file or folder" in missing.output


@pytest.fixture
def forget_project_imports(passed_run) -> Iterator[None]:
    """Forget the gate-test modules an in-process pytest imported from the project: a later
    session elsewhere imports its own ``gates/test_gates.py`` under the same module name
    (``test_gates``), and pytest's importlib mode hands back the cached module instead."""
    project = passed_run[0].parent
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        module_file = getattr(sys.modules[name], "__file__", None)
        if module_file and Path(module_file).is_relative_to(project):
            del sys.modules[name]


@pytest.mark.usefixtures("forget_project_imports")
def test_plain_pytest_with_churn_run_gets_the_recorded_fixtures(passed_run, capsys) -> None:
    spec, home, manifest = passed_run
    args = ["-p", "no:cacheprovider", "-p", "no:xdist", "--import-mode=importlib", "-q"]
    args += ["--churn-run", manifest["run_id"], "--churn-home", str(home)]

    code = pytest.main([*args, str(spec.parent / "gates")])  # the pytest11 entry point

    assert code == 0, capsys.readouterr().out
    assert "3 passed" in capsys.readouterr().out
    unknown = pytest.main([*args[:-4], "--churn-run", "nope", "--churn-home", str(home)])
    assert unknown == pytest.ExitCode.USAGE_ERROR
