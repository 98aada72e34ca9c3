"""Each name means one thing, no dead aliases or re-exports, and the docs point at what exists.

Read from the source with ``ast``; the docstring references are resolved by importing.
"""

from __future__ import annotations

import ast
import importlib
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("churn", "flows", "api", "cli")
DOCS = ("README.md", "ARCHITECTURE.md")

SHARED_ON_PURPOSE = {"log", "T", "router"}
"""Conventional names every module may define (a logger, a type variable, an API router)."""
STDLIB = sys.stdlib_module_names


def modules(root: Path = ROOT) -> list[Path]:
    return sorted(path for package in PACKAGES for path in (root / package).rglob("*.py"))


def top_level_names(tree: ast.Module) -> list[str]:
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    return names


def defined_twice(root: Path = ROOT) -> dict[str, list[str]]:
    """Public top-level names defined in more than one module, with those modules."""
    where: dict[str, list[str]] = defaultdict(list)
    for path in modules(root):
        for name in set(top_level_names(ast.parse(path.read_text(encoding="utf-8")))):
            if not name.startswith("_") and name not in SHARED_ON_PURPOSE:
                where[name].append(str(path.relative_to(root)))
    return {name: sorted(files) for name, files in where.items() if len(files) > 1}


def shadowed_stdlib_names(root: Path = ROOT) -> list[str]:
    """Top-level names that mean something else where the standard library's is imported."""
    imported: set[str] = set()
    defined: dict[str, str] = {}
    for path in modules(root):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in STDLIB:
                imported |= {alias.asname or alias.name for alias in node.names}
        for name in top_level_names(tree):
            defined.setdefault(name, str(path.relative_to(root)))
    return sorted(f"{defined[name]}: {name}" for name in set(defined) & imported)


