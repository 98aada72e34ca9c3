"""Registry records (run.json, champion.json) -> response models. Tolerant of old records."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Final, get_args

from api.schemas import Champion, GateVerdict, RunDetail, RunStatus, RunSummary
from churn.serving import ServingModel

PLOT_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}(\.[A-Za-z0-9_-]+)*\.png$")
"""What a plot name may look like: no slash, no '..', ends in .png."""
REPORT_FILE: Final = "report.html"
PLOTS_DIR: Final = "plots"


def parse_time(value: Any) -> datetime | None:
    """An ISO time, or None when absent or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def run_status(manifest: Mapping[str, Any]) -> RunStatus:
    """succeeded, failed, running, incomplete (died half-way) or unknown."""
    if manifest.get("incomplete"):
        return "incomplete"
    value = manifest.get("status")
    return value if value in get_args(RunStatus) else "unknown"  # type: ignore[return-value]


def numbers(value: Any) -> dict[str, float | None]:
    """A metrics mapping with numeric values only (others become None)."""
    if not isinstance(value, Mapping):
        return {}
    return {
        str(k): float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None
        for k, v in value.items()
    }


def gate_verdict(manifest: Mapping[str, Any]) -> GateVerdict | None:
    """The run's gate verdict and decision, or None before the run judged its winner."""
    gates, decision = _mapping(manifest.get("gates")), _mapping(manifest.get("decision"))
    if not gates and not decision:
        return None
    return GateVerdict(
        passed=_bool(gates.get("passed")),
        action=_str(decision.get("action")),
        run_failed=_bool(decision.get("run_failed")),
        reason=_str(decision.get("reason")) or _str(gates.get("reason")),
    )


def summary(manifest: Mapping[str, Any], champion_id: str | None) -> RunSummary:
    """A run.json as a RunSummary."""
    return RunSummary(**_summary_fields(manifest, champion_id))


def detail(manifest: Mapping[str, Any], champion_id: str | None, folder: Path) -> RunDetail:
    """A run.json as a RunDetail, with the run folder's report and plots."""
    plots_dir = folder / PLOTS_DIR
    plots = sorted(
        p.name
        for p in (plots_dir.iterdir() if plots_dir.is_dir() else ())
        if PLOT_NAME.fullmatch(p.name) and p.is_file() and not p.is_symlink()  # as get_plot
    )
    return RunDetail(
        **_summary_fields(manifest, champion_id),
        candidates=_mapping(manifest.get("candidates")) or None,
        gate_results=_mapping(manifest.get("gates")) or None,
        champion_scores=_mapping(manifest.get("champion_scores")) or None,
        data=_mapping(manifest.get("data")) or None,
        versions=_mapping(manifest.get("versions")) or None,
        error=_str(manifest.get("error")),
        selection_metric=_str(manifest.get("selection_metric")),
        report=(folder / REPORT_FILE).is_file(),
        plots=plots,
    )


def champion(model: ServingModel) -> Champion:
    """The serving model as a Champion."""
    pointer = model.pointer
    threshold = pointer.get("threshold")
    return Champion(
        run_id=model.run_id,
        model=model.candidate,
        model_type=model.model_type,
        model_sha256=_str(pointer.get("model_sha256")),
        metrics=numbers(pointer.get("metrics")),
        threshold=float(threshold) if isinstance(threshold, int | float) else model.threshold,
        promoted_at=parse_time(pointer.get("promoted_at")),
        action=_str(pointer.get("action")),
        reason=_str(pointer.get("reason")),
        previous=_str(pointer.get("previous")),
        loaded_at=model.loaded_at,
        fast_path=model.scorer.fast,
    )


def _summary_fields(manifest: Mapping[str, Any], champion_id: str | None) -> dict[str, Any]:
    model = _mapping(manifest.get("model"))
    run_id = str(manifest.get("run_id"))
    threshold = manifest.get("threshold")
    return {
        "run_id": run_id,
        "status": run_status(manifest),
        "started_at": parse_time(manifest.get("started_at")),
        "ended_at": parse_time(manifest.get("ended_at")),
        "spec_name": _str(manifest.get("spec_name")),
        "model": _str(manifest.get("winner")) or _str(model.get("candidate")),
        "model_type": _str(model.get("type")),
        "metrics": numbers(manifest.get("metrics")),
        "threshold": float(threshold) if isinstance(threshold, int | float) else None,
        "gates": gate_verdict(manifest),
        "is_champion": champion_id is not None and run_id == champion_id,
    }


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None
