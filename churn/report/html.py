"""``report.html``: one self-contained page per run (inline CSS, images as data URIs).

The page needs no server, no network and no JavaScript. Sections, in order: ``status``,
``gates``, ``data``, ``metrics``, ``plots``, ``at-risk``, ``spec``, ``manifest``.
Everything that comes from the data, the spec or the manifest is HTML-escaped.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypedDict, Unpack

import pandas as pd

from churn.registry.atomic_io import atomic_write
from churn.registry.record import RunManifest, as_manifest
from churn.report.choices import choices_section
from churn.report.figures import PlotSet
from churn.report.markup import Html, join, tag, void
from churn.report.sections import (
    at_risk_section,
    badge_color,
    data_section,
    eda_note,
    gates_section,
    manifest_text,
    metrics_section,
    section,
    status_section,
    text_section,
)

SECTION_IDS = (
    "status",
    "gates",
    "data",
    "metrics",
    "choices",
    "plots",
    "at-risk",
    "spec",
    "manifest",
)
"""Ids of the report's sections, in page order."""

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

STYLE = """
:root{--ink:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#f6f8fa;--accent:#0969da;
--green:#1a7f37;--amber:#9a6700;--red:#cf222e}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,
sans-serif;color:var(--ink);background:#fff}
header{padding:24px 32px 12px;border-bottom:1px solid var(--line);background:var(--bg)}
header h1{margin:0 0 4px;font-size:24px}
header p{margin:0;color:var(--muted)}
nav{margin-top:10px;display:flex;flex-wrap:wrap;gap:6px 16px;font-size:14px}
nav a{color:var(--accent);text-decoration:none}
main{max-width:1280px;margin:0 auto;padding:8px 32px 48px}
section{padding:16px 0;border-bottom:1px solid var(--line)}
h2{font-size:20px;margin:8px 0 12px}
h3{font-size:16px;margin:16px 0 8px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}
dt{color:var(--muted)}
dd{margin:0;overflow-wrap:anywhere}
.badge{display:inline-block;padding:3px 12px;border-radius:999px;color:#fff;font-weight:600;
text-transform:uppercase;letter-spacing:.03em;font-size:13px}
.badge-green{background:var(--green)}.badge-amber{background:var(--amber)}
.badge-red{background:var(--red)}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;font-size:14px;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
th{background:var(--bg);font-weight:600}
table.metrics td:nth-child(n+2),table.metrics th:nth-child(n+2){text-align:right}
table.metrics th{white-space:nowrap}
table.metrics .type{display:block;color:var(--muted);font-weight:400}
tr.winner td{background:#fff8c5}
tr.winner td:first-child{font-weight:600}
table.metrics th small{display:block;font-weight:400;color:var(--muted)}
table.metrics .holdout{display:block;font-weight:600}
table.metrics .cv{display:block;color:var(--muted)}
.tag{margin-left:6px;padding:0 6px;border-radius:4px;background:var(--accent);color:#fff;
font-size:11px;text-transform:uppercase;vertical-align:middle}
.verdict{font-weight:600}.verdict-pass{color:var(--green)}.verdict-fail{color:var(--red)}
.verdict-other{color:var(--muted)}
.note{color:var(--muted)}
.errors{color:var(--red)}
pre{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:12px;
overflow-x:auto;font-size:13px;line-height:1.4}
pre.error{color:var(--red);white-space:pre-wrap}
.figures{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));grid-auto-flow:row dense;
gap:16px}
figure{margin:0;padding:8px;border:1px solid var(--line);border-radius:6px}
figure.wide{grid-column:1/-1}
figure img{display:block;max-width:100%;height:auto;margin:0 auto}
figcaption{color:var(--muted);font-size:13px;margin-top:6px}
@media (max-width:800px){.figures{grid-template-columns:1fr}main{padding:8px 12px}}
"""


class ReportInputs(TypedDict):
    """What a report is drawn from besides the run record."""

    spec_text: str
    predictions: pd.DataFrame
    eda: PlotSet
    evaluation: PlotSet
    top_at_risk: int


