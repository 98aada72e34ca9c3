"""The steps of one training run, as plain functions over a :class:`RunContext`.

The Prefect flow (``flows/train.py``) wraps each in a task and sequences them; nothing here
imports Prefect, so every step is unit-testable and the CLI, flow and tests share one code path.
Nothing touches ``champion.json`` or the ledger before :func:`apply_decision`, so a run that dies
earlier leaves them exactly as they were.
"""

from __future__ import annotations

import csv
import hashlib
import io
import platform
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from churn.contract import load_dataset_and_hash, target_vector
from churn.gates.subjects import GateTestOutcome
from churn.registry.record import (
    ChampionScoresRecord,
    DecisionRecord,
    GateReportRecord,
    ModelFileRecord,
    RunManifest,
    SurvivalRecord,
)
from churn.run.context import RunContext
from churn.run.gate_verdict import decide_with_tests, gate_report_fields
from churn.sources.as_of import as_of_date
from churn.sources.sql import sql_record
from churn.sources.urls import data_location, shown
from churn.training.compile import compile_candidate
from churn.training.evaluate import (
    CandidateResult,
    Split,
    rescore,
    select_winner,
    split_dataset,
    train_candidate,
)
from churn.training.gates import decide, evaluate_gates

VERSIONED_PACKAGES = ("churn", "scikit-learn", "xgboost", "pandas", "numpy", "pandera", "prefect")
MODEL_FILE = "model.joblib"


def package_versions() -> dict[str, str]:
    """Versions of the packages that decide a run's numbers."""
    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def sha256_bytes(data: bytes) -> str:
    """Hex sha256."""
    return hashlib.sha256(data).hexdigest()


def start_run(ctx: RunContext) -> Path:
    """Create the run folder with its manifest (status running) and a copy of the spec."""
    champion = ctx.registry.champion()
    folder = ctx.registry.start_run(
        ctx.run_id,
        spec_name=ctx.spec.name,
        spec_path=str(ctx.spec_path),
        spec_sha256=sha256_bytes(ctx.spec_text.encode("utf-8")),
        seed=ctx.spec.evaluation.split.seed,
        versions=package_versions(),
        selection_metric=ctx.spec.evaluation.selection_metric,
        champion_before=champion.run_id if champion else None,
    )
    ctx.registry.write_text(folder / "spec.yaml", ctx.spec_text)
    return folder


def load_data(ctx: RunContext) -> pd.DataFrame:
    """Read and validate the data; record its hash, size and class balance in the manifest."""
    as_of = as_of_date()  # one date for the read and its record (a run may cross midnight)
    frame, data_sha256 = load_dataset_and_hash(ctx.spec, as_of=as_of)
    source = shown(data_location(ctx.spec))  # a URL without its credentials
    ctx.registry.update_manifest(
        ctx.run_id,
        data_sha256=data_sha256,
        data={
            "path": source,
            "rows": len(frame),
            "columns": frame.shape[1],
            "positives": int(target_vector(ctx.spec, frame).sum()),
            **sql_record(ctx.spec, as_of),
        },
    )
    return frame


def split(ctx: RunContext, frame: pd.DataFrame) -> Split:
    """The seeded hold-out split."""
    return split_dataset(ctx.spec, frame)


def train(ctx: RunContext, name: str, data: Split) -> CandidateResult:
    """Compile and train one candidate."""
    model = ctx.spec.candidate(name)
    return train_candidate(ctx.spec, name, compile_candidate(ctx.spec, model), data)


def select(ctx: RunContext, results: dict[str, CandidateResult]) -> str:
    """The winner's name."""
    return select_winner(ctx.spec, results)


def score_champion(
    ctx: RunContext, data: Split, frame: pd.DataFrame
) -> ChampionScoresRecord | None:
    """Re-score the champion on this run's hold-out; None when there is no champion."""
    loaded = ctx.registry.load_champion()
    if loaded is None:
        return None
    pointer, model = loaded
    threshold = 0.5 if pointer.threshold is None else pointer.threshold
    try:
        metrics = rescore(ctx.spec, model, threshold, data, frame)
    except Exception as exc:  # noqa: BLE001 - recorded; the change gates then fail on it
        error = f"{type(exc).__name__}: {exc}"
        return ChampionScoresRecord(run_id=pointer.run_id, metrics=None, error=error)
    return ChampionScoresRecord(run_id=pointer.run_id, metrics=metrics, error=None)


