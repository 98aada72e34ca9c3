"""Why the winner flags customers: the at-risk list's top three reasons and the global view.

:func:`explain_run` explains the winner on the hold-out (the global view: each spec column's
mean absolute contribution) and on the riskiest customers of the predictions table (their top
three reasons, shown in the at-risk list). Both use :mod:`churn.explain`'s exact contributions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from markupsafe import Markup

from churn.explain import PipelineExplainer, Reason, global_importance
from churn.report.formatting import number
from churn.report.sampling import stratified_sample
from churn.report.templating import render_template
from churn.spec import Spec
from churn.training.evaluate import CandidateResult, Split

REASONS_PER_CUSTOMER = 3
GLOBAL_VIEW_MAX_ROWS = 2000
"""The global view explains a seeded stratified sample of this many hold-out rows (all of a
smaller hold-out): its cost grows with the rows explained, its means hardly change."""


@dataclass(frozen=True)
class RunReasons:
    """The at-risk customers' reasons (by id) and the columns' mean absolute contribution."""

    by_id: Mapping[object, list[Reason]]
    importance: list[tuple[str, float]]
    scale: str
    rows: int
    skipped: str | None = field(default=None)
    holdout_rows: int = field(default=0)
    """Rows in the hold-out; more than ``rows`` when the global view explained a sample."""


def explain_run(
    spec: Spec,
    result: CandidateResult,
    split: Split,
    predictions: pd.DataFrame,
    top: int,
    frame: pd.DataFrame | None = None,
) -> RunReasons:
    """Reasons for the ``top`` riskiest rows of ``predictions`` and the hold-out's global view.

    Rows are looked up by id in ``frame`` (every validated row) when given, else in the
    hold-out. A model without an exact explanation gives an empty result saying why.
    """
    try:
        explainer = PipelineExplainer(result.pipeline)
    except ValueError as exc:
        return RunReasons({}, [], "", 0, skipped=str(exc))
    sample = stratified_sample(
        np.asarray(split.y_test), GLOBAL_VIEW_MAX_ROWS, seed=spec.evaluation.split.seed
    )
    explained = split.X_test if sample is None else split.X_test.iloc[sample]
    holdout, _ = explainer.explain_frame(explained)
    importance = global_importance(holdout.columns, holdout.contributions)
    if frame is not None:
        features = frame[spec.feature_columns].set_axis(spec.row_ids(frame).to_numpy())
    else:
        features = split.X_test.set_axis(split.ids_test.to_numpy())
    riskiest = predictions.sort_values("rank", kind="stable").head(top)["id"].tolist()
    wanted = [i for i in riskiest if i in features.index]
    by_id: dict[object, list[Reason]] = {}
    if wanted:
        rows = features.loc[wanted]
        explanation, values = explainer.explain_frame(rows)
        picked = explanation.reasons(values, REASONS_PER_CUSTOMER)
        by_id.update(zip(wanted, picked, strict=True))
    return RunReasons(
        by_id, importance, holdout.scale, len(explained), holdout_rows=len(split.X_test)
    )


def reason_text(reasons: list[Reason]) -> str:
    """``Contract = Month-to-month (+0.71); tenure = 1 (+0.66)``."""
    return "; ".join(
        f"{r.column} = {'—' if r.value is None else r.value} ({r.contribution:+.3g})"
        for r in reasons
    )


def reasons_section(reasons: RunReasons | None) -> Markup:
    """The global view: every column's mean absolute contribution on the hold-out."""
    if reasons is None or reasons.skipped:
        why = "not computed" if reasons is None else reasons.skipped
        return render_template(
            "reasons.html.j2", rows=[], skipped=why, scale="", total=0, holdout_rows=0
        )
    largest = reasons.importance[0][1] if reasons.importance else 0.0
    rows = [
        {"column": column, "value": number(value, 4), "width": _share(value, largest)}
        for column, value in reasons.importance
    ]
    scale = reasons.scale.replace("_", "-")
    return render_template(
        "reasons.html.j2",
        rows=rows,
        skipped=None,
        scale=scale,
        total=reasons.rows,
        holdout_rows=max(reasons.holdout_rows, reasons.rows),
    )


def _share(value: float, largest: float) -> int:
    return round(100 * value / largest) if largest > 0 else 0
