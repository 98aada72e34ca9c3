"""``churn check``: validate spec and data and compile every candidate, training nothing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from churn.contract import load_dataset, target_vector
from churn.spec.loader import load_spec
from churn.training.compile import compile_spec


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
        lines.append("ok: spec valid, data valid, every candidate compiles")
        return "\n".join(lines)


def check_spec(spec_path: str | Path) -> CheckSummary:
    """Load the spec, read and validate its data, compile the candidates."""
    spec = load_spec(spec_path)
    frame = load_dataset(spec)
    pipelines = compile_spec(spec)
    y = target_vector(spec, frame)
    return CheckSummary(
        spec_path=str(spec_path),
        spec_name=spec.name,
        data_path=str(spec.source_path),
        rows=len(frame),
        columns=frame.shape[1],
        positives=int(y.sum()),
        candidates={
            name: " -> ".join(
                type(step).__name__ if name_ == "model" else name_ for name_, step in pipeline.steps
            )
            for name, pipeline in pipelines.items()
        },
    )
