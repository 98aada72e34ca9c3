"""A pandas-free :class:`FastScorer` that returns exactly what the fitted pipeline returns.

Scoring one row through a fitted ``Pipeline`` costs milliseconds, almost all of it pandas
overhead in the ``ColumnTransformer``; the model itself needs well under one. The fast scorer
therefore skips the DataFrame: it takes the input as columns of plain values (one value per
column for a single record), computes the derived features on numpy arrays, runs each fitted
group transformer on a numpy array in the ``ColumnTransformer``'s fitted order, stacks the blocks
as the ``ColumnTransformer`` does and asks the final estimator for ``predict_proba``.

Every number equals what ``pipeline.predict_proba`` returns on the same rows (a one-row frame for
one record, an n-row frame for n records): the arrays handed to each fitted transformer have the
dtype and values that scikit-learn's own conversion of the training-typed DataFrame produces
(:mod:`churn.serving.fast_inputs`), the derived features repeat :mod:`churn.training.features`'
arithmetic operation by operation (:mod:`churn.serving.fast_steps`), and one-hot / ordinal encoders
(whose output is 0/1 or integer codes) are replaced by hash look-ups into the fitted categories
(:mod:`churn.serving.fast_encoders`). Anything the scorer does not recognise (another step type, a
sparse output, a nullable integer column, ...) makes it fall back to the pipeline on a DataFrame
typed like the validated training data; :attr:`FastScorer.reason` says why.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from churn.private_apis import output_config
from churn.serving.fast_encoders import lookup_encoder
from churn.serving.fast_inputs import (
    Columns,
    FloatArray,
    Unsupported,
    Values,
    array_kind,
    records_frame,
    to_array,
)
from churn.serving.fast_steps import Encode, Transform, derive_step, reads_text, step_transform
from churn.serving.threads import single_openmp_thread, threadpools
from churn.spec import ColumnSpec
from churn.survival.scoring import is_survival_estimator
from churn.training.features import DerivedFeatures

# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class _Group:
    """One ``ColumnTransformer`` entry: its columns, their array dtype and its steps.

    When the first step is an encoder, it reads the columns as they are (lists of Python
    values), which skips building an object array only to take it apart again.
    """

    columns: tuple[str, ...]
    dtype: str
    steps: tuple[Transform, ...]
    encode: Encode | None = None

    def run(self, arrays: Mapping[str, Values], n: int) -> np.ndarray:
        """The group's output block for ``n`` rows, given every input and derived column."""
        if self.encode is not None:
            X = self.encode([arrays[name] for name in self.columns], n)
        else:
            X = np.empty((n, len(self.columns)), dtype=self.dtype)
            for j, name in enumerate(self.columns):
                values = arrays[name]
                X[:, j] = values if isinstance(values, np.ndarray) else to_array(values, "object")
        for step in self.steps:
            X = step(X)
        return X


def _group(trans: Any, columns: Any, kinds: Mapping[str, str]) -> _Group:
    """One fitted ``ColumnTransformer`` entry as a :class:`_Group`, or raise Unsupported."""
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise Unsupported("ColumnTransformer columns given other than as a list of names")
    missing = [c for c in columns if c not in kinds]
    if missing:
        raise Unsupported(f"columns {missing} are neither inputs nor derived")
    group_kinds = {kinds[c] for c in columns}
    if group_kinds <= {"int64", "float64"}:
        dtype = str(np.result_type(*sorted(group_kinds)))
    elif len(group_kinds) == 1:
        dtype = next(iter(group_kinds))
    else:
        raise Unsupported(f"a group mixing column kinds {sorted(group_kinds)}")
    if isinstance(trans, str) and trans == "passthrough":
        steps: list[Any] = []
    elif type(trans) is Pipeline:
        steps = [step for _, step in trans.steps if not _is_passthrough(step)]
    else:
        steps = [trans]
    first = lookup_encoder(steps[0]) if steps else None
    if first is not None:
        return _Group(tuple(columns), dtype, tuple(map(step_transform, steps[1:])), first.encode)
    return _Group(tuple(columns), dtype, tuple(map(step_transform, steps)))