def judge(
    ctx: RunContext,
    winner: CandidateResult,
    champion: ChampionScoresRecord | None,
    tests: Sequence[GateTestOutcome] = (),
) -> tuple[GateReportRecord, DecisionRecord]:
    """Gates on the winner's hold-out metrics (and its gate tests' outcomes), then the
    promotion decision.

    The decision reads this run's record and the champion's (their spec and data hashes and
    seeds decide whether the winner merely repeats the champion).
    """
    champion_metrics = None
    champion_record = None
    if champion is not None:
        # A champion that could not be scored counts as present with no metrics: change
        # thresholds then fail ("metric missing") instead of being skipped as on a first run.
        champion_metrics = champion.metrics or {}
        champion_record = ctx.registry.record(champion.run_id)
    report = evaluate_gates(ctx.spec.gates, winner.holdout, champion_metrics)
    decision = decide(
        report,
        ctx.spec.promotion,
        run=ctx.registry.record(ctx.run_id),
        champion=champion_record,
    )
    return report, decide_with_tests(decision, tests, winner.name)


def metrics_rows(results: dict[str, CandidateResult]) -> list[dict[str, Any]]:
    """One row per candidate and metric: CV mean, CV std and hold-out value."""
    return [
        {
            "candidate": name,
            "metric": metric,
            "cv_mean": result.cv_mean.get(metric),
            "cv_std": result.cv_std.get(metric),
            "holdout": value,
        }
        for name, result in results.items()
        for metric, value in result.holdout.items()
    ]


def record(
    ctx: RunContext,
    results: dict[str, CandidateResult],
    winner: str,
    champion: ChampionScoresRecord | None,
    report: GateReportRecord,
    decision: DecisionRecord,
    tests: Sequence[GateTestOutcome] | None = None,
    data: Split | None = None,
    frame: pd.DataFrame | None = None,
) -> RunManifest:
    """Write metrics.json, metrics.csv and the winner's model; put it all in the manifest.

    ``tests`` are the gate tests' outcomes (None when the spec has no gate tests). A run with its
    ``data`` (and, for a classifier's ``predictions: all``, the whole ``frame``) also writes the
    winner's predictions.csv (hashed in the manifest's ``predictions``).

    Returns:
        The run's record as written.
    """
    summaries = {name: result.summary() for name, result in results.items()}
    best = results[winner]
    ctx.registry.write_json(
        ctx.run_dir / "metrics.json", {"winner": winner, "candidates": summaries}
    )
    ctx.registry.write_text(ctx.run_dir / "metrics.csv", _csv(metrics_rows(results)))
    saved = ctx.registry.save_model(ctx.run_id, best.pipeline, name=MODEL_FILE)
    model = ModelFileRecord(**saved.as_dict(), candidate=winner, type=best.model_type)
    target = ctx.spec.survival_target
    survival: dict[str, Any] = (
        {}
        if target is None
        else {"survival": SurvivalRecord(**target.model_dump(exclude={"kind"}))}
    )
    if target is not None and data is not None:
        from churn.run.survival_predictions import write_survival_predictions

        survival["predictions"] = write_survival_predictions(
            ctx.registry, ctx.run_dir, target, best, data
        )
    elif data is not None:
        from churn.run.classifier_predictions import write_classifier_predictions

        survival["predictions"] = write_classifier_predictions(
            ctx.registry, ctx.run_dir, ctx.spec, best, data, frame
        )
    return ctx.registry.update_manifest(
        ctx.run_id,
        candidates=summaries,
        winner=winner,
        model=model,
        metrics=best.holdout,
        threshold=None if target is not None else best.threshold,
        **survival,
        champion_scores=champion,
        gates=gate_report_fields(report, tests or (), winner, ran=tests is not None),
        decision=decision,
    )


def apply_decision(ctx: RunContext, decision: DecisionRecord) -> RunManifest:
    """Promote, or write the ledger line that says why not; then close the run's manifest.

    Returns:
        The closed run record.
    """
    if decision.action == "promote":
        ctx.registry.promote(ctx.run_id, reason=decision.reason, forced=False)
    else:
        ctx.registry.append_ledger(
            {"action": decision.action, "run_id": ctx.run_id, "reason": decision.reason}
        )
    status = "failed" if decision.run_failed else "succeeded"
    return ctx.registry.finish_run(
        ctx.run_id, status=status, champion_after=ctx.registry.champion_id()
    )


def _csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()
