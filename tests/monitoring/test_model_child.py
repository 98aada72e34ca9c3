"""``churn drift``'s model process: its verdicts in order, and it never outlives its parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from churn.errors import SpecError
from churn.model_child import ModelChild
from churn.orphans import process_running
from churn.spec.loader import load_spec

TELCO = Path(__file__).resolve().parents[2] / "spec" / "telco.yaml"
PARENT = """
import sys, time
from pathlib import Path
from churn.model_child import ModelChild
child = ModelChild(Path(sys.argv[1]), None, Path(sys.argv[2]))
print(child.pid, flush=True)
time.sleep(60)
"""


def test_a_spec_the_child_cannot_read_is_its_first_failure_and_it_is_stopped(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(SpecError) as direct:
        load_spec(missing)
    with ModelChild(tmp_path, None, missing) as child:
        failure = child.spec_failure()
        assert isinstance(failure, SpecError)
        assert str(failure) == str(direct.value)
        assert child.first_failure() is failure  # answered once, remembered
        with pytest.raises(SpecError):
            child.run_id()
    assert child.exitcode is not None


def test_a_child_stopped_while_it_works_ends_with_the_block(tmp_path: Path) -> None:
    with ModelChild(tmp_path, None, TELCO) as child:
        pass
    assert child.exitcode is not None


def test_the_child_ends_when_its_parent_is_killed(tmp_path: Path) -> None:
    stuck = tmp_path / "spec.yaml"
    os.mkfifo(stuck)  # the child blocks reading it: only the parent's death can end it
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(tmp_path), str(stuck)],
        stdout=subprocess.PIPE,
        text=True,
    )
    child = 0
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 10
        while process_running(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not process_running(child)
    finally:
        parent.kill()
        if child and process_running(child):
            os.kill(child, signal.SIGKILL)
