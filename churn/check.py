"""``churn check``: validate spec and data and compile every candidate, training nothing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from churn.errors import SpecError
from churn.registry import Registry, resolve_home
from churn.spec import Spec
from churn.spec.loader import load_spec

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class CheckSummary:
    """What a successful check found."""

    spec_path: str
    spec_name: str
    data_path: str
    rows: int
    columns: int
    positives: int
    candidates: dict[str, str]
    """Candidate name -> pipeline steps, e.g. ``derive -> features -> LogisticRegression``."""
    home: str = ""
    """The registry home whose champion was verified."""
    champion: str | None = None
    """The champion's run id (its model file matches its recorded hash), or None."""
    gate_tests: int = 0
    """Gate tests collected (``gates.tests`` and declared slices); none of them ran."""
    leakage: tuple[str, ...] = ()
    """Survival specs: columns tied to the duration (warnings), with the evidence."""

    @property
    def positive_rate(self) -> float:
        """Share of rows with the positive label."""
        return self.positives / self.rows if self.rows else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "ok": True,
            "spec": self.spec_path,
            "name": self.spec_name,
            "data": self.data_path,
            "rows": self.rows,
            "columns": self.columns,
            "class_balance": {
                "positive": self.positives,
                "negative": self.rows - self.positives,
                "positive_rate": round(self.positive_rate, 4),
            },
            "candidates": self.candidates,
            "home": self.home,
            "champion": self.champion,
            "gate_tests": self.gate_tests,
            **({"leakage": list(self.leakage)} if self.leakage else {}),
        }

    def to_text(self) -> str:
        """Human summary."""
        lines = [
            f"spec       {self.spec_path} ({self.spec_name})",
            f"data       {self.data_path}",
            f"rows       {self.rows:,}",
            f"columns    {self.columns}",
            f"balance    {self.positives:,} positive / {self.rows - self.positives:,} negative "
            f"({self.positive_rate:.1%} positive)",
            f"candidates {len(self.candidates)}",
        ]
        lines += [f"  {name:<12} {steps}" for name, steps in self.candidates.items()]
        verified = f"run {self.champion} (model hash verified)" if self.champion else "none yet"
        lines.append(f"champion   {verified} in {self.home}")
        if self.gate_tests:
            lines.append(f"gate tests {self.gate_tests} collected (not run)")
        lines += [f"warning    {line}" for line in self.leakage]
        lines.append("ok: spec valid, data valid, every candidate compiles, champion servable")
        return "\n".join(lines)


def check_spec(spec_path: str | Path, *, home: str | Path | None = None) -> CheckSummary:
    """Load the spec, read and validate its data, compile the candidates, verify the champion.

    Args:
        spec_path: The spec file.
        home: The registry home (default ``$CHURN_HOME``, else ``./artifacts``); its champion's
            model file must match its recorded hash (nothing is unpickled).

    Raises:
        SpecError: The spec is invalid, or a gate test is missing, does not import or asks for
            an unknown fixture, or a survival model reads a column nearly determined by the
            duration (exit 2).
        DataContractError: The data breaks the contract (exit 3).
        RegistryError: The champion cannot be served (exit 1; the message says how to repair).
    """
    spec = load_spec(spec_path)  # a spec error is reported before the ML stack loads
    from churn.contract import load_dataset_and_hash, target_vector
    from churn.sources.urls import data_location, shown
    from churn.training.compile import compile_spec

    frame, _ = load_dataset_and_hash(spec)  # as a run reads it: big enough to split too
    pipelines = compile_spec(spec)
    gate_tests = _collect_gate_tests(spec)
    y = target_vector(spec, frame)
    leakage = duration_leakage(spec, frame)
    registry = Registry(resolve_home(home))
    champion = registry.verify_champion()
    return CheckSummary(
        spec_path=str(spec_path),
        spec_name=spec.name,
        data_path=shown(data_location(spec)),
        rows=len(frame),
        columns=frame.shape[1],
        positives=int(y.sum()),
        candidates={
            name: " -> ".join(
                type(step).__name__ if name_ == "model" else name_ for name_, step in pipeline.steps
            )
            for name, pipeline in pipelines.items()
        },
        home=str(registry.home),
        champion=champion.run_id if champion else None,
        gate_tests=gate_tests,
        leakage=leakage,
    )


def duration_leakage(spec: Spec, frame: pd.DataFrame) -> tuple[str, ...]:
    """A survival spec's columns tied to the duration (:mod:`churn.survival.leakage`).

    Returns:
        One warning per tied column the model does not read or reads with a weaker tie.

    Raises:
        SpecError: The model reads a column that is nearly a function of the duration (exit 2).
    """
    target = spec.survival_target
    if target is None:
        return ()
    from churn.survival.leakage import duration_ties
    from churn.training.features import DerivedFeatures

    columns = [c for c in spec.columns if c not in {spec.data.id, *spec.target_columns}]
    derived = tuple(entry.model_dump() for entry in spec.features.derived)
    candidates = DerivedFeatures(derived).fit(frame[columns]).transform(frame[columns])
    read = {c for group in spec.features.groups for c in group.columns}
    read |= {c for d in spec.features.derived if d.name in read for c in d.inputs()}
    ties = duration_ties(candidates, frame[target.duration], read)
    derived_at = {d.name: i for i, d in enumerate(spec.features.derived)}
    errors, warnings = [], []
    for tie in ties:
        where = (
            spec.place("features", "derived", derived_at[tie.column], "name")
            if tie.column in derived_at
            else spec.place("columns", tie.column)
        )
        evidence = tie.evidence(target.duration)
        if tie.is_error:
            errors.append(
                f"{where}: the model reads {tie.column!r}, which (alone or with another column "
                f"it reads) nearly determines the duration: {evidence}; drop it (features.drop)"
            )
        else:
            role = "a feature" if tie.feature else "not a feature"
            warnings.append(f"{tie.column!r} ({role}) is tied to the duration: {evidence}")
    if errors:
        raise SpecError(errors)
    return tuple(warnings)


def _collect_gate_tests(spec: Spec) -> int:
    """Collect the spec's gate tests without running one (a problem is a SpecError, exit 2)."""
    from churn.gates.configured import has_gate_tests

    if not has_gate_tests(spec):
        return 0
    from churn.gates.session import check_gate_tests, gate_test_paths

    return check_gate_tests(spec, gate_test_paths(spec))
