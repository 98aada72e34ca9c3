"""Telco models for the gate-test helpers: the real data, split as a run splits it.

Each model is one logistic regression (the default spec's feature pipeline, no search), fitted
in well under a second; a planted model is fitted on training rows changed on purpose.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import yaml

from churn.gates.subjects import GateModel, LabelledRows
from churn.spec import ModelSpec, Spec
from churn.spec.loader import parse_spec
from churn.training.compile import compile_candidate
from churn.training.evaluate import Split

ROOT = Path(__file__).resolve().parents[2]
GATES = ROOT / "spec" / "gates"
THRESHOLD = 0.3
"""Near the threshold the default spec's min_recall policy serves."""


@dataclass(frozen=True)
class Telco:
    """The default spec, its validated data and its hold-out split."""

    spec: Spec
    split: Split

    def holdout(self, spec: Spec | None = None) -> LabelledRows:
        """The hold-out rows of the feature columns of ``spec`` (default: the default spec)."""
        X = self.split.X_test[(spec or self.spec).feature_columns]
        return LabelledRows(X, np.asarray(self.split.y_test, dtype=np.int64))

    def fit(
        self,
        name: str,
        *,
        spec: Spec | None = None,
        candidate: str | None = None,
        X: pd.DataFrame | None = None,
        y: np.ndarray | None = None,
    ) -> GateModel:
        """A logistic regression (or the spec's ``candidate``) on the (possibly changed)
        training rows, as a gate model."""
        used = spec or self.spec
        logreg = ModelSpec(name=name, type="logistic_regression", params={"C": 0.5})
        chosen = next(m for m in used.models if m.name == candidate) if candidate else logreg
        pipeline = compile_candidate(used, chosen)
        X_train = self.split.X_train if X is None else X
        pipeline.fit(X_train[used.feature_columns], self.split.y_train if y is None else y)
        return GateModel(name=name, pipeline=pipeline, threshold=THRESHOLD)


def spec_variant(path: Path, *, keep_gender: bool) -> Spec:
    """The default spec; with ``keep_gender`` gender is fed to the model instead of dropped."""
    document = yaml.safe_load(path.read_text())
    if keep_gender:
        document["features"]["drop"] = []
        document["features"]["groups"][2]["columns"].append("gender")
    return parse_spec(yaml.safe_dump(document), source=str(path))


def gate_module(name: str) -> ModuleType:
    """A test module of spec/gates, imported from its file (as the plugin collects it)."""
    path = GATES / f"{name}.py"
    loaded = importlib.util.spec_from_file_location(f"telco_gates_{name}", path)
    assert loaded is not None and loaded.loader is not None
    module = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(module)
    return module
