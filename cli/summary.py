"""Human-readable text for run manifests, run history and the champion (used by the CLI)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from churn.gates.subjects import GateTestOutcome
from churn.registry import RunManifest
from churn.registry.pointer import ChampionPointer


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):  # never "nan"
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * width for width in widths))
    lines += [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    return lines


def run_text(record: RunManifest) -> str:
    """Candidates x metrics, the winner, every gate and the decision of one run."""
    lines = [f"run {record.run_id}  status {record.status}"]
    if record.candidates:
        metrics = list(next(iter(record.candidates.values())).holdout)
        selection = record.selection_metric or ""
        thresholds = record.survival is None  # a survival candidate has none
        header = ["candidate", f"cv {record.selection_metric}", *metrics]
        header += ["threshold"] if thresholds else []
        rows = [
            [
                name + (" *" if name == record.winner else ""),
                f"{_fmt(c.cv_mean.get(selection))} ± {_fmt(c.cv_std.get(selection))}",
                *(_fmt(c.holdout.get(metric)) for metric in metrics),
                *([_fmt(c.threshold, 3)] if thresholds else []),
            ]
            for name, c in record.candidates.items()
        ]
        lines += ["", "hold-out metrics (* = winner, chosen by CV mean)", *_table(header, rows)]
    if record.gates is not None:
        rows = [
            [g.kind, g.metric, _fmt(g.value), g.threshold_text(), _fmt(g.champion), g.verdict]
            for g in record.gates.results
        ]
        lines += ["", "gates"]
        if rows:
            lines += _table(["kind", "metric", "value", "threshold", "champion", "verdict"], rows)
        if record.gates.tests:
            lines += ["", *gate_tests_lines(record.gates.tests)]
        lines.append(f"  {record.gates.reason}")
    if record.decision is not None:
        lines += ["", f"decision: {record.decision.action}: {record.decision.reason}"]
    if record.champion_after is not None or record.champion_before is not None:
        lines.append(
            f"champion: {record.champion_before or '(none)'} -> {record.champion_after or '(none)'}"
        )
    if record.error:
        lines.append(f"error: {record.error}")
    return "\n".join(lines)


def gate_tests_lines(outcomes: Sequence[GateTestOutcome]) -> list[str]:
    """The gate tests as a table: test, candidate, outcome, seconds, where, message."""
    rows = [
        [
            o.nodeid,
            o.candidate,
            o.outcome,
            f"{o.duration_s:.2f}",
            f"{o.file}:{o.line}" if o.file and o.line and o.outcome in ("failed", "error") else "",
            " ".join(o.message.split())[:120],
        ]
        for o in outcomes
    ]
    header = ["test", "candidate", "outcome", "s", "where", "message"]
    counts = ", ".join(
        f"{sum(o.outcome == kind for o in outcomes)} {kind}"
        for kind in ("passed", "failed", "error", "skipped")
        if any(o.outcome == kind for o in outcomes)
    )
    return [f"gate tests ({counts or 'none collected'})", *_table(header, rows)]


def runs_text(records: Sequence[RunManifest]) -> str:
    """One line per run, newest first."""
    if not records:
        return "no runs yet"
    rows = []
    for record in records:
        metric = (record.metrics or {}).get(record.selection_metric or "roc_auc")
        action = record.decision.action if record.decision else "-"
        rows.append([record.run_id, record.status, record.winner or "-", _fmt(metric), action])
    return "\n".join(_table(["run", "status", "winner", "metric", "decision"], rows))


def champion_text(champion: ChampionPointer | None) -> str:
    """The champion pointer."""
    if champion is None:
        return "no champion yet"
    metrics = ", ".join(f"{k} {_fmt(v)}" for k, v in champion.metrics.items())
    return "\n".join(
        [
            f"champion   {champion.run_id} ({champion.action})",
            f"promoted   {champion.promoted_at}",
            f"threshold  {_fmt(champion.threshold, 3)}",
            f"model      {champion.model_path} sha256 {champion.model_sha256}",
            f"metrics    {metrics}",
            f"reason     {champion.reason}",
        ]
    )