def write_report(
    run_dir: Path, manifest: RunManifest | Mapping[str, Any], **inputs: Unpack[ReportInputs]
) -> Path:
    """Write ``run_dir/report.html`` (atomically) and return its path."""
    data = render_report(manifest, **inputs).encode("utf-8")
    return atomic_write(run_dir / "report.html", lambda stream: stream.write(data))


def render_report(
    manifest: RunManifest | Mapping[str, Any],
    *,
    spec_text: str,
    predictions: pd.DataFrame,
    eda: PlotSet,
    evaluation: PlotSet,
    top_at_risk: int,
) -> str:
    """The whole report page as one string (``manifest`` is validated as a run record).

    Raises:
        RegistryError: ``manifest`` is not a run record.
    """
    manifest = as_manifest(manifest)
    rows = manifest.data.rows if manifest.data else None
    sections = [
        status_section(manifest),
        gates_section(manifest),
        data_section(manifest, eda.missing_values, sampled=eda.sampled, rows_used=eda.rows_used),
        metrics_section(manifest),
        choices_section(manifest.as_dict()),
        plots_section(eda, evaluation, rows=rows),
        at_risk_section(predictions, top_at_risk),
        text_section("spec", "Spec", spec_text, "The spec this run was trained from."),
        text_section("manifest", "Manifest", manifest_text(manifest), "run.json of this run."),
    ]
    name = manifest.spec_name or "churn"
    title = f"{name} · run {manifest.run_id}"
    nav = tag(
        "nav",
        join(
            tag("a", section_id.replace("-", " "), href=f"#{section_id}")
            for section_id in SECTION_IDS
        ),
    )
    header = tag(
        "header",
        tag("h1", f"Churn run report: {name}"),
        tag(
            "p",
            f"run {manifest.run_id} · {manifest.status}",
            class_=f"status-{badge_color(manifest)}",
        ),
        nav,
    )
    return (
        "<!DOCTYPE html>\n"
        + tag(
            "html",
            tag(
                "head",
                void("meta", charset="utf-8"),
                void("meta", name="viewport", content="width=device-width, initial-scale=1"),
                tag("title", title),
                tag("style", Html(STYLE)),
            ),
            tag("body", header, tag("main", join(sections))),
            lang="en",
        )
        + "\n"
    )


def plots_section(eda: PlotSet, evaluation: PlotSet, *, rows: Any) -> Html:
    """The EDA and evaluation images, embedded, with captions; plot errors listed."""
    parts: list[object] = []
    for title, plots, note in (
        ("Data", eda, eda_note(sampled=eda.sampled, rows_used=eda.rows_used, rows=rows)),
        ("Evaluation", evaluation, _evaluation_note(evaluation)),
    ):
        parts += [tag("h3", title), note]
        figures = [figure_html(path) for path in plots.paths]
        parts.append(
            tag("div", join(figures), class_="figures")
            if figures
            else tag("p", "No plots.", class_="note")
        )
    errors = [*eda.errors, *evaluation.errors]
    if errors:
        parts += [
            tag("h3", "Plot errors"),
            tag("ul", join(tag("li", error) for error in errors), class_="errors"),
        ]
    return section("plots", "Plots", *parts)


def _evaluation_note(evaluation: PlotSet) -> Html:
    if not evaluation.sampled:
        return Html("")
    return tag(
        "p",
        f"Evaluation plots were drawn from a seeded stratified sample of "
        f"{evaluation.rows_used:,} hold-out rows (output.evaluation_max_rows); the metrics "
        f"use every hold-out row.",
        class_="note",
    )


def figure_html(path: Path) -> Html:
    """One ``<figure>`` with the PNG as a base64 data URI, or a note when it is unreadable."""
    caption = CAPTIONS.get(path.stem, path.stem.replace("_", " "))
    try:
        data = path.read_bytes()
    except OSError as exc:
        return tag("figure", tag("figcaption", f"{path.name}: cannot read ({exc.strerror})"))
    width, height = png_size(data)
    source = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    image = void("img", src=source, alt=caption, width=width or None, height=height or None)
    return tag(
        "figure",
        image,
        tag("figcaption", caption, " ", tag("code", path.name)),
        class_="wide" if width >= WIDE_PIXELS else None,
    )


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG header, (0, 0) when ``data`` is not a PNG."""
    if len(data) < 24 or not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return 0, 0
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)
