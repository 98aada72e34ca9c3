"""The sections of the HTML run report, built from the typed run record (``run.json``).

A run that failed early has a status and an error, but maybe no candidates, gates or decision;
every section says so instead of failing.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from churn.registry.record import CandidateRecord, GateResultRecord, RunManifest
from churn.report.markup import (
    Html,
    definition_list,
    esc,
    join,
    number,
    signed,
    table,
    tag,
)

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


def section(section_id: str, title: str, *body: object) -> Html:
    """``<section id=...><h2>title</h2>body</section>``."""
    return tag("section", tag("h2", title), *body, id=section_id)


def badge_color(manifest: RunManifest) -> str:
    """green: promoted; red: failed or rejected; amber: anything else (kept, held, running)."""
    action = manifest.decision.action if manifest.decision else None
    if manifest.status == "failed" or manifest.run_failed or action == "reject":
        return RED
    if manifest.status == "succeeded" and action == "promote":
        return GREEN
    return AMBER


def status_section(manifest: RunManifest) -> Html:
    """Run status and decision with its reason, winner, run id and times."""
    status = manifest.status
    action = manifest.decision.action if manifest.decision else None
    badge = tag(
        "span",
        f"{status}{f' · {action}' if action else ''}",
        class_=f"badge badge-{badge_color(manifest)}",
    )
    reason = manifest.decision.reason if manifest.decision else None
    champion = f"{manifest.champion_before or '—'} → {manifest.champion_after or '—'}"
    times = manifest.as_dict()
    items = {
        "Run": manifest.run_id,
        "Decision": tag("strong", action) if action else None,
        "Reason": reason,
        "Winner": manifest.winner or "—",
        "Selection metric": manifest.selection_metric,
        "Champion": champion,
        "Started": times.get("started_at"),
        "Ended": times.get("ended_at") or "—",
        "Duration": _duration(manifest),
        "Seed": manifest.seed,
        "Spec": _with_hash(manifest.spec_name, manifest.spec_sha256),
    }
    error = manifest.error
    return section(
        "status",
        "Status",
        tag("p", badge, class_="status-line"),
        definition_list(items),
        tag("pre", error, class_="error") if error else "",
    )


def gates_section(manifest: RunManifest) -> Html:
    """The gate summary and one table row per threshold."""
    gates = manifest.gates
    if gates is None:
        return section("gates", "Gates", tag("p", "No gates were evaluated in this run."))
    passed = gates.passed
    prefix = "No thresholds configured; " if gates.empty else ""
    line = tag(
        "p",
        f"{prefix}gates {'passed' if passed else 'failed'}: ",
        gates.reason,
        class_=f"verdict-{'pass' if passed else 'fail'}",
    )
    rows = [
        [
            result.kind,
            result.metric,
            number(result.value),
            result.threshold_text(),
            number(result.champion),
            _delta_text(result),
            tag("span", result.verdict, class_=f"verdict verdict-{_verdict_class(result)}"),
            result.reason,
        ]
        for result in gates.results
    ]
    headers = ["kind", "metric", "value", "threshold", "champion", "delta", "verdict", "reason"]
    body = table(headers, rows) if rows else tag("p", "No thresholds to show.")
    return section("gates", "Gates", line, body)


def data_section(
    manifest: RunManifest, missing: dict[str, int], *, sampled: bool, rows_used: int
) -> Html:
    """Rows, columns, class balance, missing values, and whether EDA used a sample."""
    data = manifest.data
    rows = data.rows if data else None
    balance = None
    if data is not None and data.rows > 0:
        balance = f"{data.positives:,} churned of {data.rows:,} ({data.positives / data.rows:.1%})"
    items = {
        "Source": data.path if data else None,
        "Rows": number(data.rows) if data else None,
        "Columns": number(data.columns) if data else None,
        "Class balance": balance,
        "Data sha256": manifest.data_sha256,
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


def metrics_section(manifest: RunManifest) -> Html:
    """Candidate x metric: CV mean ± std and hold-out; the winner's row highlighted."""
    candidates = manifest.candidates
    if not candidates:
        return section("metrics", "Metrics", tag("p", "No candidate was scored in this run."))
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
    headers: list[object] = ["candidate", "threshold", "fit s"]
    headers += [_metric_header(metric, selection) for metric in metrics]
    winner = manifest.winner
    rows, classes = [], []
    for name, entry in candidates.items():
        title = join(
            [
                name,
                " ",
                tag("span", "winner", class_="tag") if name == winner else "",
                " ",
                tag("small", entry.type, class_="type"),
            ]
        )
        row: list[object] = [title, number(entry.threshold, 3), number(entry.fit_seconds, 1)]
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
        "metrics",
        "Metrics",
        note,
        table(headers, rows, row_classes=classes, class_="metrics"),
        tag("p", PROFIT_NOTE, class_="note") if "profit" in metrics else "",
    )


def _metric_header(metric: str, selection: str | None) -> Html:
    notes = [UNITS[metric]] if metric in UNITS else []
    notes += ["selection"] if metric == selection else []
    return join([metric, *(join([" ", tag("small", note)]) for note in notes)])


def _metric_cell(entry: CandidateRecord, metric: str) -> Html:
    holdout = number(entry.holdout.get(metric), 3)
    mean, std = entry.cv_mean.get(metric), entry.cv_std.get(metric)
    if mean is None:
        return esc(holdout)
    cv = f"CV {number(mean, 3)}" + ("" if std is None else f" ±\u00a0{number(std, 3)}")
    return join([tag("span", holdout, class_="holdout"), " ", tag("small", cv, class_="cv")])


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


def _duration(manifest: RunManifest) -> str | None:
    if manifest.started_at is None or manifest.ended_at is None:
        return None
    return f"{(manifest.ended_at - manifest.started_at).total_seconds():.1f} s"


def _with_hash(name: Any, digest: Any) -> str | None:
    if name is None and digest is None:
        return None
    short = f" (sha256 {str(digest)[:12]}…)" if digest else ""
    return f"{name or '—'}{short}"
