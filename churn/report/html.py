"""``report.html``: one self-contained page per run (inline CSS, images as data URIs).

The page needs no server, no network and no JavaScript. Sections, in order: ``status``,
``gates``, ``data``, ``metrics``, ``plots``, ``at-risk``, ``reasons``, ``spec``, ``manifest``;
a survival run adds ``survival`` after ``metrics``.
Everything that comes from the data, the spec or the manifest is HTML-escaped.
"""

from __future__ import annotations

import base64
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict, Unpack

import pandas as pd
from markupsafe import Markup

from churn.registry.atomic_io import atomic_write
from churn.registry.record import RunManifest
from churn.report.choices import choices_section
from churn.report.drift_section import training_drift_section
from churn.report.gate_tests import gate_tests_section
from churn.report.plotset import PlotSet
from churn.report.reasons import RunReasons, reason_text, reasons_section
from churn.report.sections import (
    at_risk_section,
    badge_color,
    data_section,
    eda_note,
    gates_section,
    manifest_text,
    metrics_section,
    status_section,
    text_section,
)
from churn.report.templating import render_template

if TYPE_CHECKING:  # drawing the survival section imports matplotlib: only a survival run does
    from churn.report.survival import SurvivalHoldout

SECTION_IDS = (
    "status",
    "gates",
    "gate-tests",
    "data",
    "training-drift",
    "metrics",
    "choices",
    "plots",
    "at-risk",
    "reasons",
    "spec",
    "manifest",
)
"""Ids of the report's sections, in page order (a survival run's adds "survival")."""

CAPTIONS = {
    "eda_class_balance": "Class balance: customers who stayed and who churned.",
    "eda_numeric_distributions": "Numeric columns: distribution among stayers and churners.",
    "eda_categorical_churn_rate": "Churn rate per level of each categorical column, with counts.",
    "eda_correlation": "Correlation of the numeric columns and the target (as 0/1).",
    "eda_missing_values": "Missing values per column, over all rows.",
    "eval_roc": "ROC curves of every candidate on the hold-out.",
    "eval_precision_recall": "Precision-recall curves of every candidate on the hold-out.",
    "eval_confusion_matrix": "Confusion matrix of the winner at its served threshold.",
    "eval_calibration": "Calibration: observed churn rate against predicted probability.",
    "eval_threshold_metrics": "Precision, recall and F1 of the winner against the threshold.",
    "eval_gains_lift": "Cumulative gains and lift of the winner, riskiest customers first.",
    "eval_feature_importance": "Permutation importance of the winner's input columns "
    "(drop in hold-out ROC AUC).",
    "eval_model_comparison": "Selection metric per CV fold for every candidate; hold-out marked.",
    "eval_profit": "Expected profit per customer of the winner against the threshold (costs).",
    "eval_calibration_effect": "Reliability of the winner before and after calibration, "
    "with Brier scores.",
}
WIDE_PIXELS = 900
"""Images at least this wide span the whole page; narrower ones share a row."""


class ReportInputs(TypedDict):
    """What a report is drawn from besides the run record."""

    spec_text: str
    predictions: pd.DataFrame
    eda: PlotSet
    evaluation: PlotSet
    top_at_risk: int
    reasons: NotRequired[RunReasons | None]
    survival: NotRequired[SurvivalHoldout | None]
    """The winner's hold-out curves of a survival run (the section is left out without)."""


def write_report(run_dir: Path, manifest: RunManifest, **inputs: Unpack[ReportInputs]) -> Path:
    """Write ``run_dir/report.html`` (atomically) and return its path."""
    data = render_report(manifest, **inputs).encode("utf-8")
    return atomic_write(run_dir / "report.html", lambda stream: stream.write(data))


def render_report(
    manifest: RunManifest,
    *,
    spec_text: str,
    predictions: pd.DataFrame,
    eda: PlotSet,
    evaluation: PlotSet,
    top_at_risk: int,
    reasons: RunReasons | None = None,
    survival: SurvivalHoldout | None = None,
) -> str:
    """The whole report page as one string, from the run's typed record."""
    rows = manifest.data.rows if manifest.data else None
    sections = [
        status_section(manifest),
        gates_section(manifest),
        gate_tests_section(manifest.gates.tests if manifest.gates else []),
        data_section(
            manifest,
            eda.missing_values,
            sampled=eda.sampled,
            rows_used=eda.rows_used,
            reused_from=eda.reused_from,
        ),
        training_drift_section(manifest),
        metrics_section(manifest),
        _survival_section(manifest, survival),
        choices_section(manifest),
        plots_section(eda, evaluation, rows=rows),
        at_risk_section(predictions, top_at_risk, _reason_texts(reasons)),
        reasons_section(reasons),
        text_section("spec", "Spec", spec_text, "The spec this run was trained from."),
        text_section("manifest", "Manifest", manifest_text(manifest), "run.json of this run."),
    ]
    return str(
        render_template(
            "report.html.j2",
            name=manifest.spec_name or "churn",
            run_id=manifest.run_id,
            status=manifest.status,
            color=badge_color(manifest),
            section_ids=SECTION_IDS if survival is None else _with_survival(SECTION_IDS),
            sections=sections,
        )
    )


def _with_survival(ids: tuple[str, ...]) -> tuple[str, ...]:
    """The section ids with "survival" after "metrics"."""
    at = ids.index("metrics") + 1
    return (*ids[:at], "survival", *ids[at:])


def _reason_texts(reasons: RunReasons | None) -> dict[Any, str] | None:
    if reasons is None or not reasons.by_id:
        return None
    return {key: reason_text(why) for key, why in reasons.by_id.items()}


def plots_section(eda: PlotSet, evaluation: PlotSet, *, rows: Any) -> Markup:
    """The EDA and evaluation images, embedded, with captions; plot errors listed."""
    eda_text = eda_note(
        sampled=eda.sampled, rows_used=eda.rows_used, rows=rows, reused_from=eda.reused_from
    )
    groups = [
        {
            "title": "Data",
            "note": eda_text,
            "sample": None,
            "figures": [figure(path) for path in eda.paths],
        },
        {
            "title": "Evaluation",
            "note": "",
            "sample": evaluation.rows_used if evaluation.sampled else None,
            "figures": [figure(path) for path in evaluation.paths],
        },
    ]
    return render_template("plots.html.j2", groups=groups, errors=[*eda.errors, *evaluation.errors])


def figure(path: Path) -> dict[str, Any]:
    """What one ``<figure>`` shows: the PNG as a base64 data URI, or why it is unreadable."""
    caption = CAPTIONS.get(path.stem, path.stem.replace("_", " "))
    try:
        data = path.read_bytes()
    except OSError as exc:
        return {"name": path.name, "source": None, "error": exc.strerror, "caption": caption}
    width, height = png_size(data)
    return {
        "name": path.name,
        "source": "data:image/png;base64," + base64.b64encode(data).decode("ascii"),
        "caption": caption,
        "width": width,
        "height": height,
        "wide": width >= WIDE_PIXELS,
    }


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG header, (0, 0) when ``data`` is not a PNG."""
    if len(data) < 24 or not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return 0, 0
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _survival_section(manifest: RunManifest, survival: SurvivalHoldout | None) -> Markup:
    """A survival run's section (drawn here, so matplotlib is imported only for one)."""
    if survival is None:
        return Markup("")
    from churn.report.survival import survival_section

    return survival_section(manifest, survival)
