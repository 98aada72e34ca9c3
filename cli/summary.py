"""Human-readable text for run manifests, run history and the champion (used by the CLI)."""

from __future__ import annotations

from typing import Any


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
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


def run_text(manifest: dict[str, Any]) -> str:
    """Candidates x metrics, the winner, every gate and the decision of one run."""
    lines = [f"run {manifest.get('run_id')}  status {manifest.get('status')}"]
    candidates: dict[str, Any] = manifest.get("candidates") or {}
    if candidates:
        metrics = list(next(iter(candidates.values()))["holdout"])
        selection = manifest.get("selection_metric")
        header = ["candidate", f"cv {selection}", *metrics, "threshold"]
        rows = [
            [
                name + (" *" if name == manifest.get("winner") else ""),
                f"{_fmt(c['cv_mean'].get(selection))} ± {_fmt(c['cv_std'].get(selection))}",
                *(_fmt(c["holdout"].get(metric)) for metric in metrics),
                _fmt(c.get("threshold"), 3),
            ]
            for name, c in candidates.items()
        ]
        lines += ["", "hold-out metrics (* = winner, chosen by CV mean)", *_table(header, rows)]
    gates = manifest.get("gates") or {}
    if gates:
        rows = [
            [
                g["kind"],
                g["metric"],
                _fmt(g.get("value")),
                _threshold_text(g),
                _fmt(g.get("champion")),
                g["verdict"],
            ]
            for g in gates.get("results", [])
        ]
        lines += ["", "gates"]
        if rows:
            lines += _table(["kind", "metric", "value", "threshold", "champion", "verdict"], rows)
        lines.append(f"  {gates.get('reason', '')}")
    decision = manifest.get("decision") or {}
    if decision:
        lines += ["", f"decision: {decision.get('action')}: {decision.get('reason')}"]
    if manifest.get("champion_after") is not None or manifest.get("champion_before") is not None:
        lines.append(
            f"champion: {manifest.get('champion_before') or '(none)'} -> "
            f"{manifest.get('champion_after') or '(none)'}"
        )
    if manifest.get("error"):
        lines.append(f"error: {manifest['error']}")
    return "\n".join(lines)


def _threshold_text(gate: dict[str, Any]) -> str:
    if gate["kind"] == "value":
        lower, upper = gate.get("lower"), gate.get("upper")
        return (
            f"[{_fmt(lower) if lower is not None else '-inf'}, "
            f"{_fmt(upper) if upper is not None else 'inf'}]"
        )
    text = f"d >= {_fmt(gate.get('min_absolute_change'))}"
    if gate.get("min_relative_change") is not None:
        text += f", d/c >= {_fmt(gate['min_relative_change'])}"
    return f"{text} ({gate.get('direction', 'higher')} is better)"


def runs_text(manifests: list[dict[str, Any]]) -> str:
    """One line per run, newest first."""
    if not manifests:
        return "no runs yet"
    rows = [
        [
            m.get("run_id", "?"),
            m.get("status", "?"),
            m.get("winner") or "-",
            _fmt((m.get("metrics") or {}).get(m.get("selection_metric") or "roc_auc")),
            (m.get("decision") or {}).get("action", "-"),
        ]
        for m in manifests
    ]
    return "\n".join(_table(["run", "status", "winner", "metric", "decision"], rows))


def champion_text(champion: dict[str, Any] | None) -> str:
    """The champion pointer."""
    if champion is None:
        return "no champion yet"
    metrics = ", ".join(f"{k} {_fmt(v)}" for k, v in (champion.get("metrics") or {}).items())
    return "\n".join(
        [
            f"champion   {champion['run_id']} ({champion.get('action')})",
            f"promoted   {champion.get('promoted_at')}",
            f"threshold  {_fmt(champion.get('threshold'), 3)}",
            f"model      {champion.get('model_path')} sha256 {champion.get('model_sha256')}",
            f"metrics    {metrics}",
            f"reason     {champion.get('reason')}",
        ]
    )
