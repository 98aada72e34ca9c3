"""Every environment variable churn reads goes through one settings object, and the README's
table lists exactly those variables with their defaults."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("churn", "flows", "api", "cli")
SETTINGS = ROOT / "churn" / "settings.py"
VARIABLE = re.compile(r"^[A-Z][A-Z0-9]*_[A-Z0-9_]+$")


def _constants(tree: ast.Module) -> dict[str, str]:
    """Module-level ``NAME = "TEXT"`` (annotated or not)."""
    found = {}
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        value = getattr(node, "value", None)
        text = value.value if isinstance(value, ast.Constant) else None
        if isinstance(target, ast.Name) and isinstance(text, str):
            found[target.id] = text
    return found


def _key(node: ast.AST, constants: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    return None


def _environ(node: ast.AST) -> bool:
    """``os.environ``, ``environ`` or any name ending in ``environ``."""
    name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
    return str(name).endswith("environ")


def env_reads(path: Path) -> list[str]:
    """``FILE:LINE NAME`` for each read of a named environment variable in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    constants = _constants(tree)
    found = []
    for node in ast.walk(tree):
        key = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            getter = node.func.attr == "get" and _environ(node.func.value)
            if getter or node.func.attr == "getenv":
                key = _key(node.args[0], constants)
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            key = _key(node.slice, constants) if _environ(node.value) else None
        elif isinstance(node, ast.Compare) and any(_environ(c) for c in node.comparators):
            key = _key(node.left, constants)
        if key is not None and VARIABLE.match(key):
            found.append(f"{path.name}:{node.lineno} {key}")
    return found


def sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def test_no_module_but_the_settings_reads_an_environment_variable() -> None:
    reads = [read for path in sources() if path != SETTINGS for read in env_reads(path)]
    assert len(sources()) > 50
    assert reads == []


def test_the_scan_finds_every_shape_of_read(tmp_path: Path) -> None:
    planted = tmp_path / "pool.py"
    planted.write_text(
        'import os\nWORKERS_ENV = "CHURN_WORKERS"\n'
        "a = os.environ.get(WORKERS_ENV)\n"
        'b = os.getenv("PREFECT_HOME", "~")\n'
        'c = os.environ["CHURN_SPEC"]\n'
        'd = "CHURN_HOME" in os.environ\n'
        'def f(environ=os.environ):\n    return environ.get("CHURN_DASK_SCHEDULER", "")\n'
        "e = {n: os.environ.get(n) for n in ('OMP_NUM_THREADS',)}\n"  # a saved value, no setting
        'os.environ["CHURN_HOME"] = "x"\n'  # a write
    )
    names = [read.split()[-1] for read in env_reads(planted)]
    assert names == [
        "CHURN_WORKERS",
        "PREFECT_HOME",
        "CHURN_SPEC",
        "CHURN_HOME",
        "CHURN_DASK_SCHEDULER",
    ]


def test_only_churns_settings_derive_from_base_settings() -> None:
    derived = []
    for path in sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = {getattr(b, "id", getattr(b, "attr", "")) for b in node.bases}
                if "BaseSettings" in bases:
                    derived.append(f"{path.relative_to(ROOT)}:{node.name}")
    assert derived == ["churn/settings.py:ChurnSettings"]


def readme_table() -> dict[str, str]:
    """``{variable: default cell}`` from the README's "Environment variables" table."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Environment variables", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            for name in re.findall(r"`([A-Z_]+)`", cells[0]):
                rows[name] = cells[1]
    return rows


def test_the_readme_lists_every_variable_with_its_default() -> None:
    from churn.api.settings import Settings
    from churn.settings import environment_names

    table = readme_table()
    expected = {}
    for field, info in Settings.model_fields.items():
        shown = "unset" if info.default in (None, "") else f"`{info.default}`"
        expected |= dict.fromkeys(environment_names(Settings, field), shown)
    assert table == expected


@pytest.mark.parametrize("name", ["CHURN_PREFECT_START_TIMEOUT", "CHURN_API_WORKERS", "CHURN_HOME"])
def test_a_variable_churn_documents_is_one_it_reads(name: str, monkeypatch) -> None:
    from churn.api.settings import Settings
    from churn.settings import SettingsError, load_settings

    monkeypatch.setenv(name, "-5" if name != "CHURN_HOME" else "elsewhere")
    if name == "CHURN_HOME":
        assert load_settings(Settings).home == Path("elsewhere")
        return
    with pytest.raises(SettingsError, match=f"{name}='-5'"):
        load_settings(Settings)


def test_the_default_spec_path_is_written_once() -> None:
    """``churn.defaults.DEFAULT_SPEC`` is the one place the path is spelled; the options' help
    texts show it from there, as ``(default: ...)`` (rich takes ``[...]`` for markup)."""
    from typer.testing import CliRunner

    from churn.cli.app import app
    from churn.defaults import DEFAULT_SPEC

    spelled = [
        f"{path.relative_to(ROOT)}"
        for path in sources()
        for line in path.read_text(encoding="utf-8").splitlines()
        if str(DEFAULT_SPEC) in line
    ]
    assert spelled == ["churn/defaults.py"]
    for command in ("score", "synth", "drift", "outcomes"):
        shown = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"}).output
        assert f"(default: {DEFAULT_SPEC})" in shown, command
