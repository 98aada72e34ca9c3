"""The library stays a library: churn imports neither Prefect nor FastAPI, and nothing happens
at import time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHECK = """
import importlib, os, pkgutil, sys
import churn
before = set(os.listdir("."))
for module in pkgutil.walk_packages(churn.__path__, "churn."):
    importlib.import_module(module.name)
leaked = sorted(name for name in ("prefect", "fastapi", "uvicorn") if name in sys.modules)
created = sorted(set(os.listdir(".")) - before)
print(leaked, created)
"""


def test_importing_every_churn_module_loads_no_orchestrator_or_web_framework(
    tmp_path: Path,
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stdout.strip() == "[] []", result.stdout + result.stderr
