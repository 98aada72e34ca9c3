"""The report's "choices" section: how each candidate was tuned, thresholded and calibrated.

Reads only the typed candidate records of run.json (``threshold_policy``, ``search``,
``calibration``, ``resample``, ``members``), so old runs without them render an empty note.
"""

from __future__ import annotations

import json
from typing import Any

from markupsafe import Markup

from churn.registry.record import CandidateRecord, RunManifest
from churn.report.formatting import number
from churn.report.templating import render_template


def choices_section(manifest: RunManifest) -> Markup:
    """One row per candidate: threshold policy, search result, calibration, resampling."""
    entries = (manifest.candidates or {}).items()
    rows = [_row(name, entry) for name, entry in entries]
    searches = [
        {"name": name, "rows": _search_rows(entry.search["table"])}
        for name, entry in entries
        if entry.search and entry.search.get("table")
    ]
    return render_template("choices.html.j2", rows=rows, searches=searches)


def _row(name: str, entry: CandidateRecord) -> dict[str, Any]:
    return {
        "name": name,
        "members": list(entry.members or []),
        "policy": _policy(entry.threshold_policy),
        "search": _search(entry.search),
        "calibration": _calibration(entry.calibration),
        "resample": _resample(entry.resample),
    }


def _policy(policy: dict[str, Any] | None) -> str:
    if policy is None:
        return "—"
    settings = {k: v for k, v in policy.items() if k not in ("strategy", "threshold")}
    said = ", ".join(f"{k} {v}" for k, v in settings.items())
    chosen = number(policy.get("threshold"), 3)
    return f"{policy.get('strategy')}{f' ({said})' if said else ''} -> {chosen}"


def _search(search: dict[str, Any] | None) -> str:
    if search is None:
        return "—"
    return (
        f"{search.get('method')} x {search.get('n_iter')}, "
        f"best CV {number(search.get('best_score'), 4)}: {_params(search.get('best_params'))}"
    )


def _calibration(calibration: dict[str, Any] | None) -> str:
    if calibration is None:
        return "—"
    return (
        f"{calibration.get('method')} (cv {calibration.get('cv')}): Brier "
        f"{number(calibration.get('brier_before'), 4)} -> "
        f"{number(calibration.get('brier_after'), 4)}"
    )


def _resample(resample: dict[str, Any] | None) -> str:
    if resample is None:
        return "—"
    return f"{resample.get('type')} ({resample.get('sampling_strategy')}), training folds only"


def _search_rows(table: list[dict[str, Any]]) -> list[list[object]]:
    return [
        [
            row.get("rank"),
            number(row.get("mean_score"), 4),
            number(row.get("std_score"), 4),
            number(row.get("fit_seconds"), 2),
            _params(row.get("params")),
        ]
        for row in table
    ]


def _params(params: Any) -> str:
    """Parameters as ``name=value`` pairs; floats to 4 significant digits (run.json has all)."""
    if not isinstance(params, dict) or not params:
        return "—"
    shown = {k: f"{v:.4g}" if isinstance(v, float) else json.dumps(v) for k, v in params.items()}
    return ", ".join(f"{k}={v}" for k, v in sorted(shown.items()))
