"""``churn reproduce RUN``: re-run a recorded run from its manifest and compare the metrics.

The run's own spec copy is parsed (its sha256 must match the manifest), the data file named in
the manifest (a URL: the spec's, with its credentials) is read and its sha256 checked (a SQL
source: its snapshot at the recorded ``as_of``, said clearly when the database no longer
returns the same rows), and every candidate is trained again in this process with the recorded
seed. The run's predictions.csv (classifier or survival) must still have the sha256 run.json
recorded, and the re-trained winner's predictions must hash the same (a run from before that
hash was kept says "not recorded"). Exit code 0 when every recorded
metric matches, 1 otherwise (with a table of the
differences); a changed spec copy or data file is exit 1 too.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from churn.cli.options import HomeOpt, JsonOpt

if TYPE_CHECKING:
    import pandas as pd

    from churn.registry import Registry
    from churn.registry.record import DataRecord, RunManifest
    from churn.spec import Spec
    from churn.training.evaluate import CandidateResult

TOLERANCE = 1e-9
"""Relative tolerance of a match; a seeded run on the same versions reproduces exactly."""


@dataclass
class Reproduction:
    """What re-running a recorded run found."""

    run_id: str
    compared: int = 0
    differences: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Why the run could not be reproduced as recorded (changed spec copy or data)."""
    versions: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    """Package versions that differ: name -> (recorded, now)."""
    notes: list[str] = field(default_factory=list)
    """What could not be checked but does not make a mismatch (an old run's unhashed files)."""

    @property
    def matches(self) -> bool:
        """Every recorded metric was reproduced and nothing stood in the way."""
        return not self.problems and not self.differences and self.compared > 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "run_id": self.run_id,
            "matches": self.matches,
            "compared": self.compared,
            "differences": self.differences,
            "problems": self.problems,
            "notes": self.notes,
            "versions": {k: {"recorded": a, "now": b} for k, (a, b) in self.versions.items()},
        }

    def to_text(self) -> str:
        """Human summary with a table of differences."""
        lines = [f"run {self.run_id}: " + ("metrics match" if self.matches else "MISMATCH")]
        lines += [f"  {problem}" for problem in self.problems]
        if self.compared:
            lines.append(f"  {self.compared} recorded values compared")
        if self.differences:
            lines.append(
                f"  {'candidate':<12} {'value':<22} {'recorded':>12} {'now':>12} {'diff':>10}"
            )
            for row in self.differences:
                lines.append(
                    f"  {row['candidate']:<12} {row['value']:<22} {_num(row['recorded']):>12} "
                    f"{_num(row['now']):>12} {_num(row['diff']):>10}"
                )
        for name, (recorded, now) in self.versions.items():
            lines.append(f"  note: {name} {recorded} then, {now} now")
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)


def _num(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, int | float) else str(value)


def reproduce_run(registry: Registry, run_id: str) -> Reproduction:
    """Re-run ``run_id`` from its manifest, spec copy and data, and compare every metric."""
    from churn.contract import load_dataset_and_hash
    from churn.registry.runs import SPEC_COPY
    from churn.run.steps import package_versions
    from churn.sources.urls import data_location, is_url, shown
    from churn.spec.loader import parse_spec
    from churn.training.evaluate import evaluate_candidates

    manifest = registry.record(run_id)
    found = Reproduction(run_id)
    copy = registry.run_dir(run_id) / SPEC_COPY
    text = registry.spec_copy_text(run_id)
    if hashlib.sha256(text.encode("utf-8")).hexdigest() != manifest.spec_sha256:
        found.problems.append(f"{copy}: the spec copy differs from the recorded spec_sha256")
    spec = parse_spec(text, source=str(copy))
    if spec.evaluation.split.seed != manifest.seed:
        found.problems.append(f"seed {spec.evaluation.split.seed} != recorded {manifest.seed}")
    recorded_data = manifest.data
    if spec.sql_source is not None:
        frame, data_sha256 = _reread_snapshot(spec, recorded_data)
        if data_sha256 != manifest.data_sha256:
            found.problems.append(_snapshot_changed(spec, recorded_data, len(frame)))
    else:
        location = data_location(spec)  # a URL as written, with its credentials
        recorded_path = recorded_data.path if recorded_data else str(location)
        data_path = location if is_url(location) else Path(recorded_path)
        frame, data_sha256 = load_dataset_and_hash(spec, data_path)
        if data_sha256 != manifest.data_sha256:
            found.problems.append(
                f"{shown(data_path)}: the data changed since the run (sha256 differs)"
            )
    recorded_versions = manifest.versions or {}
    found.versions = {
        name: (recorded_versions.get(name), now)
        for name, now in package_versions().items()
        if recorded_versions.get(name) not in (None, now)
    }
    _check_predictions_file(found, registry, manifest)
    if found.problems:
        return found
    results = evaluate_candidates(spec, frame)
    for name, recorded in (manifest.candidates or {}).items():
        result = results.get(name)
        if result is None:
            found.differences.append(_row(name, "candidate", "recorded", "missing now"))
            continue
        fresh = result.summary()
        _compare(found, name, "threshold", recorded.threshold, fresh["threshold"])
        for block, metrics in (("holdout", recorded.holdout), ("cv_mean", recorded.cv_mean)):
            for metric, value in metrics.items():
                now = fresh[block].get(metric)
                _compare(found, name, f"{block}.{metric}", value, now)
    winner = results.get(manifest.winner or "")
    if manifest.predictions is None:
        found.notes.append("predictions.csv: not recorded (a run from before its hash was kept)")
    elif winner is not None:
        _compare_predictions(found, manifest, spec, frame, winner)
    return found


