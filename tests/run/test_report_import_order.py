"""The report package is imported before a worker can hand back its objects (a race seen in CI)."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import sys
from concurrent.futures import Future
from types import SimpleNamespace

from churn.run import head_start, report_steps

seen = []


class Processes:
    def describe(self):
        return {"executor": "processes", "workers": 2}

    def submit(self, fn, *args):
        seen.append((fn.__name__, "churn.report" in sys.modules))
        future = Future()
        future.set_result(None)
        return future


record = SimpleNamespace(data_sha256="0" * 64)
registry = SimpleNamespace(record=lambda run_id: record)
ctx = SimpleNamespace(run_id="r", registry=registry, spec=SimpleNamespace(models=[]))
run = SimpleNamespace(ctx=ctx, frame=None, split=lambda: None)
assert "churn.report" not in sys.modules, "the probe needs a process without the report"
head_start.start_training(run, Processes(), eda=True)
print(seen)
"""


@pytest.mark.slow  # a fresh interpreter importing the training stack: ~3.5 s
def test_the_head_start_imports_the_report_before_it_submits_the_eda() -> None:
    """The EDA's ``PlotSet`` comes back through the pool's manager thread, which would import
    ``churn.report`` there while a step thread imports one of its modules: the two module
    locks wait on each other and one import gets a partially initialised module."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[('eda_plots', True)]"
