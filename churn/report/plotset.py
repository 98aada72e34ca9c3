"""What a drawing step returns: :class:`PlotSet`, in a module that imports no plotting library.

A worker's ``PlotSet`` is unpickled in ``churn run``'s own process, which draws nothing on the
way to its report: keeping this class apart from :mod:`churn.report.figures` keeps matplotlib
out of that process (about 0.5 CPU s), and the module imports nothing of ``churn.report``, so
unpickling it in one thread while another imports a drawing module cannot deadlock on module
locks (see :mod:`churn.report`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class PlotSet:
    """The PNG files a drawing step wrote, and what went wrong on the way."""

    paths: list[Path]
    errors: list[str]
    """One line per failed plot: ``plot NAME: ErrorType: message``."""
    sampled: bool = False
    """Whether the plots were drawn from a random sample of the rows."""
    rows_used: int = 0
    """How many rows the plots were drawn from."""
    missing_values: dict[str, int] = field(default_factory=dict)
    """Missing values per column over all input rows (EDA only)."""
    reused_from: str | None = None
    """The run whose identical plots were copied instead of drawn (EDA only)."""
