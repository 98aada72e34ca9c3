"""The library stays a library: churn imports neither Prefect nor FastAPI nor the packages above
it (read from the source, lazy imports too), no import cycle, and nothing happens at import
time."""

from __future__ import annotations

from pathlib import Path

import import_graph
import pytest
from fresh_interpreter import GROUP

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.xdist_group(GROUP)
def test_importing_every_churn_module_loads_no_orchestrator_or_web_framework(
    fresh_import: dict[str, object],
) -> None:
    assert fresh_import["frameworks_after_importing_churn"] == []
    assert fresh_import["files_created_by_importing"] == []


# --------------------------------------------------------------------------- static layering

LAYERED = ("churn", "flows", "api", "cli")
KNOWN_UPWARD: list[str] = []
KNOWN_CYCLES: list[list[str]] = []


def test_no_package_imports_upward_even_lazily() -> None:
    found = import_graph.imports(ROOT, LAYERED)

    assert len(found) > 100  # the reader sees the tree's imports, not an empty list
    assert [str(item) for item in import_graph.upward_imports(found)] == KNOWN_UPWARD


def test_churn_sub_packages_and_modules_form_no_cycle() -> None:
    tree = import_graph.modules(ROOT, LAYERED)
    graph = import_graph.module_graph(import_graph.imports(ROOT, LAYERED), tree)
    packages = import_graph.package_graph(graph)

    assert {"churn.spec", "churn.training", "churn.registry", "churn.run"} <= set(packages)
    assert "churn.spec" in packages["churn.training"]  # edges are seen
    assert import_graph.cycles(packages) == []
    assert import_graph.cycles(graph) == KNOWN_CYCLES


def plant(root: Path, files: dict[str, str]) -> Path:
    """A synthetic source tree: relative path -> source text."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_a_planted_lazy_upward_import_is_found(tmp_path: Path) -> None:
    root = plant(
        tmp_path,
        {
            "churn/__init__.py": "",
            "churn/report/__init__.py": "from .html import page\n",
            "churn/report/html.py": "def page():\n    from churn.flows.train import train_flow\n",
            "flows/__init__.py": "",
            "flows/train.py": "from churn.report import page\n",
            "api/__init__.py": "",
            "api/app.py": "import typing\nif typing.TYPE_CHECKING:\n    import churn.cli.app\n",
            "api/routes.py": "from . import app\nfrom .app import create\nimport churn.report\n",
            "cli/__init__.py": "",
        },
    )

    every = import_graph.imports(root, LAYERED)
    found = import_graph.upward_imports(every)

    assert {i.target for i in every if i.source == "churn.api.routes"} == {
        "churn.api.app",
        "churn.report",
    }
    assert sorted(map(str, found)) == [
        "churn.api.app:3 imports churn.cli.app",
        "churn.report.html:2 imports churn.flows.train",
    ]


def test_a_planted_import_of_a_folder_by_its_bare_name_is_found(tmp_path: Path) -> None:
    bare = "\n".join(["import flows", "from api.wsgi import create", "from cli import app", ""])
    root = plant(
        tmp_path,
        {
            "churn/__init__.py": "",
            "churn/spec.py": "import apiary\nimport clifford.api\n",
            "api/__init__.py": "",
            "api/app.py": "from churn.api.routes import x\n",
            "cli/__init__.py": "",
            "cli/app.py": bare,  # the top layer may import any layer, but not by a bare name
        },
    )

    found = import_graph.upward_imports(import_graph.imports(root, LAYERED))

    assert sorted(map(str, found)) == [
        "churn.cli.app:1 imports flows",
        "churn.cli.app:2 imports api.wsgi",
        "churn.cli.app:3 imports cli",
    ]


def test_the_folders_are_read_once_under_their_installed_names() -> None:
    tree = import_graph.modules(ROOT, LAYERED)

    assert tree["churn.api.app"] == ROOT / "api" / "app.py"
    assert tree["churn.cli.app"] == ROOT / "cli" / "app.py"
    assert tree["churn.flows.train"] == ROOT / "flows" / "train.py"
    assert not {name for name in tree if name.split(".")[0] in import_graph.BARE}
    assert len(set(tree.values())) == len(tree)  # churn/api, a symlink to api/, is not read again


def test_a_planted_cycle_between_sub_packages_is_found(tmp_path: Path) -> None:
    root = plant(
        tmp_path,
        {
            "churn/__init__.py": "",
            "churn/spec/__init__.py": "",
            "churn/spec/model.py": "def f():\n    from ..training import gates\n",
            "churn/training/__init__.py": "",
            "churn/training/gates.py": "from churn.spec.model import f\nfrom . import types\n",
            "churn/training/types.py": "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from churn.training.gates import f\n",
        },
    )
    tree = import_graph.modules(root, ["churn"])
    graph = import_graph.module_graph(import_graph.imports(root, ["churn"]), tree)

    assert import_graph.cycles(import_graph.package_graph(graph)) == [
        ["churn.spec", "churn.training"]
    ]
    # the type-only import back from types.py to gates.py is no cycle: it never runs
    assert import_graph.cycles(graph) == [["churn.spec.model", "churn.training.gates"]]