def _compare_predictions(
    found: Reproduction,
    manifest: RunManifest,
    spec: Spec,
    frame: pd.DataFrame,
    winner: CandidateResult,
) -> None:
    """The run's predictions.csv (its file checked by :func:`_check_predictions_file`): the
    re-trained winner's predictions (hold-out, or every row for ``predictions: all``) must hash
    the same."""
    from churn.training.evaluate import split_dataset

    recorded = manifest.predictions
    if recorded is None:
        return
    data = split_dataset(spec, frame)
    target = spec.survival_target
    if target is not None:
        from churn.run.survival_predictions import holdout_survival_predictions

        if data.outcome_test is None:
            return
        now = holdout_survival_predictions(target, winner, data).sha256
    else:
        from churn.run.classifier_predictions import classifier_predictions_csv

        now = hashlib.sha256(classifier_predictions_csv(spec, winner, data, frame)).hexdigest()
    _compare(found, winner.name, "predictions.csv sha256", recorded.sha256, now)


def _check_predictions_file(found: Reproduction, registry: Registry, manifest: RunManifest) -> None:
    """The recorded predictions.csv must still have its sha256 (checked before re-training)."""
    recorded = manifest.predictions
    if recorded is None:
        return
    path = registry.home / recorded.path
    try:
        on_disk = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        found.problems.append(f"{path}: cannot read the recorded predictions: {exc.strerror}")
        return
    if on_disk != recorded.sha256:
        found.problems.append(f"{path}: changed since the run (sha256 differs from run.json)")


def _reread_snapshot(spec: Spec, recorded: DataRecord | None) -> tuple[pd.DataFrame, str]:
    """The SQL source's rows at the run's recorded ``as_of`` (else today's)."""
    from churn.contract import load_dataset_and_hash
    from churn.sources.as_of import parse_as_of

    as_of = ((recorded.parameters if recorded else None) or {}).get("as_of")
    return load_dataset_and_hash(spec, as_of=parse_as_of(as_of) if as_of else None)


def _snapshot_changed(spec: Spec, recorded: DataRecord | None, rows: int) -> str:
    parameters = (recorded.parameters if recorded else None) or {}
    shown = ", ".join(f"{k}={v}" for k, v in parameters.items())
    source = spec.sql_source.label if spec.sql_source is not None else "the source"
    where = (recorded.url if recorded else None) or source
    return (
        f"{where}: the database no longer returns the same rows for "
        f"{source}{f' ({shown})' if shown else ''}: sha256 differs ({rows:,} rows now, "
        f"{recorded.rows if recorded else None} recorded)"
    )


def _compare(found: Reproduction, name: str, what: str, recorded: Any, now: Any) -> None:
    found.compared += 1
    if not _same(recorded, now):
        found.differences.append(_row(name, what, recorded, now))


def _same(recorded: Any, now: Any) -> bool:
    if _missing(recorded) and _missing(now):  # no value either way (a survival threshold)
        return True
    if isinstance(recorded, int | float) and isinstance(now, int | float):
        if math.isnan(recorded) and math.isnan(now):
            return True
        return math.isclose(recorded, now, rel_tol=TOLERANCE, abs_tol=1e-12)
    return bool(recorded == now)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _row(name: str, what: str, recorded: Any, now: Any) -> dict[str, Any]:
    numeric = isinstance(recorded, int | float) and isinstance(now, int | float)
    return {
        "candidate": name,
        "value": what,
        "recorded": recorded,
        "now": now,
        "diff": (now - recorded) if numeric else None,
    }


def reproduce_command(
    run_id: Annotated[str, typer.Argument(help="The run to re-run (see `churn runs`).")],
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Re-run a recorded run from its manifest (spec copy, data hash, seed); compare metrics."""
    from churn.registry import Registry, resolve_home

    found = reproduce_run(Registry(resolve_home(home)), run_id)
    typer.echo(json.dumps(found.to_dict(), indent=2, default=str) if as_json else found.to_text())
    if not found.matches:
        raise typer.Exit(1)
