"""The churn pytest plugin in isolated in-process sessions: fixtures, outcomes, time limits,
collection problems (no training: the fixtures hold small stand-ins)."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from textwrap import dedent
from typing import Any

import numpy as np
import pandas as pd
import pytest
from factories import subscriptions_spec, write_project

from churn.errors import SpecError
from churn.gates.plugin import GateLimits, GateSubjects
from churn.gates.session import (
    check_gate_tests,
    declarative_module_path,
    gate_test_paths,
    run_gate_tests,
)
from churn.gates.subjects import GateModel, LabelledRows
from churn.spec.loader import load_spec

ROWS = LabelledRows(X=pd.DataFrame({"a": [1, 2, 3]}), y=np.array([0, 1, 0]))
NO_LIMITS = GateLimits()


def _spec(tmp_path: Path, tests: Any = None, **gates: Any) -> Any:
    block: dict[str, Any] = {"value": [{"metric": "roc_auc", "lower": 0.6}], **gates}
    if tests is not None:
        block["tests"] = tests
    return load_spec(write_project(tmp_path, subscriptions_spec(gates=block), rows=200))


def _subjects(spec: Any) -> GateSubjects:
    model = GateModel(name="cand", pipeline=None, threshold=0.4)  # type: ignore[arg-type]
    return GateSubjects(model, None, ROWS, ROWS, spec, {"roc_auc": 0.8})


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(dedent(text))
    return path


def _run(tmp_path: Path, text: str, limits: GateLimits = NO_LIMITS) -> dict[str, Any]:
    spec = _spec(tmp_path, ["gates"])
    _write(tmp_path / "gates", "test_things.py", text)
    paths = gate_test_paths(spec)
    outcomes = run_gate_tests(spec, paths, _subjects(spec), candidate="cand", limits=limits)
    return {o.nodeid.split("::")[-1]: o for o in outcomes}


def test_each_outcome_is_recorded_with_its_message_file_and_line(tmp_path: Path) -> None:
    found = _run(
        tmp_path,
        """
        import pytest
        from churn.gates.subjects import SliceEvidence, record_evidence

        def test_fixtures(model, champion, holdout, train_sample, spec, metrics):
            assert (model.threshold, champion, len(holdout)) == (0.4, None, 3)
            assert spec.name == "subscriptions" and len(train_sample) == 3
            found = SliceEvidence(column="plan", segment="b", metric="recall", rows=3, value=0.5)
            record_evidence(found)

        def test_expectation(metrics):
            assert metrics["roc_auc"] > 0.9, "roc_auc too low"

        def test_with_pytest_fail():
            pytest.fail("declared failure")

        def test_raises(model):
            raise ValueError("bug in test code")

        def test_skipped():
            pytest.skip("not today")
        """,
    )

    assert {name: o.outcome for name, o in found.items()} == {
        "test_fixtures": "passed",
        "test_expectation": "failed",
        "test_with_pytest_fail": "failed",
        "test_raises": "error",
        "test_skipped": "skipped",
    }
    failed = found["test_expectation"]
    assert failed.message.startswith("roc_auc too low\nassert 0.8 > 0.9")
    assert (failed.file, failed.line, failed.candidate) == ("gates/test_things.py", 12, "cand")
    assert found["test_raises"].message == "ValueError: bug in test code"
    assert found["test_raises"].line == 18
    assert found["test_skipped"].message == "not today"
    assert [e.segment for e in found["test_fixtures"].evidence] == ["b"]
    assert all(o.duration_s >= 0 for o in found.values())


def test_a_hanging_test_stops_at_its_limit_and_the_total_limit_stops_the_rest(
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    found = _run(
        tmp_path,
        """
        import time

        def test_sleeps():
            time.sleep(30)

        def test_loops():
            while True:
                pass

        def test_after():
            pass
        """,
        GateLimits(test_s=0.3, total_s=0.5),
    )

    assert time.monotonic() - started < 25  # the sleep alone is 30 s, the loop forever
    assert found["test_sleeps"].outcome == "error"
    assert found["test_sleeps"].message.startswith("timed out: ran past its time limit (0.3 s")
    assert found["test_loops"].outcome == "error"
    assert "total time limit (0.5 s)" in found["test_loops"].message
    assert found["test_after"].message.startswith("not run: the gate tests' total time limit")


@pytest.mark.skipif(
    sys.gettrace() is not None,
    reason="under a tracer (coverage.py) the asynchronous exception never reaches the loop",
)
def test_a_test_looping_in_a_worker_thread_stops_at_its_limit(tmp_path: Path) -> None:
    found: dict[str, Any] = {}
    text = "def test_loops():\n    while True:\n        pass\n"
    worker = threading.Thread(
        target=lambda: found.update(_run(tmp_path, text, GateLimits(test_s=0.3))),
        daemon=True,  # a loop that is never stopped must not keep the test process alive
    )
    worker.start()
    worker.join(timeout=30)

    assert not worker.is_alive()
    assert found["test_loops"].outcome == "error"
    assert "timed out" in found["test_loops"].message


def test_collection_names_the_file_and_line_of_each_broken_test(tmp_path: Path) -> None:
    spec = _spec(tmp_path, ["gates"])
    _write(tmp_path / "gates", "test_syntax.py", "def test_x(:\n    pass\n")
    _write(tmp_path / "gates", "test_import.py", "\n\nimport no_such_module_anywhere\n")
    _write(tmp_path / "gates", "test_fixture.py", "\ndef test_y(model, modle):\n    pass\n")
    _write(tmp_path / "gates", "test_fine.py", "def test_z(model):\n    pass\n")

    with pytest.raises(SpecError) as raised:
        check_gate_tests(spec, gate_test_paths(spec))

    problems = sorted(raised.value.problems)
    assert len(problems) == 3
    assert problems[0].startswith("gates/test_fixture.py:2: gate test ")
    assert "fixture 'modle' not found" in problems[0]
    assert problems[1].startswith("gates/test_import.py:3: ")
    assert "No module named 'no_such_module_anywhere'" in problems[1]
    assert problems[2].startswith("gates/test_syntax.py:1: ")
    assert "SyntaxError" in problems[2]


def test_at_gate_time_a_broken_file_is_an_error_and_the_others_still_run(
    tmp_path: Path,
) -> None:
    spec = _spec(tmp_path, ["gates"])
    _write(tmp_path / "gates", "test_import.py", "import no_such_module_anywhere\n")
    _write(tmp_path / "gates", "test_fine.py", "def test_z(model, modle):\n    pass\n")
    _write(tmp_path / "gates", "test_good.py", "def test_g(model):\n    pass\n")

    outcomes = run_gate_tests(
        spec, gate_test_paths(spec), _subjects(spec), candidate="c", limits=NO_LIMITS
    )

    assert sorted((o.nodeid, o.outcome) for o in outcomes) == [
        ("gates/test_fine.py::test_z", "error"),
        ("gates/test_good.py::test_g", "passed"),
        ("gates/test_import.py", "error"),
    ]


def test_a_missing_path_names_the_spec_line(tmp_path: Path) -> None:
    spec = _spec(tmp_path, ["gates", "nowhere/"])
    (tmp_path / "gates").mkdir()

    with pytest.raises(SpecError, match=r"spec.yaml:\d+: gates.tests.paths\[1\]: gate test path"):
        gate_test_paths(spec)


def test_a_test_edited_between_two_sessions_is_read_again(tmp_path: Path) -> None:
    assert _run(tmp_path, "def test_a():\n    assert False\n")["test_a"].outcome == "failed"
    assert _run(tmp_path, "def test_a():\n    assert True\n")["test_a"].outcome == "passed"
    assert not [name for name in sys.modules if name.endswith("test_things")]


def test_declared_slices_add_the_declarative_module(tmp_path: Path, monkeypatch) -> None:
    scratch = _write(
        tmp_path / "scratch",
        "declared.py",
        "def test_declared_slices(spec, model):\n    assert spec.gates.slices\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path / "scratch"))
    monkeypatch.setattr("churn.gates.session.DECLARATIVE_MODULE", "declared")
    spec = _spec(tmp_path, [])
    sliced = spec.model_copy(update={"gates": spec.gates.model_copy(update={"slices": ["x"]})})

    paths = gate_test_paths(sliced)
    outcomes = run_gate_tests(sliced, paths, _subjects(sliced), candidate="c", limits=NO_LIMITS)

    assert paths == [scratch.resolve()] == [declarative_module_path()]
    assert [(o.nodeid.split("::")[-1], o.outcome) for o in outcomes] == [
        ("test_declared_slices", "passed")
    ]
    assert gate_test_paths(spec) == []


def test_the_list_shorthand_and_the_block_are_the_same_spec(tmp_path: Path) -> None:
    short = _spec(tmp_path / "a" if (tmp_path / "a").mkdir() is None else tmp_path, ["g"])
    (tmp_path / "b").mkdir()
    block = _spec(tmp_path / "b", {"paths": ["g"], "test_timeout_s": 5})

    assert short.gates.tests.paths == block.gates.tests.paths == ["g"]
    assert (short.gates.tests.test_timeout_s, block.gates.tests.test_timeout_s) == (60.0, 5.0)
