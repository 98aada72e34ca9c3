"""EDA and evaluation plots, the scored customer list and the self-contained HTML run report.

The flow calls, in this order::

    eda = draw_eda(spec, frame, plots_dir)
    evaluation = draw_evaluation(spec, split, results, winner, plots_dir)
    predictions = build_predictions(spec, results[winner], split, frame)
    write_report(run_dir, manifest, spec_text=..., predictions=predictions, eda=eda,
                 evaluation=evaluation, top_at_risk=spec.output.top_at_risk)

Plots are drawn on pyplot-free ``Figure`` objects, so these functions are safe to call from
worker threads and change no global matplotlib state. Importing this package has no effects.
"""

from churn.report.eda import draw_eda
from churn.report.evaluation_plots import draw_evaluation
from churn.report.figures import PlotSet
from churn.report.html import SECTION_IDS, write_report
from churn.report.predictions import PREDICTION_COLUMNS, build_predictions

__all__ = [
    "PREDICTION_COLUMNS",
    "SECTION_IDS",
    "PlotSet",
    "build_predictions",
    "draw_eda",
    "draw_evaluation",
    "write_report",
]