def _is_passthrough(step: Any) -> bool:
    return step is None or (isinstance(step, str) and step == "passthrough")


@dataclass(frozen=True)
class _Plan:
    """The compiled fast path: derived features, groups in fitted order, the estimator."""

    inputs: Mapping[str, str]
    derived: tuple[tuple[str, tuple[str, ...], bool, Callable[..., np.ndarray]], ...]
    """Per derived feature: its name, the columns it reads, whether it reads them as they
    are (text) rather than as float64, and its function."""
    groups: tuple[_Group, ...]
    estimator: Any

    def run(self, columns: Columns, n: int) -> FloatArray:
        """P(churn) of ``n`` records given as columns."""
        proba = self.estimator.predict_proba(self.encode(columns, n)[0])
        return np.asarray(proba[:, 1], dtype=np.float64)

    def encode(self, columns: Columns, n: int) -> tuple[np.ndarray, dict[str, Values]]:
        """The estimator's input for ``n`` records, and every input and derived column."""
        # Text stays a list of Python values until a group needs an array of it.
        arrays: dict[str, Values] = {
            name: columns[name] if kind == "object" else to_array(columns[name], kind)
            for name, kind in self.inputs.items()
        }
        for name, reads, text, compute in self.derived:
            if text:
                arrays[name] = compute(*(arrays[c] for c in reads))
            else:
                arrays[name] = compute(*(np.asarray(arrays[c], dtype=np.float64) for c in reads))
        blocks = [group.run(arrays, n) for group in self.groups]
        return np.hstack(blocks), arrays


def _compile(pipeline: Pipeline, specs: Mapping[str, ColumnSpec]) -> _Plan:
    """The pipeline as a :class:`_Plan`, or raise Unsupported naming what it cannot run."""
    steps = list(pipeline.steps)
    derive: DerivedFeatures | None = None
    if steps and type(steps[0][1]) is DerivedFeatures:
        derive = steps.pop(0)[1]
    if len(steps) != 2 or type(steps[0][1]) is not ColumnTransformer:
        raise Unsupported("a pipeline other than [derive] -> ColumnTransformer -> model")
    ct: ColumnTransformer = steps[0][1]
    estimator = steps[1][1]
    binary = hasattr(estimator, "predict_proba") and len(getattr(estimator, "classes_", ())) == 2
    if not binary and not is_survival_estimator(estimator):  # survival: encoded() only
        raise Unsupported("a final estimator without binary predict_proba or survival curves")
    if ct.sparse_output_ or output_config(ct).get("transform"):
        raise Unsupported("a ColumnTransformer with sparse or pandas output")
    inputs = {name: array_kind(specs[name]) for name in _input_names(pipeline, specs)}
    kinds = dict(inputs)
    derived = []
    for entry in derive.derived if derive is not None else ():
        reads, compute = derive_step(entry)
        text = reads_text(entry)
        expected = ("object",) if text else ("int64", "float64", "bool")
        for name in reads:
            if kinds.get(name) not in expected:
                message = f"derived feature {entry['name']!r} reads {name!r} of another kind"
                raise Unsupported(message)
        derived.append((entry["name"], tuple(reads), text, compute))
        kinds[entry["name"]] = "object" if entry["type"] == "bins" else "float64"
    groups = []
    for _, trans, columns in ct.transformers_:
        if (isinstance(trans, str) and trans == "drop") or len(columns) == 0:
            continue
        groups.append(_group(trans, columns, kinds))
    return _Plan(MappingProxyType(inputs), tuple(derived), tuple(groups), estimator)


def _input_names(pipeline: Pipeline, specs: Mapping[str, ColumnSpec]) -> list[str]:
    """The columns the pipeline was fitted on, all declared in ``specs``."""
    names = [str(name) for name in getattr(pipeline, "feature_names_in_", [])]
    if not names:
        raise Unsupported("a pipeline fitted without column names")
    unknown = [name for name in names if name not in specs]
    if unknown:
        raise Unsupported(f"the model reads columns the serving spec does not declare: {unknown}")
    return names


# --------------------------------------------------------------------------- the scorer

