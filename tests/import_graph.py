"""The import graph of a source tree, read with ``ast`` (nothing is imported), and its rules.

Every ``import`` and ``from ... import`` anywhere in a module counts: at the top, inside
functions (lazy imports), under ``if TYPE_CHECKING:``. Relative imports are resolved against the
module's package, and ``from package import name`` points at ``package.name`` when that is a
module of the tree. Imports under ``if TYPE_CHECKING:`` are marked ``type_only``: they count
against the layering (a type from above is still a dependency on it) but not for import cycles,
since they never run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

Graph = dict[str, set[str]]

INSTALLED_AS: Mapping[str, str] = {"flows": "churn.flows", "api": "churn.api", "cli": "churn.cli"}
"""Repository folder -> the package it is installed and imported as. ``churn/flows``,
``churn/api`` and ``churn/cli`` are symlinks to the folders, so a wheel adds no top-level
``flows``, ``api`` or ``cli`` to site-packages (where another project's ``api`` would collide)."""

LAYERS = ("churn.flows", "churn.api", "churn.cli", "churn")
"""A module belongs to the first of these it is in; anything else is its own top-level name."""

FORBIDDEN: Mapping[str, frozenset[str]] = {
    "churn": frozenset(INSTALLED_AS.values())
    | {"prefect", "fastapi", "starlette", "uvicorn", "typer"},
    "churn.flows": frozenset({"churn.api", "churn.cli", "fastapi", "starlette", "uvicorn"}),
    "churn.api": frozenset({"churn.flows", "churn.cli", "prefect", "typer"}),
}
"""Layer -> layers and top-level names it may never import (the library at the bottom, the
command line at the top, the flows and the API side by side)."""

BARE = frozenset(INSTALLED_AS)
"""Names no module may import in any layer: an installed churn has no top-level ``flows``,
``api`` or ``cli``, so ``import api`` there finds another project's package or nothing."""


def layer(module: str) -> str:
    """The layer of a dotted module name (:data:`LAYERS`), or its top-level name outside them."""
    for name in LAYERS:
        if module == name or module.startswith(name + "."):
            return name
    return module.split(".")[0]


@dataclass(frozen=True)
class Import:
    """One import statement's target, resolved to a dotted module name."""

    source: str
    target: str
    line: int
    type_only: bool = False

    def __str__(self) -> str:
        return f"{self.source}:{self.line} imports {self.target}"


def modules(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file of the given top-level folders, named
    as installed (:data:`INSTALLED_AS`: ``api/app.py`` is ``churn.api.app``). Symlinked folders
    are not entered (``churn/api`` is ``api/`` again)."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            parts[0] = INSTALLED_AS.get(parts[0], parts[0])
            found[".".join(parts)] = path
    return found


def imports(root: Path, packages: Iterable[str]) -> list[Import]:
    """Every import of every module of ``packages`` under ``root``."""
    tree = modules(root, packages)
    found: list[Import] = []
    for name, path in tree.items():
        is_package = path.name == "__init__.py"
        module = ast.parse(path.read_text(encoding="utf-8"), str(path))
        type_only = {
            id(inner)
            for node in ast.walk(module)
            if isinstance(node, ast.If) and _is_type_checking(node.test)
            for statement in node.body
            for inner in ast.walk(statement)
        }
        for node in ast.walk(module):
            for target in _targets(node, name, is_package, tree):
                found.append(
                    Import(name, target, getattr(node, "lineno", 0), id(node) in type_only)
                )
    return found


def upward_imports(found: Iterable[Import]) -> list[Import]:
    """Imports that break :data:`FORBIDDEN`, and every import of a :data:`BARE` name."""
    return [
        item
        for item in found
        if layer(item.target) in FORBIDDEN.get(layer(item.source), frozenset()) | BARE
    ]


def module_graph(found: Iterable[Import], tree: Iterable[str]) -> Graph:
    """Module -> the modules of the tree it imports when it runs (type-only imports left out)."""
    names = set(tree)
    graph: Graph = {name: set() for name in names}
    for item in found:
        if item.target in names and item.target != item.source and not item.type_only:
            graph[item.source].add(item.target)
    return graph


def package_graph(graph: Mapping[str, set[str]], top: str = "churn") -> Graph:
    """``top``'s sub-packages (and top-level modules) -> those they import, self-edges dropped.

    ``churn.registry.runs`` belongs to ``churn.registry``; ``churn/__init__.py`` to ``churn``.
    """

    def unit(module: str) -> str:
        return ".".join(module.split(".")[:2])

    packages: Graph = {}
    for source, targets in graph.items():
        if source.split(".")[0] != top:
            continue
        edges = packages.setdefault(unit(source), set())
        edges.update(unit(t) for t in targets if t.split(".")[0] == top and unit(t) != unit(source))
    return packages


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:  # recursion depth is bounded by the number of modules
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    """``if TYPE_CHECKING:`` or ``if typing.TYPE_CHECKING:``."""
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _targets(
    node: ast.AST, module: str, is_package: bool, tree: Mapping[str, Path]
) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        base = _absolute(node, module, is_package)
        for alias in node.names:
            submodule = f"{base}.{alias.name}" if base else alias.name
            yield submodule if submodule in tree else base


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    anchor = package[: len(package) - (node.level - 1)]
    return ".".join([*anchor, *([node.module] if node.module else [])])
