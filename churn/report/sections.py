"""The sections of the HTML run report, built from the typed run record (``run.json``).

Each function gathers what its section shows and renders its template
(``templates/<section>.html.j2``). A run that failed early has a status and an error, but maybe
no candidates, gates or decision; every section says so instead of failing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pandas as pd
from markupsafe import Markup

from churn.registry.record import CandidateRecord, GateResultRecord, RunManifest
from churn.report.formatting import number, signed
from churn.report.templating import render_template

GREEN, AMBER, RED = "green", "amber", "red"
UNITS = {"profit": "per customer"}
"""The unit of a metric that has one, shown under its name in the metrics table."""
PROFIT_NOTE = (
    "profit: the expected gain per scored customer, in the currency of the spec's "
    "evaluation.costs. Every customer flagged gets an offer (offer cost); a flagged churner "
    "accepts it with the acceptance rate and stays (retained value): (churners flagged × "
    "(acceptance rate × retained value − offer cost) − stayers flagged × offer cost) ÷ "
    "customers scored."
)


def badge_color(manifest: RunManifest) -> str:
    """green: promoted; red: failed or rejected; amber: anything else (kept, held, running)."""
    action = manifest.decision.action if manifest.decision else None
    if manifest.status == "failed" or manifest.run_failed or action == "reject":
        return RED
    if manifest.status == "succeeded" and action == "promote":
        return GREEN
    return AMBER


def status_section(manifest: RunManifest) -> Markup:
    """Run status and decision with its reason, winner, run id and times."""
    action = manifest.decision.action if manifest.decision else None
    reason = manifest.decision.reason if manifest.decision else None
    champion = f"{manifest.champion_before or '—'} → {manifest.champion_after or '—'}"
    items = [
        ("Run", manifest.run_id),
        ("Decision", action),
        ("Reason", reason),
        ("Winner", manifest.winner or "—"),
        ("Selection metric", manifest.selection_metric),
        ("Champion", champion),
        ("Started", _iso(manifest.started_at)),
        ("Ended", _iso(manifest.ended_at) or "—"),
        ("Duration", _duration(manifest)),
        ("Seed", manifest.seed),
        ("Spec", _with_hash(manifest.spec_name, manifest.spec_sha256)),
    ]
    return render_template(
        "status.html.j2",
        status=manifest.status,
        action=action,
        color=badge_color(manifest),
        items=items,
        error=manifest.error,
    )


def gates_section(manifest: RunManifest) -> Markup:
    """The gate summary and one table row per threshold."""
    gates = manifest.gates
    rows = [
        {
            "kind": result.kind,
            "metric": result.metric,
            "value": number(result.value),
            "threshold": result.threshold_text(),
            "champion": number(result.champion),
            "delta": _delta_text(result),
            "verdict": result.verdict,
            "verdict_class": _verdict_class(result),
            "reason": result.reason,
        }
        for result in (gates.results if gates else [])
    ]
    return render_template("gates.html.j2", gates=gates, rows=rows)


def data_section(
    manifest: RunManifest,
    missing: dict[str, int],
    *,
    sampled: bool,
    rows_used: int,
    reused_from: str | None = None,
) -> Markup:
    """Rows, columns, class balance, missing values, and whether EDA used a sample."""
    data = manifest.data
    balance = None
    if data is not None and data.rows > 0:
        balance = f"{data.positives:,} churned of {data.rows:,} ({data.positives / data.rows:.1%})"
    items = [
        ("Source", data.path if data else None),
        ("Rows", number(data.rows) if data else None),
        ("Columns", number(data.columns) if data else None),
        ("Class balance", balance),
        ("Data sha256", manifest.data_sha256),
    ]
    gaps = [[name, number(count)] for name, count in missing.items() if count]
    note = eda_note(
        sampled=sampled,
        rows_used=rows_used,
        rows=data.rows if data else None,
        reused_from=reused_from,
    )
    return render_template(
        "data.html.j2", items=items, gaps=gaps, counted=bool(missing), eda_note=note
    )


def eda_note(*, sampled: bool, rows_used: int, rows: Any, reused_from: str | None = None) -> Markup:
    """Says whether the EDA plots were drawn from all rows or a sample, or copied."""
    return render_template(
        "eda_note.html.j2",
        sampled=sampled,
        rows_used=rows_used,
        rows=rows,
        reused_from=reused_from,
    )


def metrics_section(manifest: RunManifest) -> Markup:
    """Candidate x metric: CV mean ± std and hold-out; the winner's row highlighted."""
    candidates = manifest.candidates or {}
    selection = manifest.selection_metric
    metrics: list[str] = []
    for entry in candidates.values():
        for values in (entry.cv_mean, entry.holdout):
            for metric in values:
                if metric not in metrics:
                    metrics.append(metric)
    if selection in metrics:
        metrics.remove(selection)
        metrics.insert(0, selection)
    headers = [
        {
            "metric": metric,
            "notes": ([UNITS[metric]] if metric in UNITS else [])
            + (["selection"] if metric == selection else []),
        }
        for metric in metrics
    ]
    rows = [
        {
            "name": name,
            "type": entry.type,
            "winner": name == manifest.winner,
            "threshold": number(entry.threshold, 3),
            "fit_seconds": number(entry.fit_seconds, 1),
            "cells": [_metric_cell(entry, metric) for metric in metrics],
        }
        for name, entry in candidates.items()
    ]
    return render_template(
        "metrics.html.j2",
        headers=headers,
        rows=rows,
        profit_note=PROFIT_NOTE if "profit" in metrics else None,
    )


