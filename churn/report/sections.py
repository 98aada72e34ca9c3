"""The sections of the HTML run report, built from the run manifest (``run.json``).

Every function tolerates missing keys: a run that failed early has a status and an error,
but maybe no candidates, gates or decision.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pandas as pd

from churn.report.markup import (
    Html,
    definition_list,
    dig,
    esc,
    join,
    number,
    signed,
    table,
    tag,
)

GREEN, AMBER, RED = "green", "amber", "red"


def section(section_id: str, title: str, *body: object) -> Html:
    """``<section id=...><h2>title</h2>body</section>``."""
    return tag("section", tag("h2", title), *body, id=section_id)


def badge_color(manifest: dict[str, Any]) -> str:
    """green: promoted; red: failed or rejected; amber: anything else (kept, held, running)."""
    action = dig(manifest, "decision", "action")
    if manifest.get("status") == "failed" or dig(manifest, "decision", "run_failed"):
        return RED
    if action == "reject":
        return RED
    if manifest.get("status") == "succeeded" and action == "promote":
        return GREEN
    return AMBER


def status_section(manifest: dict[str, Any]) -> Html:
    """Run status and decision with its reason, winner, run id and times."""
    status = manifest.get("status") or "unknown"
    action = dig(manifest, "decision", "action")
    badge = tag(
        "span",
        f"{status}{f' · {action}' if action else ''}",
        class_=f"badge badge-{badge_color(manifest)}",
    )
    reason = dig(manifest, "decision", "reason")
    champion = f"{manifest.get('champion_before') or '—'} → {manifest.get('champion_after') or '—'}"
    items = {
        "Run": manifest.get("run_id"),
        "Decision": tag("strong", action) if action else None,
        "Reason": reason,
        "Winner": manifest.get("winner") or "—",
        "Selection metric": manifest.get("selection_metric"),
        "Champion": champion,
        "Started": manifest.get("started_at"),
        "Ended": manifest.get("ended_at") or "—",
        "Duration": _duration(manifest.get("started_at"), manifest.get("ended_at")),
        "Seed": manifest.get("seed"),
        "Spec": _with_hash(manifest.get("spec_name"), manifest.get("spec_sha256")),
    }
    error = manifest.get("error")
    return section(
        "status",
        "Status",
        tag("p", badge, class_="status-line"),
        definition_list(items),
        tag("pre", error, class_="error") if error else "",
    )


def gates_section(manifest: dict[str, Any]) -> Html:
    """The gate summary and one table row per threshold."""
    gates = manifest.get("gates")
    if not isinstance(gates, dict):
        return section("gates", "Gates", tag("p", "No gates were evaluated in this run."))
    passed = gates.get("passed")
    summary = "passed" if passed else ("failed" if passed is not None else "unknown")
    prefix = "No thresholds configured; " if gates.get("empty") else ""
    line = tag(
        "p",
        f"{prefix}gates {summary}: ",
        gates.get("reason") or "",
        class_=f"verdict-{'pass' if passed else 'fail'}",
    )
    rows = [
        [
            result.get("kind"),
            result.get("metric"),
            number(result.get("value")),
            _threshold_text(result),
            number(result.get("champion")),
            _delta_text(result),
            tag(
                "span",
                result.get("verdict") or "—",
                class_=f"verdict verdict-{_verdict_class(result.get('verdict'))}",
            ),
            result.get("reason") or "",
        ]
        for result in gates.get("results") or []
        if isinstance(result, dict)
    ]
    headers = ["kind", "metric", "value", "threshold", "champion", "delta", "verdict", "reason"]
    body = table(headers, rows) if rows else tag("p", "No thresholds to show.")
    return section("gates", "Gates", line, body)


def data_section(
    manifest: dict[str, Any], missing: dict[str, int], *, sampled: bool, rows_used: int
) -> Html:
    """Rows, columns, class balance, missing values, and whether EDA used a sample."""
    data: dict[str, Any] = manifest.get("data") or {}
    if not isinstance(data, dict):
        data = {}
    rows, positives = data.get("rows"), data.get("positives")
    balance = None
    if isinstance(rows, int) and isinstance(positives, int) and rows > 0:
        balance = f"{positives:,} churned of {rows:,} ({positives / rows:.1%})"
    items = {
        "Source": data.get("path"),
        "Rows": number(rows) if rows is not None else None,
        "Columns": number(data.get("columns")) if data.get("columns") is not None else None,
        "Class balance": balance,
        "Data sha256": data.get("sha256") or manifest.get("data_sha256"),
    }
    gaps = {name: count for name, count in missing.items() if count}
    if gaps:
        missing_html = table(
            ["column", "missing values"], [[name, number(count)] for name, count in gaps.items()]
        )
    elif missing:
        missing_html = tag("p", "No missing values in any column.")
    else:
        missing_html = tag("p", "Missing values were not counted (no EDA in this run).")
    return section(
        "data",
        "Data",
        definition_list(items),
        tag("h3", "Missing values"),
        missing_html,
        eda_note(sampled=sampled, rows_used=rows_used, rows=rows),
    )


def eda_note(*, sampled: bool, rows_used: int, rows: Any) -> Html:
    """Says whether the EDA plots were drawn from all rows or a sample."""
    if sampled:
        total = f" of {rows:,}" if isinstance(rows, int) else ""
        return tag(
            "p",
            f"EDA was sampled: the data plots were drawn from a seeded random "
            f"sample of {rows_used:,}{total} rows (output.eda_max_rows).",
            class_="note",
        )
    if rows_used:
        return tag("p", f"EDA plots use all {rows_used:,} rows.", class_="note")
    return Html("")


def metrics_section(manifest: dict[str, Any]) -> Html:
    """Candidate x metric: CV mean ± std and hold-out; the winner's row highlighted."""
    candidates = manifest.get("candidates")
    if not isinstance(candidates, dict) or not candidates:
        return section("metrics", "Metrics", tag("p", "No candidate was scored in this run."))
    selection = manifest.get("selection_metric")
    metrics: list[str] = []
    for entry in candidates.values():
        for key in ("cv_mean", "holdout"):
            for metric in dig(entry, key) or {}:
                if metric not in metrics:
                    metrics.append(metric)
    if selection in metrics:
        metrics.remove(selection)
        metrics.insert(0, selection)
    headers: list[object] = ["candidate", "threshold", "fit s"]
    headers += [
        join([metric, tag("small", "selection")]) if metric == selection else metric
        for metric in metrics
    ]
    winner = manifest.get("winner")
    rows, classes = [], []
    for name, entry in candidates.items():
        entry = entry if isinstance(entry, dict) else {}
        title = join(
            [
                name,
                tag("span", "winner", class_="tag") if name == winner else "",
                tag("small", entry.get("type") or "", class_="type"),
            ]
        )
        row: list[object] = [
            title,
            number(entry.get("threshold"), 3),
            number(entry.get("fit_seconds"), 1),
        ]
        row += [_metric_cell(entry, metric) for metric in metrics]
        rows.append(row)
        classes.append("winner" if name == winner else None)
    note = tag(
        "p",
        "Each cell: the hold-out value (threshold-dependent metrics at the "
        "candidate's threshold); below it, the mean ± standard deviation over the "
        "cross-validation folds of the training part.",
        class_="note",
    )
    return section(
        "metrics", "Metrics", note, table(headers, rows, row_classes=classes, class_="metrics")
    )


