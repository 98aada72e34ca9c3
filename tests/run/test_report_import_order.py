"""No import-order race in ``churn run``'s process, and no matplotlib there (seen in CI: a
worker's ``PlotSet`` unpickled in the pool's manager thread while a step thread imported the
report deadlocked on two module locks, and Python handed one import a partial module).

The race needs two modules each importing the other; the package ``churn.report`` imported its
modules, and each module imports its package first. Now the package's ``__init__`` imports none
of its modules and ``PlotSet`` lives in a module that imports nothing of the package, so no
such pair exists. A fresh interpreter checks both (and, in the slow selection, that the modules
``churn run``'s own process uses for its report import no plotting library).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

import churn.report

PROBE = """
import json, sys

def report_modules():
    return sorted(name for name in sys.modules if name.startswith("churn.report."))

import churn.report
after_package = report_modules()
from churn.report import PlotSet
import churn.report.plotset
after_plotset = report_modules()
if "--run" in sys.argv:
    import churn.report.html, churn.report.predictions, churn.run.head_start, churn.run.report_steps
    import churn.report.evaluation_parts, churn.report.reasons
print(json.dumps({
    "package": after_package,
    "plotset": after_plotset,
    "plotset_class": PlotSet.__module__,
    "plotting": sorted(name for name in ("matplotlib", "PIL") if name in sys.modules),
}))
"""


def probe(*args: str) -> dict[str, object]:
    """What a fresh interpreter loaded, importing the package, ``PlotSet`` and (``--run``) the
    modules ``churn run``'s own process uses for its report."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    seen: dict[str, object] = json.loads(result.stdout)
    return seen


def test_the_report_package_imports_none_of_its_modules() -> None:
    seen = probe()
    assert seen["package"] == []
    assert seen["plotset"] == ["churn.report.plotset"]
    assert seen["plotset_class"] == "churn.report.plotset"
    assert seen["plotting"] == []


@pytest.mark.slow  # imports pandas and scikit-learn: ~2 s
def test_the_runs_own_report_modules_import_no_plotting_library() -> None:
    assert probe("--run")["plotting"] == []


def test_every_name_the_package_exports_is_defined_where_it_is_looked_up() -> None:
    """Read, not imported (the drawing modules import matplotlib): each module named for a
    name defines it at its top level."""
    homes = churn.report._HOMES
    assert sorted(homes) == sorted(churn.report.__all__)
    for name, module in homes.items():
        spec = importlib.util.find_spec(module)
        assert spec is not None and spec.origin is not None
        tree = ast.parse(Path(spec.origin).read_text())
        assert name in _top_level_names(tree), f"{module} does not define {name}"
    assert not hasattr(churn.report, "no_such_name")


def _top_level_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(target.id for target in targets if isinstance(target, ast.Name))
    return names
