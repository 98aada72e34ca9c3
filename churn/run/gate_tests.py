"""The gate-tests step of a run, and the same tests against a recorded run (``churn gate``).

During a run, :func:`run_gate_tests_step` runs the spec's gate tests (``gates.tests`` and the
declared slices) after the candidates are trained and the champion re-scored, before the gates
are judged: against the winner, and against every candidate when ``gates.tests.every_candidate``
says so. :func:`gate_recorded_run` runs them against a recorded run's model, hold-out and
champion without training: the spec copy, the data (its sha256 must match the record) and the
seeded split give back the very rows the run held out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from churn.errors import DataContractError, RegistryError
from churn.gates.plugin import GateLimits, GateSubjects
from churn.gates.session import gate_test_paths, run_gate_tests
from churn.gates.subjects import GateModel, GateTestOutcome, LabelledRows
from churn.registry import Registry, RunManifest
from churn.spec import Spec

if TYPE_CHECKING:  # churn gate needs only the split, not the training stack
    import pandas as pd

    from churn.training.evaluate import CandidateResult, Split

TRAIN_SAMPLE_ROWS: Final = 2000
"""Most training rows the ``train_sample`` fixture holds (a seeded sample)."""
DEFAULT_THRESHOLD: Final = 0.5


@dataclass(frozen=True)
class RecordedGate:
    """A recorded run's gate tests, run again: which run, which candidate, every outcome."""

    run_id: str
    candidate: str
    outcomes: list[GateTestOutcome]

    @property
    def failed(self) -> bool:
        """Whether a test failed or erred."""
        return any(o.outcome in ("failed", "error") for o in self.outcomes)


def limits_of(spec: Spec) -> GateLimits:
    """The spec's time limits for gate tests."""
    tests = spec.gates.tests
    return GateLimits(test_s=tests.test_timeout_s, total_s=tests.total_timeout_s)


def labelled(
    X_train: pd.DataFrame, y_train: Any, X_test: pd.DataFrame, y_test: Any, *, seed: int
) -> tuple[LabelledRows, LabelledRows]:
    """The hold-out rows, and a seeded sample of at most :data:`TRAIN_SAMPLE_ROWS` training rows."""
    holdout = LabelledRows(X=X_test, y=np.asarray(y_test, dtype=np.int64))
    rows = len(y_train)
    chosen = np.arange(rows)
    if rows > TRAIN_SAMPLE_ROWS:
        chosen = np.sort(np.random.default_rng(seed).choice(rows, TRAIN_SAMPLE_ROWS, replace=False))
    train = LabelledRows(X=X_train.iloc[chosen], y=np.asarray(y_train, dtype=np.int64)[chosen])
    return holdout, train


def run_gate_tests_step(
    spec: Spec,
    registry: Registry,
    results: dict[str, CandidateResult],
    winner: str,
    data: Split,
) -> list[GateTestOutcome]:
    """Run the spec's gate tests against the winner (and every candidate if the spec asks).

    Returns:
        Every test's outcome, the winner's first; empty when the spec has no gate tests.
    """
    paths = gate_test_paths(spec)
    if not paths:
        return []
    seed = spec.evaluation.split.seed
    holdout, train = labelled(data.X_train, data.y_train, data.X_test, data.y_test, seed=seed)
    champion = _champion_model(registry)
    names = [winner]
    if spec.gates.tests.every_candidate:
        names += [name for name in results if name != winner]
    outcomes: list[GateTestOutcome] = []
    for name in names:
        result = results[name]
        subjects = GateSubjects(
            model=GateModel(name=name, pipeline=result.pipeline, threshold=result.threshold),
            champion=champion,
            holdout=holdout,
            train_sample=train,
            spec=spec,
            metrics=dict(result.holdout),
        )
        outcomes += run_gate_tests(spec, paths, subjects, candidate=name, limits=limits_of(spec))
    return outcomes