def _metric_cell(entry: CandidateRecord, metric: str) -> dict[str, str | None]:
    holdout = number(entry.holdout.get(metric), 3)
    mean, std = entry.cv_mean.get(metric), entry.cv_std.get(metric)
    if mean is None:
        return {"holdout": holdout, "cv": None}
    cv = f"CV {number(mean, 3)}" + ("" if std is None else f" ±\u00a0{number(std, 3)}")
    return {"holdout": holdout, "cv": cv}


def at_risk_section(
    predictions: pd.DataFrame, top: int, reasons: Mapping[Any, str] | None = None
) -> Markup:
    """The ``top`` riskiest customers: rank, id, probability, decile, decision (and, given
    ``reasons`` by id, each one's top reasons as text)."""
    shown = (
        predictions.sort_values("rank", kind="stable").head(top)
        if "rank" in predictions
        else predictions.head(top)
    )
    columns = [
        name
        for name in ("rank", "id", "churn_probability", "risk_decile", "will_churn", "set")
        if name in shown
    ]
    rows = [
        [_cell(name, record[name]) for name in columns]
        for record in shown.to_dict(orient="records")
    ]
    headers = [name.replace("_", " ") for name in columns]
    if reasons:
        headers.append("top reasons")
        for row, key in zip(rows, shown["id"].tolist(), strict=True):
            row.append(reasons.get(key, "—"))
    return render_template("at_risk.html.j2", headers=headers, rows=rows, total=len(predictions))


def text_section(section_id: str, title: str, text: str, note: str) -> Markup:
    """Preformatted, escaped text (the spec YAML, the manifest JSON)."""
    return render_template("text.html.j2", id=section_id, title=title, text=text, note=note)


def manifest_text(manifest: RunManifest) -> str:
    """``run.json`` as it would be pretty-printed."""
    return json.dumps(manifest.as_dict(), indent=2, ensure_ascii=False, default=str)


def _cell(column: str, value: Any) -> object:
    if column == "churn_probability":
        return number(value, 3)
    if column == "will_churn":
        return "yes" if bool(value) else "no"
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "—"
    return value


def _delta_text(result: GateResultRecord) -> str:
    delta = signed(result.delta)
    if delta != "—" and result.relative_delta is not None:
        return f"{delta} ({result.relative_delta:+.2%})"
    return delta


def _verdict_class(result: GateResultRecord) -> str:
    return "other" if result.verdict == "skipped" else result.verdict


def _iso(time: datetime | None) -> str | None:
    return time.isoformat() if time is not None else None


def _duration(manifest: RunManifest) -> str | None:
    if manifest.started_at is None or manifest.ended_at is None:
        return None
    return f"{(manifest.ended_at - manifest.started_at).total_seconds():.1f} s"


def _with_hash(name: Any, digest: Any) -> str | None:
    if name is None and digest is None:
        return None
    short = f" (sha256 {str(digest)[:12]}…)" if digest else ""
    return f"{name or '—'}{short}"