def dead_aliases_and_reexports(path: Path) -> list[str]:
    """``alias = function_defined_here`` and ``__all__`` entries imported only to be listed."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    found = []
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Name)
            and node.value.id in here
        ):
            found.append(f"{path.name}:{node.lineno} alias of {node.value.id}")
    if path.name == "__init__.py":
        return found
    imported = {
        alias.asname or alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    listed = {
        element.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
        and isinstance(node.value, ast.List | ast.Tuple)
        for element in node.value.elts
        if isinstance(element, ast.Constant)
    }
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    for name in sorted(listed & imported - used):
        found.append(f"{path.name}: __all__ re-exports {name}, unused here")
    return found


WORD = re.compile(r"[A-Za-z_]\w*")


def module_level_definitions(tree: ast.Module) -> list[tuple[str, int]]:
    """Names a module binds at its top level, with their lines; a decorated function or class
    is left out (the decorator registers it: a route, a validator, a command)."""
    found: list[tuple[str, int]] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found += [] if node.decorator_list else [(node.name, node.lineno)]
        elif isinstance(node, ast.Assign):
            found += [(t.id, node.lineno) for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            found.append((node.target.id, node.lineno))
    return found


def never_used(root: Path = ROOT) -> list[str]:
    """Top-level names of the packages that no source, test, benchmark or template mentions
    beyond their definition (dunders and pytest hooks, found by name, aside)."""
    readers = [
        *modules(root),
        *(root / "tests").rglob("*.py"),
        *(root / "benchmarks").rglob("*.py"),
        *(root / "churn").rglob("*.j2"),
        *root.glob("*.py"),
    ]
    words: Counter[str] = Counter()
    for path in readers:
        words.update(WORD.findall(path.read_text(encoding="utf-8")))
    return [
        f"{path.relative_to(root)}:{line} {name}"
        for path in modules(root)
        for name, line in module_level_definitions(ast.parse(path.read_text(encoding="utf-8")))
        if not name.startswith(("__", "pytest_")) and words[name] == 1
    ]


SAME_FIELDS = 7
"""Two classes that declare this many of the same fields (name and type) are one concept."""


def classes_sharing_fields(root: Path = ROOT) -> list[str]:
    """Pairs of classes that declare :data:`SAME_FIELDS` or more identical annotated fields."""
    classes = []
    for path in modules(root):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                fields = {
                    (item.target.id, ast.unparse(item.annotation))
                    for item in node.body
                    if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
                }
                classes.append((f"{path.relative_to(root)}:{node.name}", fields))
    return [
        f"{first} ~ {second}"
        for index, (first, mine) in enumerate(classes)
        for second, theirs in classes[index + 1 :]
        if len(mine & theirs) >= SAME_FIELDS
    ]


def test_no_two_classes_declare_the_same_fields() -> None:
    assert classes_sharing_fields() == []


def test_no_public_name_is_defined_in_two_modules() -> None:
    twice = defined_twice()
    assert "train_candidate" not in twice and "validate" not in twice and "ModelType" not in twice
    assert twice == {}, twice


def test_no_module_name_shadows_a_standard_library_name_used_in_the_tree() -> None:
    assert shadowed_stdlib_names() == []


def test_no_dead_alias_or_reexport() -> None:
    found = [line for path in modules() for line in dead_aliases_and_reexports(path)]
    assert found == []


def test_no_top_level_name_is_left_unused() -> None:
    assert never_used() == []


def test_the_checks_find_planted_problems(tmp_path: Path) -> None:
    (tmp_path / "churn").mkdir()
    (tmp_path / "churn" / "a.py").write_text(
        "from pathlib import Path\nfrom x import SCORERS, used\n__all__ = ['SCORERS', 'used']\n"
        "def compile_spec(): return used\ncompile = compile_spec\n"
    )
    (tmp_path / "churn" / "b.py").write_text(
        "Path = tuple\ndef compile_spec(): ...\n_LEFT_OVER = 10\n@app.get('/')\ndef route(): ...\n"
    )
    fields = "".join(f"    f{i}: int\n" for i in range(SAME_FIELDS))
    (tmp_path / "churn" / "c.py").write_text(f"class A:\n{fields}\nclass B:\n{fields}")

    assert defined_twice(tmp_path) == {"compile_spec": ["churn/a.py", "churn/b.py"]}
    assert shadowed_stdlib_names(tmp_path) == ["churn/b.py: Path"]
    assert classes_sharing_fields(tmp_path) == ["churn/c.py:A ~ churn/c.py:B"]
    assert dead_aliases_and_reexports(tmp_path / "churn" / "a.py") == [
        "a.py:5 alias of compile_spec",
        "a.py: __all__ re-exports SCORERS, unused here",
    ]
    assert never_used(tmp_path) == [
        "churn/a.py:5 compile",
        "churn/b.py:3 _LEFT_OVER",
        "churn/c.py:1 A",
        f"churn/c.py:{SAME_FIELDS + 3} B",
    ]


# --------------------------------------------------------------------------- the docs

PATH_IN_DOCS = re.compile(r"`((?:tests|churn|flows|api|cli|k8s|benchmarks|docker)/[\w./-]+)`")


@pytest.mark.parametrize("doc", DOCS)
def test_every_repository_path_a_doc_names_exists(doc: str) -> None:
    text = (ROOT / doc).read_text(encoding="utf-8")
    named = {m.group(1).rstrip(".") for m in PATH_IN_DOCS.finditer(text)}
    assert len(named) > 5
    assert sorted(p for p in named if "*" not in p and not (ROOT / p).exists()) == []


ANY_PATH_IN_DOCS = re.compile(r"(?<![\w/.$-])((?:tests|benchmarks|k8s|docker|\.ci)/[\w./-]*[\w/])")
"""A path under a top-level folder whose name cannot be mistaken, anywhere (in a command too)."""


@pytest.mark.parametrize("doc", DOCS)
def test_every_path_a_doc_names_in_its_commands_exists(doc: str) -> None:
    text = (ROOT / doc).read_text(encoding="utf-8")
    named = {m.group(1) for m in ANY_PATH_IN_DOCS.finditer(text)}
    assert len(named) > 5
    assert sorted(p for p in named if not (ROOT / p).exists()) == []


@pytest.mark.parametrize("doc", DOCS)
def test_no_doc_points_outside_the_repository(doc: str) -> None:
    text = (ROOT / doc).read_text(encoding="utf-8")
    outside = re.findall(r"[`(](\.\./[^`)\s]+)", text)
    assert [p for p in outside if p != "../data/telco_churn.csv"] == []


REFERENCE = re.compile(r":(?:func|mod|class|meth|data|attr):`~?((?:churn|flows|api|cli)\.[\w.]+)`")


def resolves(dotted: str) -> bool:
    """Whether ``dotted`` names a module, or an attribute reachable from one."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            if not hasattr(target, name):
                return False
            target = getattr(target, name)
        return True
    return False


