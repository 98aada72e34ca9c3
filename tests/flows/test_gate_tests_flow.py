"""A gate test that fails inside a whole Prefect flow run: its own task, exit 4, the flow run
Failed with the reason, no traceback, the champion untouched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from factories import subscriptions_frame, subscriptions_spec
from typer.testing import CliRunner

from churn.cli.app import app

pytestmark = [pytest.mark.flow, pytest.mark.usefixtures("prefect_server")]

GATE_TESTS = """
import threading

def test_holds(model, holdout):
    assert model.probability(holdout.X).min() >= 0

def test_in_the_main_thread():
    assert threading.current_thread() is threading.main_thread()

def test_loops_forever(model):
    while True:
        pass

def test_raises(model):
    raise KeyError("no such column")
"""


def test_a_failing_gate_test_fails_the_flow_run_like_a_failed_threshold(tmp_path: Path) -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import FlowRunSort

    subscriptions_frame(300).to_csv(tmp_path / "subscriptions.csv", index=False)
    (tmp_path / "gates").mkdir()
    (tmp_path / "gates" / "test_model.py").write_text(GATE_TESTS)
    gates = {
        "value": [{"metric": "roc_auc", "lower": 0.6}],
        "tests": {"paths": ["gates"], "test_timeout_s": 1},
    }
    spec = tmp_path / "spec.yaml"
    models = [{"name": "logreg", "type": "logistic_regression"}]
    spec.write_text(yaml.safe_dump(subscriptions_spec(models=models, gates=gates)))

    result = CliRunner().invoke(app, ["run", str(spec), "--home", str(tmp_path / "home"), "--json"])

    assert result.exit_code == 4, result.output
    payload = json.loads(result.stdout)
    outcomes = {t["nodeid"].split("::")[1]: t for t in payload["gates"]["tests"]}
    assert {name: t["outcome"] for name, t in outcomes.items()} == {
        "test_holds": "passed",
        "test_in_the_main_thread": "passed",
        "test_loops_forever": "error",
        "test_raises": "error",
    }
    assert outcomes["test_loops_forever"]["message"].startswith("timed out: ran past its time")
    assert "quality gates not met: gate tests: 2 passed, 2 errors" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "home" / "champion.json").exists()
    with get_client(sync_client=True) as client:
        (flow_run,) = client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=1)
        tasks = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id]))
        )
    assert flow_run.state is not None and flow_run.state.is_failed()
    assert "gate tests: 2 passed, 2 errors" in (flow_run.state.message or "")
    assert any(task.name.startswith("gate-tests") for task in tasks)
