"""Running gate tests: in-process pytest sessions with the churn plugin.

:func:`gate_test_paths` says which files a spec's gates run (``gates.tests.paths`` resolved
against the spec's folder, and ``churn.gates.declarative`` when the spec declares slices);
:func:`check_gate_tests` collects them without running anything (``churn check`` and a run's
preflight: a test file that does not import, a syntax error or an unknown fixture is a
:class:`~churn.errors.SpecError` naming the file and line, exit 2); :func:`run_gate_tests` runs
them against one candidate and returns every test's outcome.

Each session is isolated from its surroundings: no ini file, no plugins but churn's (installed
pytest plugins are not loaded), no cache directory, ``sys``-level output capture, pytest's
logging, warnings and faulthandler plugins off (they would reconfigure the process that trains)
and its terminal report discarded (churn words the outcomes).
Test modules are imported without touching ``sys.path`` and forgotten when the session ends, so a
test edited between two sessions in one process is read again.
"""

from __future__ import annotations

import importlib.util
import io
import os
import sys
from collections.abc import Sequence
from contextlib import redirect_stdout
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest

from churn.errors import SpecError
from churn.gates.configured import declared_slices
from churn.gates.plugin import ChurnGatePlugin, GateLimits, GateSubjects
from churn.gates.subjects import GateTestOutcome

if TYPE_CHECKING:
    from churn.spec import Spec

DECLARATIVE_MODULE: Final = "churn.gates.declarative"
"""The test module that checks the spec's ``gates.slices`` (collected when there are some)."""

ISOLATION: Final = (
    "-c",
    os.devnull,
    "--disable-plugin-autoload",
    "--import-mode=importlib",
    "--capture=sys",
    "-p",
    "no:cacheprovider",
    "-p",
    "no:logging",
    "-p",
    "no:warnings",
    "-p",
    "no:faulthandler",
    "--quiet",
    "--tb=no",
    "-p",
    "no:stepwise",
)


def declarative_module_path(module: str | None = None) -> Path:
    """The file of the declarative slices' test module.

    Raises:
        SpecError: churn has no such module (the spec declares slices this churn cannot check).
    """
    module = module or DECLARATIVE_MODULE
    found = importlib.util.find_spec(module)
    if found is None or found.origin is None:
        raise SpecError([f"gates.slices: this churn has no {module} to check declared slices"])
    return Path(found.origin)


def gate_test_paths(spec: Spec, override: Sequence[Path] | None = None) -> list[Path]:
    """The files and folders whose tests gate ``spec``'s candidates.

    ``override`` (``churn gate --tests``) replaces ``gates.tests.paths``; the declarative
    slices' module is added when the spec declares slices.

    Raises:
        SpecError: A path does not exist (naming the spec's line, or the path given).
    """
    paths: list[Path] = []
    if override is not None:
        for given in override:
            if not given.exists():
                raise SpecError([f"--tests {given}: no such file or folder"])
            paths.append(given.resolve())
    else:
        for index, relative in enumerate(spec.gates.tests.paths):
            path = (spec.folder / relative).resolve()
            if not path.exists():
                place = spec.place("gates", "tests", "paths", index)
                raise SpecError(
                    [
                        f"{place}: gate test path {relative!r:.80} does not exist ({path}); "
                        "paths are relative to the spec's folder"
                    ]
                )
            paths.append(path)
    if declared_slices(spec):
        paths.append(declarative_module_path())
    return paths


def check_gate_tests(spec: Spec, paths: Sequence[Path]) -> int:
    """Collect the tests at ``paths`` without running one; return how many there are.

    Raises:
        SpecError: A test file does not import (syntax error, import error, an error at import
            time) or a test asks for a fixture nobody provides: one ``FILE:LINE: message``
            line per problem.
    """
    if not paths:
        return 0
    plugin = ChurnGatePlugin(None)
    collected = _Counter()
    _session(spec, paths, [plugin, collected], "--collect-only")
    if plugin.collection_problems:
        raise SpecError(problem_lines(plugin.collection_problems))
    return collected.count


def run_gate_tests(
    spec: Spec,
    paths: Sequence[Path],
    subjects: GateSubjects,
    *,
    candidate: str,
    limits: GateLimits,
) -> list[GateTestOutcome]:
    """Run the tests at ``paths`` against ``subjects``; every test's outcome, collection
    problems first (a file that does not import is one ``error`` outcome)."""
    if not paths:
        return []
    plugin = ChurnGatePlugin(subjects, candidate=candidate, limits=limits)
    _session(spec, paths, [plugin], "--continue-on-collection-errors")
    return [*plugin.collection_problems, *plugin.outcomes]


def problem_lines(outcomes: Sequence[GateTestOutcome]) -> list[str]:
    """``FILE:LINE: gate test NODEID: message`` for each outcome."""
    lines = []
    for outcome in outcomes:
        where = outcome.file or outcome.nodeid
        if outcome.line is not None:
            where += f":{outcome.line}"
        lines.append(f"{where}: gate test {outcome.nodeid}: {outcome.message}")
    return lines


class _Counter:
    """Counts the tests a session collected."""

    def __init__(self) -> None:
        self.count = 0

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Remember how many tests were collected."""
        self.count = len(session.items)


def _root(spec: Spec, paths: Sequence[Path]) -> Path:
    """The spec's folder, or (for tests elsewhere, ``churn gate --tests``) their common folder:
    test ids and file names are relative to it."""
    folder = spec.folder.resolve()
    declarative = declarative_module_path() if declared_slices(spec) else None
    own = [p for p in paths if p != declarative] or [folder]
    if all(p.is_relative_to(folder) for p in own):
        return folder
    return Path(os.path.commonpath([p if p.is_dir() else p.parent for p in own]))


def _session(spec: Spec, paths: Sequence[Path], plugins: list[object], *extra: str) -> int:
    """One isolated in-process pytest session; test modules it imported are forgotten after."""
    before = set(sys.modules)
    args = [*ISOLATION, "--rootdir", str(_root(spec, paths)), *extra, *(str(p) for p in paths)]
    try:
        with redirect_stdout(io.StringIO()):  # pytest's terminal report: churn words its own
            return int(pytest.main(args, plugins=plugins))
    finally:
        roots = [p if p.is_dir() else p.parent for p in paths]
        for name in set(sys.modules) - before:
            module_file = getattr(sys.modules[name], "__file__", None)
            if module_file and any(Path(module_file).is_relative_to(r) for r in roots):
                del sys.modules[name]
