"""The churn pytest plugin: the gate tests' fixtures, their time limits, and their outcomes.

One :class:`ChurnGatePlugin` object serves one pytest session (one candidate). It provides the
fixtures of :mod:`churn.gates.subjects` (session-scoped: computed once, shared by every test),
arms each test's time limit, collects each test's slice evidence with
:func:`churn.gates.subjects.collecting`, and turns pytest's reports into
:class:`~churn.gates.subjects.GateTestOutcome` records: ``failed`` for a failed expectation
(an ``AssertionError`` or ``pytest.fail``), ``error`` for anything else (an exception in test
code or a fixture, a time limit, a test file that does not import), ``passed`` and ``skipped``.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pytest

from churn.gates.subjects import (
    GateModel,
    GateTestOutcome,
    LabelledRows,
    SliceEvidence,
    TestOutcomeKind,
    collecting,
)
from churn.gates.timeouts import GateTestTimeout, time_limit

if TYPE_CHECKING:
    from churn.spec import Spec

FIXTURES: Final = ("model", "champion", "holdout", "train_sample", "spec", "metrics")
"""The fixtures churn provides to every gate test."""
MAX_OUTCOME_CHARS: Final = 2000


@dataclass(frozen=True)
class GateSubjects:
    """What the fixtures hand to the tests (see :mod:`churn.gates.subjects`)."""

    model: GateModel
    champion: GateModel | None
    holdout: LabelledRows
    train_sample: LabelledRows
    spec: Spec
    metrics: Mapping[str, float | None]


@dataclass(frozen=True)
class GateLimits:
    """Seconds one test, and all tests of the session, may take (None: no limit)."""

    test_s: float | None = None
    total_s: float | None = None


@dataclass
class _Progress:
    """One test's phases as they are reported."""

    outcome: TestOutcomeKind = "passed"
    message: str = ""
    file: str | None = None
    line: int | None = None
    duration_s: float = 0.0
    evidence: list[SliceEvidence] = field(default_factory=list)


