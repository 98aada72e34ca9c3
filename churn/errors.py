"""Exception types. Each kind of failure has its own type and its own CLI exit code."""

from __future__ import annotations

from typing import Any


def one_line(exc: BaseException) -> str:
    """The exception's message on one line (its type name when it has no message)."""
    return " ".join(str(exc).split()) or type(exc).__name__


class ChurnError(Exception):
    """Base of every error churn raises on purpose.

    Every subclass pickles with its fields, so it keeps its type (and exit code) across the
    worker processes that train candidates.
    """

    exit_code = 1


class SpecError(ChurnError):
    """The spec file is invalid. ``problems`` holds one ``FILE:LINE: path: message`` per issue."""

    exit_code = 2

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.problems,)

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        count = len(problems)
        header = f"invalid spec: {count} problem{'s' if count != 1 else ''}"
        super().__init__("\n".join([header, *(f"  {p}" for p in problems)]))


class DataContractError(ChurnError):
    """The data breaks the spec's column contract. ``failures`` holds one line per check."""

    exit_code = 3

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.source, self.failures)

    def __init__(self, source: str, failures: list[str]) -> None:
        self.source = source
        self.failures = failures
        count = len(failures)
        plural = "s" if count != 1 else ""
        header = f"{source}: data contract violated: {count} failed check{plural}"
        super().__init__("\n".join([header, *(f"  {f}" for f in failures)]))


class RegistryError(ChurnError):
    """The run registry is missing something, or is locked by another run."""

    exit_code = 1


class ClusterError(ChurnError):
    """The Dask scheduler a run was pointed at is malformed or cannot be reached.

    Exit code 1, like any failure a retry may fix (a scheduler still starting).
    """

    exit_code = 1


class SourceError(ChurnError):
    """A database source cannot be read or written: the server is unreachable, refuses the
    login, the query or the write, or the connection drops. The message names the host and
    port (never the password). Exit code 5: nothing was recorded or written."""

    exit_code = 5


class DriftAlert(ChurnError):
    """``churn drift``: a column (or the scores) of the batch drifted past its alert level.

    Exit code 6: the result is printed in full before it is raised; nothing was written."""

    exit_code = 6