def _champion_model(registry: Registry) -> GateModel | None:
    loaded = registry.load_champion()
    if loaded is None:
        return None
    pointer, pipeline = loaded
    threshold = DEFAULT_THRESHOLD if pointer.threshold is None else float(pointer.threshold)
    return GateModel(
        name=pointer.run_id, pipeline=pipeline, threshold=threshold, run_id=pointer.run_id
    )


# --------------------------------------------------------------------------- a recorded run


def recorded_subjects(registry: Registry, run_id: str) -> tuple[GateSubjects, RunManifest]:
    """The fixtures' values for a recorded run: its model, its hold-out, its champion.

    Raises:
        RegistryError: The run is unknown, has no model, or its spec copy is unreadable.
        SpecError: The spec copy no longer loads.
        DataContractError: The data changed since the run (its hold-out would not be the run's).
    """
    from churn.contract import load_dataset_and_hash, target_vector
    from churn.contract.holdout import holdout_positions
    from churn.spec.loader import parse_spec

    record = registry.record(run_id)
    if record.model is None or record.data is None:
        raise RegistryError(f"run {run_id} recorded no model: there is nothing to test")
    text = registry.spec_copy_text(run_id)
    if hashlib.sha256(text.encode("utf-8")).hexdigest() != record.spec_sha256:
        raise RegistryError(f"run {run_id}: its spec copy differs from the recorded spec_sha256")
    copy = registry.run_dir(run_id) / "spec.yaml"
    spec = parse_spec(text, source=str(copy))
    if record.spec_path:  # gate test paths are relative to the spec's own folder
        spec = spec.located_at(Path(record.spec_path).resolve().parent)
    data_path = Path(record.data.path)
    frame, sha256 = load_dataset_and_hash(spec, data_path)
    if sha256 != record.data_sha256:
        raise DataContractError(
            str(data_path),
            [f"the data changed since run {run_id} (sha256 differs): its hold-out is gone"],
        )
    y = target_vector(spec, frame)
    X = frame[spec.feature_columns]
    fit, held = holdout_positions(spec, frame, y)  # the run's own split (training.evaluate's)
    holdout, train = labelled(
        X.iloc[fit], y[fit], X.iloc[held], y[held], seed=spec.evaluation.split.seed
    )
    pipeline = registry.load_model(run_id, record.model.sha256, name=record.model.name)
    candidate = record.candidate or run_id
    threshold = DEFAULT_THRESHOLD if record.threshold is None else record.threshold
    subjects = GateSubjects(
        model=GateModel(name=candidate, pipeline=pipeline, threshold=threshold, run_id=run_id),
        champion=_recorded_champion(registry, record),
        holdout=holdout,
        train_sample=train,
        spec=spec,
        metrics=dict(record.metrics or {}),
    )
    return subjects, record


def _recorded_champion(registry: Registry, record: RunManifest) -> GateModel | None:
    """The champion the run was compared with (``champion_before``), or None on a first run."""
    if record.champion_before is None or record.champion_before == record.run_id:
        return None
    theirs = registry.record(record.champion_before)
    if theirs.model is None:
        return None
    pipeline = registry.load_model(theirs.run_id, theirs.model.sha256, name=theirs.model.name)
    threshold = DEFAULT_THRESHOLD if theirs.threshold is None else theirs.threshold
    name = theirs.candidate or theirs.run_id
    return GateModel(name=name, pipeline=pipeline, threshold=threshold, run_id=theirs.run_id)


def gate_recorded_run(
    registry: Registry, run_id: str, tests: Sequence[Path] | None = None
) -> RecordedGate:
    """Run the gate tests (the spec's, or ``tests``) against a recorded run's model.

    Raises:
        RegistryError, SpecError, DataContractError: See :func:`recorded_subjects`; a test path
            that does not exist is a SpecError.
    """
    subjects, record = recorded_subjects(registry, run_id)
    spec = subjects.spec
    paths = gate_test_paths(spec, override=tests)
    candidate = subjects.model.name
    outcomes = run_gate_tests(spec, paths, subjects, candidate=candidate, limits=limits_of(spec))
    return RecordedGate(run_id=record.run_id, candidate=candidate, outcomes=outcomes)
