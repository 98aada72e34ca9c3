"""The report's "choices" section: how each candidate was tuned, thresholded and calibrated.

Reads only the typed candidate records of run.json (``threshold_policy``, ``search``,
``calibration``, ``resample``, ``members``), so old runs without them render an empty note,
as does a survival candidate's empty threshold policy.
"""

from __future__ import annotations

import json
from typing import Any

from markupsafe import Markup

from churn.registry.record import (
    CalibrationRecord,
    CandidateRecord,
    ParamValue,
    ResampleRecord,
    RunManifest,
    SearchRecord,
    SearchRowRecord,
    ThresholdPolicyRecord,
)
from churn.report.formatting import number
from churn.report.templating import render_template


def choices_section(manifest: RunManifest) -> Markup:
    """One row per candidate: threshold policy, search result, calibration, resampling."""
    entries = (manifest.candidates or {}).items()
    rows = [_row(name, entry) for name, entry in entries]
    searches = [
        {"name": name, "rows": _search_rows(entry.search.table)}
        for name, entry in entries
        if entry.search and entry.search.table
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


def _policy(policy: ThresholdPolicyRecord | None) -> str:
    if policy is None or policy.strategy is None:  # older records; survival (no threshold)
        return "—"
    said = ", ".join(f"{k} {v}" for k, v in policy.settings.items())
    chosen = number(policy.threshold, 3)
    return f"{policy.strategy}{f' ({said})' if said else ''} -> {chosen}"


def _search(search: SearchRecord | None) -> str:
    if search is None:
        return "—"
    return (
        f"{search.method} x {search.n_iter}, "
        f"best CV {number(search.best_score, 4)}: {_params(search.best_params)}"
    )


def _calibration(calibration: CalibrationRecord | None) -> str:
    if calibration is None:
        return "—"
    return (
        f"{calibration.method} (cv {calibration.cv}): Brier "
        f"{number(calibration.brier_before, 4)} -> {number(calibration.brier_after, 4)}"
    )


def _resample(resample: ResampleRecord | None) -> str:
    if resample is None:
        return "—"
    return f"{resample.type} ({resample.sampling_strategy}), training folds only"


def _search_rows(table: list[SearchRowRecord]) -> list[list[object]]:
    return [
        [
            row.rank,
            number(row.mean_score, 4),
            number(row.std_score, 4),
            number(row.fit_seconds, 2),
            _params(row.params),
        ]
        for row in table
    ]


def _params(params: dict[str, ParamValue]) -> str:
    """Parameters as ``name=value`` pairs; floats to 4 significant digits (run.json has all)."""
    if not params:
        return "—"
    shown = {k: f"{v:.4g}" if isinstance(v, float) else json.dumps(v) for k, v in params.items()}
    return ", ".join(f"{k}={v}" for k, v in sorted(shown.items()))