ROW_INDEPENDENT: Final = frozenset(
    {
        ("sklearn.ensemble", "RandomForestClassifier"),
        ("sklearn.ensemble", "ExtraTreesClassifier"),
        ("sklearn.ensemble", "HistGradientBoostingClassifier"),
        ("sklearn.ensemble", "GradientBoostingClassifier"),
        ("sklearn.tree", "DecisionTreeClassifier"),
        ("sklearn.dummy", "DummyClassifier"),
        ("xgboost", "XGBClassifier"),
        ("churn.training.cluster_xgb", "ClusterXGBClassifier"),  # its booster, as above
    }
)
"""Estimators whose per-row probability does not depend on the other rows of the call: trees
are walked row by row and summed in a fixed order. A linear model's matrix product may differ
in the last bits between a one-row and a many-row call (BLAS picks another kernel). Named by
their public modules; an estimator matches when its class is that public class (a module that
defines the class is imported by the time one is unpickled)."""


class FastScorer:
    """Churn probabilities from columns of plain values, equal to the pipeline's own.

    Args:
        pipeline: A fitted ``[derive] -> ColumnTransformer -> model`` pipeline.
        specs: The spec's contract of every column the request carries (at least every column
            the pipeline was fitted on).

    Raises:
        Unsupported: The pipeline reads a column ``specs`` does not declare.
    """

    def __init__(self, pipeline: Pipeline, specs: Mapping[str, ColumnSpec]) -> None:
        self.pipeline = pipeline
        self.input_columns = _input_names(pipeline, specs)
        """The columns the pipeline was fitted on."""
        self._specs = {name: specs[name] for name in self.input_columns}
        self.reason: str | None = None
        """Why the fast path is off (None when it is on)."""
        threadpools()  # pay the inspection at load time, not on the first request
        try:
            self._plan: _Plan | None = _compile(pipeline, specs)
        except Unsupported as exc:
            self._plan, self.reason = None, str(exc)

    @property
    def batch_invariant(self) -> bool:
        """True when scoring a record with others gives exactly its answer scored alone."""
        estimator = self.pipeline.steps[-1][1]
        return any(
            getattr(sys.modules.get(module), name, None) is type(estimator)
            for module, name in ROW_INDEPENDENT
        )

    @property
    def fast(self) -> bool:
        """True when scoring skips pandas."""
        return self._plan is not None

    def predict_proba(self, columns: Columns, n: int) -> FloatArray:
        """P(churn) of ``n`` records given as columns (the pipeline's ``predict_proba[:, 1]``).

        Raises:
            ValueError: The model refuses the values (for example an unknown category for an
                encoder that errors on them, or an infinite derived feature).
        """
        if self._plan is None:
            return self.predict_proba_frame(records_frame(columns, self._specs))
        with single_openmp_thread():
            return self._plan.run(columns, n)

    def encoded(self, columns: Columns, n: int) -> tuple[np.ndarray, Mapping[str, Values]]:
        """The final estimator's input for ``n`` records (what ``predict_proba`` feeds it), and
        every input and derived column's values by name (for explanations).

        Raises:
            ValueError: The model refuses the values, as in :meth:`predict_proba`.
        """
        if self._plan is not None:
            return self._plan.encode(columns, n)
        frame = records_frame(columns, self._specs)
        first = self.pipeline.steps[0][1]
        derived = first.transform(frame) if isinstance(first, DerivedFeatures) else frame
        values = {str(name): derived[name].tolist() for name in derived.columns}
        return np.asarray(self.pipeline[:-1].transform(frame)), values

    def predict_encoded(self, encoded: np.ndarray) -> FloatArray:
        """P(churn) of rows given as :meth:`encoded` returns them: the final estimator's
        ``predict_proba`` on them, which is what :meth:`predict_proba` computes."""
        with single_openmp_thread():
            proba = self.pipeline.steps[-1][1].predict_proba(encoded)
        return np.asarray(proba[:, 1], dtype=np.float64)

    def predict_proba_frame(self, frame: pd.DataFrame) -> FloatArray:
        """The pipeline on a DataFrame: the reference the fast path must equal."""
        with single_openmp_thread():
            return np.asarray(self.pipeline.predict_proba(frame)[:, 1], dtype=np.float64)
