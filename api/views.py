"""Registry records (typed run records, champion.json) -> response models."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from churn.api.schemas import (
    Champion,
    GateTestCounts,
    GateVerdict,
    RunDetail,
    RunSummary,
    ShownRunStatus,
)
from churn.gates.subjects import GateTestOutcome
from churn.registry import RunManifest
from churn.registry.pointer import ChampionPointer
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


def run_status(manifest: RunManifest) -> ShownRunStatus:
    """succeeded, failed, running or incomplete (died half-way)."""
    return "incomplete" if manifest.incomplete else manifest.status


def last_time(manifest: RunManifest) -> datetime | None:
    """When the run ended, else when it started."""
    return manifest.ended_at or manifest.started_at


def gate_verdict(manifest: RunManifest) -> GateVerdict | None:
    """The run's gate verdict and decision, or None before the run judged its winner."""
    gates, decision = manifest.gates, manifest.decision
    if gates is None and decision is None:
        return None
    return GateVerdict(
        passed=gates.passed if gates else None,
        action=decision.action if decision else None,
        run_failed=decision.run_failed if decision else None,
        reason=(decision.reason if decision else None) or (gates.reason if gates else None),
        tests=_test_counts(gates.tests) if gates is not None and gates.tests else None,
    )


def _test_counts(outcomes: list[GateTestOutcome]) -> GateTestCounts:
    """The gate tests' outcomes counted, with the ones that did not pass named."""
    counts = Counter(o.outcome for o in outcomes)
    return GateTestCounts(
        **{kind: counts.get(kind, 0) for kind in ("passed", "failed", "error", "skipped")},
        not_passed=[
            f"{o.candidate}: {o.nodeid}" for o in outcomes if o.outcome in ("failed", "error")
        ],
    )


def summary(manifest: RunManifest, champion_id: str | None) -> RunSummary:
    """A run record as a RunSummary."""
    return RunSummary(**_summary_fields(manifest, champion_id))


def detail(manifest: RunManifest, champion_id: str | None, folder: Path) -> RunDetail:
    """A run record as a RunDetail, with the run folder's report and plots."""
    plots_dir = folder / PLOTS_DIR
    plots = sorted(
        p.name
        for p in (plots_dir.iterdir() if plots_dir.is_dir() else ())
        if PLOT_NAME.fullmatch(p.name) and p.is_file() and not p.is_symlink()  # as get_plot
    )
    candidates = {name: entry.as_dict() for name, entry in (manifest.candidates or {}).items()}
    gates, scores, data = manifest.gates, manifest.champion_scores, manifest.data
    return RunDetail(
        **_summary_fields(manifest, champion_id),
        candidates=candidates or None,
        gate_results=gates.as_dict() if gates else None,
        champion_scores=scores.as_dict() if scores else None,
        data=data.as_dict() if data else None,
        versions=manifest.versions or None,
        error=manifest.error,
        selection_metric=manifest.selection_metric,
        report=(folder / REPORT_FILE).is_file(),
        plots=plots,
    )


def champion_view(model: ServingModel) -> Champion:
    """The serving model as a Champion."""
    pointer = model.pointer
    return Champion(
        run_id=model.run_id,
        model=model.candidate,
        model_type=model.model_type,
        model_sha256=pointer.model_sha256,
        metrics=dict(pointer.metrics),
        threshold=pointer.threshold if pointer.threshold is not None else model.threshold,
        promoted_at=parse_time(pointer.promoted_at),
        action=_action(pointer),
        reason=pointer.reason,
        previous=pointer.previous,
        loaded_at=model.loaded_at,
        fast_path=model.scorer.fast,
    )


def _summary_fields(manifest: RunManifest, champion_id: str | None) -> dict[str, Any]:
    return {
        "run_id": manifest.run_id,
        "status": run_status(manifest),
        "started_at": manifest.started_at,
        "ended_at": manifest.ended_at,
        "spec_name": manifest.spec_name,
        "model": manifest.candidate,
        "model_type": manifest.model.type if manifest.model else None,
        "metrics": dict(manifest.metrics or {}),
        "threshold": manifest.threshold,
        "gates": gate_verdict(manifest),
        "is_champion": champion_id is not None and manifest.run_id == champion_id,
    }


def _action(pointer: ChampionPointer) -> str | None:
    """The pointer's action as champion.json says it (None when an older churn wrote none)."""
    return pointer.action if "action" in pointer.model_fields_set else None