def _metric_cell(entry: dict[str, Any], metric: str) -> Html:
    holdout = number(dig(entry, "holdout", metric), 3)
    mean, std = dig(entry, "cv_mean", metric), dig(entry, "cv_std", metric)
    if mean is None:
        return esc(holdout)
    cv = f"CV {number(mean, 3)}" + ("" if std is None else f" ± {number(std, 3)}")
    return join([tag("span", holdout, class_="holdout"), tag("small", cv, class_="cv")])


def at_risk_section(predictions: pd.DataFrame, top: int) -> Html:
    """The ``top`` riskiest customers: rank, id, probability, decile, decision."""
    if predictions.empty:
        return section("at-risk", "At-risk customers", tag("p", "No predictions in this run."))
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
    intro = tag(
        "p",
        f"The {len(shown):,} customers most likely to churn, of "
        f"{len(predictions):,} scored (full list: predictions.csv).",
    )
    return section("at-risk", "At-risk customers", intro, table(headers, rows))


def text_section(section_id: str, title: str, text: str, note: str) -> Html:
    """Preformatted, escaped text (the spec YAML, the manifest JSON)."""
    return section(section_id, title, tag("p", note, class_="note"), tag("pre", text))


def manifest_text(manifest: dict[str, Any]) -> str:
    """``run.json`` as it would be pretty-printed."""
    return json.dumps(manifest, indent=2, ensure_ascii=False, default=str)


def _cell(column: str, value: Any) -> object:
    if column == "churn_probability":
        return number(value, 3)
    if column == "will_churn":
        return "yes" if bool(value) else "no"
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "—"
    return value


def _threshold_text(result: dict[str, Any]) -> str:
    lower, upper = result.get("lower"), result.get("upper")
    if result.get("kind") != "change" and (lower is not None or upper is not None):
        if lower is not None and upper is not None:
            return f"{number(lower)} ≤ value ≤ {number(upper)}"
        return f"≥ {number(lower)}" if lower is not None else f"≤ {number(upper)}"
    parts = []
    if result.get("min_absolute_change") is not None:
        parts.append(f"Δ ≥ {signed(result.get('min_absolute_change'))}")
    if result.get("min_relative_change") is not None:
        parts.append(f"Δ/champion ≥ {signed(result.get('min_relative_change'))}")
    direction = result.get("direction")
    text = "; ".join(parts) or "—"
    return f"{text} ({direction} is better)" if direction else text


def _delta_text(result: dict[str, Any]) -> str:
    delta = signed(result.get("delta"))
    relative = result.get("relative_delta")
    if delta != "—" and isinstance(relative, int | float):
        return f"{delta} ({relative:+.2%})"
    return delta


def _verdict_class(verdict: Any) -> str:
    text = str(verdict or "").lower()
    if text.startswith("pass"):
        return "pass"
    if text.startswith("fail"):
        return "fail"
    return "other"


def _duration(started: Any, ended: Any) -> str | None:
    try:
        seconds = datetime.fromisoformat(str(ended)) - datetime.fromisoformat(str(started))
    except (TypeError, ValueError):
        return None
    return f"{seconds.total_seconds():.1f} s"


def _with_hash(name: Any, digest: Any) -> str | None:
    if name is None and digest is None:
        return None
    short = f" (sha256 {str(digest)[:12]}…)" if digest else ""
    return f"{name or '—'}{short}"