class ChurnGatePlugin:
    """Fixtures, limits and outcome collection for one pytest session of gate tests.

    ``subjects`` is None when the tests are only collected (``churn check``): the fixtures
    then refuse to run, and nothing else needs them.
    """

    def __init__(
        self,
        subjects: GateSubjects | None,
        *,
        candidate: str = "",
        limits: GateLimits = GateLimits(),
    ) -> None:
        self.subjects = subjects
        self.candidate = candidate
        self.limits = limits
        self.outcomes: list[GateTestOutcome] = []
        self.collection_problems: list[GateTestOutcome] = []
        self._progress: dict[str, _Progress] = {}
        self._deadline: float | None = None
        self._test_deadline: float | None = None
        self._root: Path | None = None

    def pytest_configure(self, config: pytest.Config) -> None:
        """File names are recorded relative to the session's root (the spec's folder)."""
        self._root = Path(config.rootpath)

    # ----------------------------------------------------------------------- fixtures

    def _subjects(self) -> GateSubjects:
        if self.subjects is None:
            raise RuntimeError("gate tests were only collected: there is no model to test")
        return self.subjects

    @pytest.fixture(scope="session")
    def model(self) -> GateModel:
        """The candidate under test, with its served threshold."""
        return self._subjects().model

    @pytest.fixture(scope="session")
    def champion(self) -> GateModel | None:
        """The current champion, or None on a first run."""
        return self._subjects().champion

    @pytest.fixture(scope="session")
    def holdout(self) -> LabelledRows:
        """The hold-out rows (never a training row)."""
        return self._subjects().holdout

    @pytest.fixture(scope="session")
    def train_sample(self) -> LabelledRows:
        """A seeded sample of the training rows."""
        return self._subjects().train_sample

    @pytest.fixture(scope="session")
    def spec(self) -> Spec:
        """The run's spec."""
        return self._subjects().spec

    @pytest.fixture(scope="session")
    def metrics(self) -> Mapping[str, float | None]:
        """The candidate's hold-out metrics."""
        return self._subjects().metrics

    # ----------------------------------------------------------------------- collection

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Start the clock of the session's total time limit (collection is not counted)."""
        if self.limits.total_s is not None:
            self._deadline = time.monotonic() + self.limits.total_s

    def pytest_exception_interact(self, node: Any, call: pytest.CallInfo[Any], report: Any) -> None:
        """A test file that does not import (or a collector that raised) is an error."""
        if not isinstance(report, pytest.CollectReport) or call.excinfo is None:
            return
        error = call.excinfo.value
        cause = error.__cause__ if isinstance(error, pytest.Collector.CollectError) else None
        origin = cause if cause is not None else error
        path = Path(str(node.path))
        file, line = _error_place(origin, path)
        message = _collect_message(origin, report)
        self.collection_problems.append(
            self._outcome(report.nodeid or str(path), "error", 0.0, message, file, line, [])
        )

    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """A test asking for a fixture nobody provides is an error, found before it runs."""
        from churn.private_apis import unknown_fixtures

        runnable = []
        for item in items:
            missing = unknown_fixtures(item)
            if not missing:
                runnable.append(item)
            else:
                line0 = item.location[1]
                self.collection_problems.append(
                    self._outcome(
                        item.nodeid,
                        "error",
                        0.0,
                        _missing_fixture_text(missing[0]),
                        str(item.path),
                        (line0 or 0) + 1,
                        [],
                    )
                )
        items[:] = runnable  # reported once, as a collection problem

    # ----------------------------------------------------------------------- running

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Any:
        """Past the session's time limit, the remaining tests are errors and do not run."""
        if self._deadline is None or time.monotonic() < self._deadline:
            return None
        text = f"not run: the gate tests' total time limit ({self.limits.total_s:g} s) was reached"
        self.outcomes.append(
            self._outcome(item.nodeid, "error", 0.0, text, str(item.path), _line(item), [])
        )
        return True

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, Any, Any]:
        """Arm the test's time limit (it covers setup, call and teardown) and collect its
        evidence."""
        progress = self._progress.setdefault(item.nodeid, _Progress())
        limit = self.limits.test_s
        self._test_deadline = None if limit is None else time.monotonic() + limit
        return (yield from self._limited(progress))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, Any, Any]:
        """The test body, under its time limit."""
        return (yield from self._limited(self._progress.setdefault(item.nodeid, _Progress())))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> Generator[None, Any, Any]:
        """Teardown, under a time limit of its own (the test's may be spent: it still tears
        down)."""
        limit = self.limits.test_s
        self._test_deadline = None if limit is None else time.monotonic() + limit
        progress = self._progress.setdefault(item.nodeid, _Progress())
        return (yield from self._limited(progress, total=False))

    def _limited(self, progress: _Progress, *, total: bool = True) -> Generator[None, Any, Any]:
        session = self._deadline if total else None
        deadlines = [d for d in (self._test_deadline, session) if d is not None]
        with collecting() as evidence:
            try:
                if not deadlines:
                    return (yield)
                with time_limit(min(deadlines) - time.monotonic()):
                    return (yield)
            finally:
                progress.evidence.extend(evidence)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        """Fold each phase's report into the test's outcome."""
        report = yield
        progress = self._progress.setdefault(item.nodeid, _Progress())
        progress.duration_s += report.duration
        if progress.outcome in ("failed", "error"):
            return report  # the first problem is the one reported
        if report.skipped:
            progress.outcome = "skipped"
            progress.message = _skip_reason(report)
        elif report.failed and call.excinfo is not None:
            progress.outcome, progress.message = self._failure(call, report)
            progress.file, progress.line = _error_place(call.excinfo.value, Path(str(item.path)))
            if progress.line is None:
                progress.file, progress.line = str(item.path), _line(item)
        return report

    def pytest_runtest_logfinish(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        """The test is done: record its outcome."""
        progress = self._progress.pop(nodeid, None)
        if progress is None:
            return
        self.outcomes.append(
            self._outcome(
                nodeid,
                progress.outcome,
                progress.duration_s,
                progress.message,
                progress.file,
                progress.line,
                progress.evidence,
            )
        )

    def _failure(
        self, call: pytest.CallInfo[None], report: pytest.TestReport
    ) -> tuple[TestOutcomeKind, str]:
        assert call.excinfo is not None
        error = call.excinfo.value
        if isinstance(error, GateTestTimeout):
            limit = self.limits.test_s
            which = (
                f"its time limit ({limit:g} s, gates.tests.test_timeout_s)"
                if self._test_deadline is not None
                and (self._deadline is None or self._test_deadline <= self._deadline)
                else f"the gate tests' total time limit ({self.limits.total_s:g} s)"
            )
            return "error", f"timed out: ran past {which} in {report.when}"
        if isinstance(error, pytest.FixtureLookupError):
            return "error", _missing_fixture_text(error.argname or "?")
        if report.when == "call" and isinstance(error, AssertionError | pytest.fail.Exception):
            return "failed", _short(str(error) or "assertion failed")
        where = "" if report.when == "call" else f" in {report.when}"
        return "error", _short(f"{type(error).__name__}{where}: {error}")

    def _outcome(
        self,
        nodeid: str,
        outcome: TestOutcomeKind,
        duration_s: float,
        message: str,
        file: str | None,
        line: int | None,
        evidence: Sequence[SliceEvidence],
    ) -> GateTestOutcome:
        if nodeid.startswith("::"):  # outside the spec's folder: churn's declared-slices module
            nodeid = f"churn/gates/declarative.py{nodeid}"
        if file is not None and self._root is not None and Path(file).is_relative_to(self._root):
            file = Path(file).relative_to(self._root).as_posix()
        return GateTestOutcome(
            nodeid=nodeid,
            candidate=self.candidate,
            outcome=outcome,
            duration_s=round(duration_s, 4),
            message=message,
            file=file,
            line=line,
            evidence=list(evidence),
        )


def _line(item: pytest.Item) -> int | None:
    line0 = item.location[1]
    return None if line0 is None else line0 + 1


def _error_place(error: BaseException, path: Path) -> tuple[str | None, int | None]:
    """The file and line in ``path`` (the test file) where ``error`` was raised, if there."""
    if isinstance(error, SyntaxError) and error.filename:
        return error.filename, error.lineno
    frames = traceback.extract_tb(error.__traceback__)
    for frame in reversed(frames):
        if Path(frame.filename) == path:
            return frame.filename, frame.lineno
    return (str(path), None) if path.suffix == ".py" else (None, None)


def _collect_message(error: BaseException, report: Any) -> str:
    if isinstance(error, SyntaxError):
        return f"SyntaxError: {error.msg}"
    if isinstance(error, pytest.Collector.CollectError):
        return _short(str(report.longrepr).strip().splitlines()[-1])
    return _short(f"does not import: {type(error).__name__}: {error}")


def _missing_fixture_text(name: str) -> str:
    return f"fixture {name!r} not found (churn provides {', '.join(FIXTURES)})"


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return ""


def _short(text: str) -> str:
    return text if len(text) <= MAX_OUTCOME_CHARS else text[: MAX_OUTCOME_CHARS - 3] + "..."
