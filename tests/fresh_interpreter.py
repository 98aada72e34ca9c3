"""One fresh Python interpreter that imports churn as a user's process would, for the tests of
what importing does (no orchestrator or web framework loaded, no file created, no pyplot state).

The library is every module under ``churn`` except the layers above it that are installed there
too (``churn.flows``, ``churn.api``, ``churn.cli``: :data:`import_graph.INSTALLED_AS`), which
load Prefect, FastAPI and Typer on purpose.

The probe first takes the local training path (``churn.run.pool``, no scheduler named) before
anything else is imported, then compiles, imports every library module and draws.

Starting one imports the whole ML stack (about 5 s of CPU here), so the observations are made in
one process and each test reads its own: the import-time tests share an xdist group and a
session-scoped fixture (``fresh_import``, in ``tests/conftest.py``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from import_graph import INSTALLED_AS

TESTS = Path(__file__).resolve().parent
GROUP = "fresh-interpreter"
"""The xdist group of every test that reads the probe (one probe per session)."""

PROBE = """
import importlib, json, os, pathlib, pkgutil, sys, tempfile
seen = {}
sys.path.insert(0, sys.argv[1])
from churn.run.pool import open_pool
from churn.run.cluster import named_scheduler
from churn.spec import load_spec
telco = pathlib.Path(sys.argv[1]).parent / "spec" / "telco.yaml"
seen["local_path_scheduler"] = named_scheduler(load_spec(telco), "")
seen["dask_on_the_local_path"] = sorted(
    m for m in sys.modules if m.split(".")[0] in ("dask", "distributed")
)
from factories import subscriptions_frame, subscriptions_spec
import churn.run.steps
from churn.spec import Spec
from churn.training.compile import compile_spec
compile_spec(Spec.model_validate(subscriptions_spec()))
seen["imblearn_without_resampling"] = "imblearn" in sys.modules
import churn.report
seen["pyplot_after_importing_report"] = "matplotlib.pyplot" in sys.modules
import churn
before = set(os.listdir("."))
above = set(json.loads(sys.argv[2]))  # churn.flows, churn.api, churn.cli: the layers above
for top in pkgutil.iter_modules(churn.__path__, "churn."):
    if top.name in above:
        continue
    package = importlib.import_module(top.name)
    for module in pkgutil.walk_packages(getattr(package, "__path__", []), top.name + "."):
        importlib.import_module(module.name)
seen["frameworks_after_importing_churn"] = sorted(
    name for name in ("prefect", "fastapi", "uvicorn", "typer") if name in sys.modules
)
seen["files_created_by_importing"] = sorted(set(os.listdir(".")) - before)
seen["pyplot_after_importing_churn"] = "matplotlib.pyplot" in sys.modules
spec = Spec.model_validate(subscriptions_spec())
out = churn.report.draw_eda(spec, subscriptions_frame(200), pathlib.Path(tempfile.mkdtemp()))
seen["eda_errors"] = [str(error) for error in out.errors]
seen["eda_plots"] = len(out.paths)
seen["pyplot_after_drawing"] = "matplotlib.pyplot" in sys.modules
print(json.dumps(seen))
"""


def observe(cwd: Path) -> dict[str, Any]:
    """Run the probe in a new interpreter with ``cwd`` as its working folder."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(TESTS), json.dumps(sorted(INSTALLED_AS.values()))],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,  # a hang only: 5 s of CPU, which took over 180 s at a load of 20
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seen: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return seen
