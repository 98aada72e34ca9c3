"""EDA and evaluation plots, the scored customer list and the self-contained HTML run report.

The flow calls, in this order::

    eda = draw_eda(spec, frame, plots_dir)
    evaluation = draw_evaluation(spec, split, results, winner, plots_dir)
    predictions = build_predictions(spec, results[winner], split, frame)
    write_report(run_dir, manifest, spec_text=..., predictions=predictions, eda=eda,
                 evaluation=evaluation, top_at_risk=spec.output.top_at_risk)

Plots are drawn on pyplot-free ``Figure`` objects, so these functions are safe to call from
worker threads and change no global matplotlib state. Importing this package has no effects
and imports none of its modules: each name below is imported from its module on first use
(:pep:`562`). ``churn run``'s own process draws nothing, so it never imports matplotlib (the
workers draw, :data:`churn.run.pool.DRAWING_PRELOAD`), and since the package's ``__init__``
imports no module of its own, two threads importing two of its modules (a worker's
:class:`~churn.report.plotset.PlotSet` unpickled in the pool's manager thread while a step
thread imports the report) cannot wait on each other's module locks.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from churn.report.eda import draw_eda
    from churn.report.evaluation_plots import draw_evaluation
    from churn.report.html import SECTION_IDS, write_report
    from churn.report.plotset import PlotSet
    from churn.report.predictions import PREDICTION_COLUMNS, build_predictions

_HOMES = {
    "PREDICTION_COLUMNS": "churn.report.predictions",
    "SECTION_IDS": "churn.report.html",
    "PlotSet": "churn.report.plotset",
    "build_predictions": "churn.report.predictions",
    "draw_eda": "churn.report.eda",
    "draw_evaluation": "churn.report.evaluation_plots",
    "write_report": "churn.report.html",
}
"""Where each of the package's names is defined."""

__all__ = [
    "PREDICTION_COLUMNS",
    "SECTION_IDS",
    "PlotSet",
    "build_predictions",
    "draw_eda",
    "draw_evaluation",
    "write_report",
]


def __getattr__(name: str) -> Any:
    """The package's name ``name``, imported from its module (:data:`_HOMES`) when first
    asked for; submodules themselves are found by the import system as usual."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