def test_every_docstring_reference_names_something_that_exists() -> None:
    references = {
        (str(path.relative_to(ROOT)), match.group(1))
        for path in modules()
        for match in REFERENCE.finditer(path.read_text(encoding="utf-8"))
    }
    assert len(references) > 20
    assert sorted(ref for ref in references if not resolves(ref[1])) == []


MODULE_SYMBOL = re.compile(r"`(?:churn\.)?([a-z_]\w*(?:\.[a-z_]\w*)*)\.([A-Za-z_]\w*)(?:\(\))?`")
"""``module.name`` in a doc, by the module's last parts (``evaluation_parts.FIRST_PART``)."""
NAMED_AS_REMOVED = {"report_steps.import_report_package"}
"""Named in ARCHITECTURE.md's history as removed."""


def module_names(root: Path = ROOT) -> dict[str, set[str]]:
    """Each module's dotted tails (``report.html``, ``html``) -> its full names."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in modules(root):
        parts = list(path.relative_to(root).with_suffix("").parts)
        parts = parts if parts[0] == "churn" else ["churn", *parts]
        parts = parts[:-1] if parts[-1] == "__init__" else parts
        for cut in range(1, len(parts)):
            found[".".join(parts[cut:])].add(".".join(parts))
    return found


@pytest.mark.parametrize("doc", DOCS)
def test_every_module_symbol_a_doc_names_exists(doc: str) -> None:
    """A symbol (a name with ``_`` or a capital) after a module's name; a spec key path such as
    ``monitoring.outcome_horizon_days`` is not one."""
    from churn.spec import Spec

    tails = module_names()
    named = {
        (match.group(1), match.group(2))
        for match in MODULE_SYMBOL.finditer((ROOT / doc).read_text(encoding="utf-8"))
        if match.group(1) in tails
        and match.group(1).split(".")[0] not in Spec.model_fields
        and ("_" in match.group(2) or match.group(2)[0].isupper())
    }
    assert len(named) > 2
    missing = {
        f"{module}.{name}"
        for module, name in named
        if not any(resolves(f"{full}.{name}") for full in tails[module])
    }
    assert sorted(missing - NAMED_AS_REMOVED) == []


DECISION_ACTIONS = {"promote", "keep_champion", "hold", "reject", "unchanged"}
"""The actions a run's decision may take (``churn.registry.record.Action``)."""


def string_sets(root: Path = ROOT) -> list[tuple[str, frozenset[str]]]:
    """Every ``Literal[...]``, set or tuple display of two or more strings, with its place."""
    found = []
    for path in modules(root):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            elements: list[ast.expr] = []
            if isinstance(node, ast.Subscript) and getattr(node.value, "id", None) == "Literal":
                elements = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else []
            elif isinstance(node, ast.Set | ast.Tuple | ast.List):
                elements = list(node.elts)
            words = {e.value for e in elements if isinstance(e, ast.Constant)}
            if len(words) > 1 and all(isinstance(word, str) for word in words):
                found.append((f"{path.relative_to(root)}:{node.lineno}", frozenset(words)))
    return found


def test_the_decision_actions_are_spelled_out_once() -> None:
    places = sorted({place for place, words in string_sets() if words >= DECISION_ACTIONS})

    assert len(places) == 1 and places[0].startswith("churn/registry/record.py:"), places
