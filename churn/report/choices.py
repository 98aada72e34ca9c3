"""The report's "choices" section: how each candidate was tuned, thresholded and calibrated.

Reads only the candidate summaries in run.json (``threshold_policy``, ``search``,
``calibration``, ``resample``, ``members``), so old runs without them render an empty note.
"""

from __future__ import annotations

import json
from typing import Any

from markupsafe import Markup

from churn.report.formatting import number
from churn.report.templating import render_template


def choices_section(manifest: dict[str, Any]) -> Markup:
    """One row per candidate: threshold policy, search result, calibration, resampling."""
    candidates = manifest.get("candidates")
    entries = candidates.items() if isinstance(candidates, dict) else []
    rows = [_row(name, entry) for name, entry in entries if isinstance(entry, dict)]
    searches = [
        {"name": name, "rows": _search_rows(entry["search"])}
        for name, entry in entries
        if isinstance(entry, dict)
        and isinstance(entry.get("search"), dict)
        and entry["search"].get("table")
    ]
    return render_template("choices.html.j2", rows=rows, searches=searches)


def _row(name: str, entry: dict[str, Any]) -> dict[str, Any]:
    members = entry.get("members")
    return {
        "name": name,
        "members": [str(member) for member in members] if isinstance(members, list) else [],
        "policy": _policy(entry),
        "search": _search(entry),
        "calibration": _calibration(entry),
        "resample": _resample(entry),
    }


def _policy(entry: dict[str, Any]) -> str:
    policy = entry.get("threshold_policy")
    if not isinstance(policy, dict):
        return "—"
    settings = {k: v for k, v in policy.items() if k not in ("strategy", "threshold")}
    said = ", ".join(f"{k} {v}" for k, v in settings.items())
    chosen = number(policy.get("threshold"), 3)
    return f"{policy.get('strategy')}{f' ({said})' if said else ''} -> {chosen}"


def _search(entry: dict[str, Any]) -> str:
    search = entry.get("search")
    if not isinstance(search, dict):
        return "—"
    return (
        f"{search.get('method')} x {search.get('n_iter')}, "
        f"best CV {number(search.get('best_score'), 4)}: {_params(search.get('best_params'))}"
    )


def _calibration(entry: dict[str, Any]) -> str:
    calibration = entry.get("calibration")
    if not isinstance(calibration, dict):
        return "—"
    return (
        f"{calibration.get('method')} (cv {calibration.get('cv')}): Brier "
        f"{number(calibration.get('brier_before'), 4)} -> "
        f"{number(calibration.get('brier_after'), 4)}"
    )


def _resample(entry: dict[str, Any]) -> str:
    resample = entry.get("resample")
    if not isinstance(resample, dict):
        return "—"
    return f"{resample.get('type')} ({resample.get('sampling_strategy')}), training folds only"


def _search_rows(search: dict[str, Any]) -> list[list[object]]:
    return [
        [
            row.get("rank"),
            number(row.get("mean_score"), 4),
            number(row.get("std_score"), 4),
            number(row.get("fit_seconds"), 2),
            _params(row.get("params")),
        ]
        for row in search["table"]
    ]


def _params(params: Any) -> str:
    """Parameters as ``name=value`` pairs; floats to 4 significant digits (run.json has all)."""
    if not isinstance(params, dict) or not params:
        return "—"
    shown = {k: f"{v:.4g}" if isinstance(v, float) else json.dumps(v) for k, v in params.items()}
    return ", ".join(f"{k}={v}" for k, v in sorted(shown.items()))
